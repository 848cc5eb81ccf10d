#pragma once
// Replication, Redis 7.0's protocol both ways (replication.c is the reference).
//
// Primary side. The engine fans every write's effect out to the AOF and to this sink once
// a backlog exists (it is created, with a new replication ID, when the first replica
// asks to synchronise, as Redis does). Each effect is encoded as RESP (a SELECT first when
// the database changes), fed to the backlog (master_repl_offset counts its bytes) and to
// every online replica's output. A replica's PSYNC <replid> <offset> continues from the
// backlog (+CONTINUE) when the ID is ours (or our previous one up to second_repl_offset,
// PSYNC2) and the offset is still held; otherwise +FULLRESYNC <replid> <offset> and an RDB
// (version 10) of a fork-less frozen image (persistence/snapshot.h):
//  - capa eof: written straight into the replica's output as `$EOF:<40 bytes>` ... mark,
//    paced (a slice of the image per loop iteration while the output holds < 4 MB); the
//    command stream from the freeze on is held and sent after the replica's first
//    REPLCONF ACK (it detects the end of the payload by the mark, so nothing may follow
//    it until it has loaded), as Redis;
//  - otherwise (SYNC, old replicas): to a temp file in `dir`, then sent as `$<len>`.
// Values in tier segments are read one by one into the image (no segment is deleted while
// it is taken).
// One image at a time (a checkpoint or AOF rewrite waits for it, and it waits for them);
// replicas that arrive while one is taken wait for the next. PING every
// repl-ping-replica-period, REPLCONF GETACK when a WAIT is blocked.
//
// Replica side. REPLICAOF / `replicaof` connects without blocking the loop: PING, AUTH,
// REPLCONF listening-port, REPLCONF capa eof capa psync2, PSYNC (our cached replid and
// offset + 1, or ? -1). A full sync's payload goes to a temp file in `dir` and is loaded
// (the keyspace replaced); then the socket becomes an ordinary connection (the net layer
// adopts it) whose commands run as the master client: no replies, no read-only gate, and
// their bytes feed our own backlog and sub-replicas unchanged, so offsets match along a
// chain and our replicas can PSYNC with us after REPLICAOF NO ONE (replid2).
//
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/engine.h"
#include "replication/backlog.h"

namespace ferrite {
class Snapshot;
class FileSystem;
namespace rdb {
class RedisRdbWriter;
}
namespace ckpt {
struct Header;
}

namespace repl {

// Redis parameters read here that have no typed field (repl-diskless-sync, replica-priority …),
// as CONFIG GET shows them.
int64_t RedisNumberParam(Engine& e, const char* name, int64_t dflt);
bool RedisYesParam(Engine& e, const char* name);
std::string RedisStringParam(Engine& e, const char* name);

class ReplicationManager : public ReplicationHooks {
 public:
  explicit ReplicationManager(Engine* engine);
  ~ReplicationManager() override;
  ReplicationManager(const ReplicationManager&) = delete;
  ReplicationManager& operator=(const ReplicationManager&) = delete;

  // ---- wiring (server/main.cc) ----
  // The net layer's socket services (NetServer::WatchFd, UnwatchFd, AdoptConnection).
  std::function<void(int, uint32_t, std::function<void(uint32_t)>)> watch_fd;
  std::function<void(int)> unwatch_fd;
  std::function<Session*(int, const std::string&, std::string_view,
                         const std::function<void(Session&)>&)>
      adopt;
  // Persistence: a checkpoint or rewrite holds the freeze (a full sync waits); epochs.
  std::function<bool()> persistence_busy;
  std::function<uint64_t()> next_epoch;

  // `replicaof` from the configuration; the link is made once the data is loaded.
  void Start();
  // Persisted position (checkpoint block 0x81, Redis's repl-id / repl-offset aux fields).
  // FillPosition: what an image frozen now holds — the replication ID, the offset of the
  // last stream byte applied (on a replica, never inside a MULTI the master has not yet
  // EXECed), the stream's database; nothing when there is no stream yet (no backlog).
  void FillPosition(ckpt::Header* h) const;
  // After the start-up load, when the data is exactly the image's. A replica (`replicaof`
  // configured) continues as that history (PSYNC <id> <offset+1>, Redis's cached master
  // made from itself); a primary keeps it as its previous ID (replid2, valid up to
  // offset + 1) with a backlog starting there, so its replicas can continue.
  void RestorePosition(const ckpt::Header& h);
  // Loop hooks: paced sync work, ACKs, pings, timeouts, WAIT; schedules replicas' output.
  bool BeforeSleep();
  // True while the loop should not sleep (an image is streaming and its outputs have room).
  bool Busy() const;
  // An image of ours is being taken (the persistence layer must not freeze meanwhile).
  bool FreezeActive() const { return job_ != nullptr; }
  void Shutdown();

  // ---- PropagationSink / ReplicationHooks ----
  void Propagate(int db, const std::vector<std::string>& argv) override;
  void PropagateArgs(int db, ArgList argv) override;
  void SessionClosed(Session& s) override;
  std::string_view WriteRefusal(const Session& s) override;
  void MasterApplied(Session& s, std::string_view raw) override;
  std::string InfoSection() override;
  bool IsReplica() const override { return !master_host_.empty(); }
  bool RefuseStale() const override {
    return !master_host_.empty() && link_ != Link::kConnected &&
           !engine_->config().replication.replica_serve_stale_data;
  }

  // ---- commands (replication_commands.cc) ----
  static void Register(Engine& engine);
  void SyncCommand(CommandContext& ctx);
  void ReplconfCommand(CommandContext& ctx);
  void WaitCommand(CommandContext& ctx);
  void RoleCommand(CommandContext& ctx);
  void ReplicaofCommand(CommandContext& ctx);

  // Tests and INFO.
  bool is_replica() const { return !master_host_.empty(); }
  uint64_t master_repl_offset() const { return backlog_ ? backlog_->master_repl_offset() : 0; }

 private:
  // ---- primary side ----
  enum class RState { kWaitBgsaveStart, kWaitBgsaveEnd, kSendBulk, kOnline };
  struct Replica {
    Session* s = nullptr;
    RState state = RState::kWaitBgsaveStart;
    bool eof = false, psync2 = false, pre_psync = false;
    int port = 0;
    std::string ip;
    uint64_t ack_off = 0;
    int64_t ack_time_s = 0;
    int64_t wait_since_ms = 0;
    bool start_on_ack = false;  // online, command stream held until the first ACK
    std::string held;           // command stream since the freeze, not yet sendable
    bool dirty = false;         // has new output to schedule
    int bulk_fd = -1;           // disk-based sync: the RDB file being sent
    uint64_t bulk_size = 0, bulk_sent = 0;
  };
  struct PeerConf {  // REPLCONF options given before SYNC/PSYNC
    int port = 0;
    bool eof = false, psync2 = false;
    std::string ip;
  };
  struct SyncJob;

  Replica* FindReplica(const Session& s);
  void CreateBacklog();
  void FeedStream(std::string_view data);
  void AppendOut(Replica& r, std::string_view data);
  size_t PendingOut(Replica& r);
  void DropReplica(Replica& r, const char* why);
  void DisconnectReplicas();
  bool TryPartial(CommandContext& ctx, std::string_view replid, int64_t offset, PeerConf& pc);
  void MaybeStartJob();
  void StepJob();
  void FinishJob();
  void FailJob(const std::string& why);
  void StepBulk(Replica& r);
  void PutOnline(Replica& r);
  size_t CountAcks(uint64_t offset) const;
  void ServeWaiters(bool timeouts_only);
  void PrimaryCron();
  void UpdateSink();

  // ---- replica side ----
  enum class Link { kNone, kConnect, kConnecting, kHandshake, kTransfer, kConnected };
  enum class Hs { kPing, kAuth, kPort, kIp, kCapa, kPsync, kBulkHeader };
  void SetMaster(const std::string& host, int port);
  void UnsetMaster();
  void ShiftReplicationId();
  void Connect();
  void CancelLink();  // handshake/transfer aborted (socket closed), retry later
  void OnLinkEvent(uint32_t events);
  bool ReadLink();  // false: the link failed (already cancelled)
  bool ProcessHandshake();
  bool ProcessTransfer();
  bool SendLine(const std::vector<std::string>& argv);
  bool LoadRdb(const std::string& path, std::string* err);
  void AttachMaster(std::string_view leftover, int db);
  void SendAck();
  void ReplicaCron();

  Engine* engine_;
  std::unique_ptr<Backlog> backlog_;
  std::string replid2_ = std::string(40, '0');
  int64_t second_offset_ = -1;
  int selected_db_ = -1;  // the database the stream last SELECTed (-1: SELECT next)
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::unordered_map<uint64_t, PeerConf> peers_;  // by session id
  std::unique_ptr<SyncJob> job_;
  uint64_t job_seq_ = 0;
  int64_t last_ping_s_ = 0;
  int64_t last_cron_ms_ = 0;
  int64_t last_newline_s_ = 0;
  int64_t no_replicas_since_s_ = 0;
  struct Waiter {
    uint64_t sid;
    uint64_t offset;
    int64_t num;
    int64_t deadline_ms;  // 0 = forever
  };
  std::vector<Waiter> waiters_;
  bool get_ack_ = false;
  bool sink_on_ = false;

  std::string master_host_;
  int master_port_ = 0;
  Link link_ = Link::kNone;
  Hs hs_ = Hs::kPing;
  int fd_ = -1;
  std::string rbuf_;
  int64_t link_io_ms_ = 0;  // last byte exchanged on the handshake/transfer link
  int64_t next_connect_ms_ = 0;
  int64_t down_since_s_ = 0;
  Session* master_ = nullptr;
  int cached_db_ = 0;
  std::string master_replid_;  // the history our data and offset belong to (PSYNC asks it)
  std::string sync_replid_;    // +FULLRESYNC's ID, ours once its payload is loaded
  uint64_t master_initial_offset_ = 0;
  bool usemark_ = false;
  std::string mark_;
  std::string tail_;  // last bytes received (EOF mark detection)
  int64_t transfer_size_ = -1;
  int64_t transfer_read_ = 0;
  int64_t transfer_lastio_s_ = 0;
  int tmp_fd_ = -1;
  std::string tmp_path_;
  bool ack_now_ = false;
  int64_t last_ack_s_ = 0;
  // min-replicas-to-write / min-replicas-max-lag, read before each loop iteration's
  // commands (a CONFIG SET applies from the next one); good_: replicas online whose last
  // ACK is at most max-lag seconds old (Redis's repl_good_slaves_count).
  int64_t min_to_write_ = 0, min_max_lag_ = 10;
  size_t good_ = 0;
  void RefreshGoodReplicas();
  bool start_pending_ = false;  // Start() ran while loading: connect once loaded
  uint64_t applied_off_ = 0;    // replica: offset after the last command outside a MULTI
  int restored_db_ = -1;        // the restored stream's database, for the first PSYNC
};

}  // namespace repl
}  // namespace ferrite
