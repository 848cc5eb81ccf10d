#include "replication/replication.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/strutil.h"
#include "config/redis_config.h"
#include "io/file_system.h"
#include "persistence/apply_record.h"
#include "persistence/checkpoint/checkpoint_format.h"
#include "persistence/rdb/redis_rdb.h"
#include "persistence/snapshot.h"
#include "tier/tier_manager.h"
#include "types/serialize.h"

namespace ferrite::repl {

namespace {

constexpr size_t kOutputRoom = 4 << 20;  // an image slice is taken while output < this
constexpr size_t kBulkChunk = 1 << 20;

// Space-separated words ("host port", a +FULLRESYNC line).
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') j++;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string RandomMark() {
  static const char kHex[] = "0123456789abcdef";
  std::string s(40, '0');
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  unsigned char b[40] = {};
  if (fd >= 0) {
    ssize_t n = read(fd, b, sizeof(b));
    (void)n;
    close(fd);
  }
  for (int i = 0; i < 40; i++) s[size_t(i)] = kHex[b[i] & 15];
  return s;
}

void AppendCommand(std::string* out, ArgList argv) {
  out->append(fmt::format("*{}\r\n", argv.size()));
  for (auto a : argv) {
    out->append(fmt::format("${}\r\n", a.size()));
    out->append(a);
    out->append("\r\n");
  }
}

void AppendCommand(std::string* out, const std::vector<std::string>& argv) {
  std::vector<std::string_view> v(argv.begin(), argv.end());
  AppendCommand(out, ArgList(v));
}

// "ip:port" or "[v6]:port" -> ip.
std::string HostOf(const std::string& addr) {
  size_t colon = addr.rfind(':');
  std::string ip = colon == std::string::npos ? addr : addr.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return ip;
}

// The RDB writer's output: appended to the replicas' outputs (diskless sync).
class FnFile : public WritableFile {
 public:
  explicit FnFile(std::function<void(std::string_view)> fn) : fn_(std::move(fn)) {}
  Status Append(std::string_view data) override {
    size_ += data.size();
    fn_(data);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status Sync() override { return Status::Ok(); }
  Status SyncData() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return size_; }
  Status Truncate(uint64_t) override { return Status::NotSupported("a socket"); }
  const std::string& path() const override { return path_; }

 private:
  std::function<void(std::string_view)> fn_;
  uint64_t size_ = 0;
  std::string path_ = "<replica socket>";
};

}  // namespace

int64_t RedisNumberParam(Engine& e, const char* name, int64_t dflt) {
  const RedisParam* p = FindRedisParam(name);
  if (!p) return dflt;
  int64_t v;
  return ParseInt64(GetRedisParam(*p, e.config()), &v) ? v : dflt;
}

std::string RedisStringParam(Engine& e, const char* name) {
  const RedisParam* p = FindRedisParam(name);
  return p ? GetRedisParam(*p, e.config()) : std::string();
}

bool RedisYesParam(Engine& e, const char* name) {
  const RedisParam* p = FindRedisParam(name);
  return p && GetRedisParam(*p, e.config()) == "yes";
}

// One image being taken for the replicas attached to it.
struct ReplicationManager::SyncJob {
  bool to_socket = true;
  std::string mark;
  std::string path;  // disk-based: the temp RDB file
  std::vector<Replica*> replicas;
  std::unique_ptr<Snapshot> snap;
  std::unique_ptr<rdb::RedisRdbWriter> writer;
  Status error = Status::Ok();
  int64_t freeze_ms = 0;
  int64_t key_delay_us = 0;  // rdb-key-save-delay
  int64_t last_step_us = 0;
  double key_credit = 0;
  // Tiered storage: no segment is deleted while the image reads values from them.
  tier::TierManager* tier = nullptr;
  ~SyncJob() {
    if (tier) tier->EndImage(tier::ImageKind::kCheckpoint, /*ok=*/false, {});
  }
};

ReplicationManager::ReplicationManager(Engine* engine) : engine_(engine) {
  engine_->set_replication(this);
}

ReplicationManager::~ReplicationManager() {
  Shutdown();
  engine_->set_replication_sink(nullptr);
  engine_->set_replication(nullptr);
}

void ReplicationManager::Start() {
  if (engine_->loading()) {  // the data must be in (and its position restored) first
    start_pending_ = true;
    return;
  }
  start_pending_ = false;
  const std::string& of = engine_->config().replication.replicaof;
  auto w = Words(of);
  if (w.size() == 2) {
    int64_t port;
    if (ParseInt64(w[1], &port) && port >= 0 && port <= 65535) SetMaster(w[0], int(port));
  }
}

void ReplicationManager::FillPosition(ckpt::Header* h) const {
  if (!backlog_) return;
  h->repl_id = engine_->replication_id();
  if (!master_host_.empty()) {
    if (master_replid_.empty()) {  // never synchronised: nothing to continue
      h->repl_id.clear();
      return;
    }
    h->repl_offset = master_ && master_->in_multi ? applied_off_ : master_repl_offset();
    h->repl_db = uint32_t(master_ ? master_->db : cached_db_);
  } else {
    h->repl_offset = master_repl_offset();
    h->repl_db = uint32_t(std::max(selected_db_, 0));
  }
}

void ReplicationManager::RestorePosition(const ckpt::Header& h) {
  if (h.repl_id.size() != 40 || h.repl_db >= uint32_t(engine_->db_count())) return;
  bool replica = Words(engine_->config().replication.replicaof).size() == 2;
  engine_->repl_offset = h.repl_offset;
  if (replica) {
    // Our history is the master's up to there: PSYNC asks for what follows. The backlog
    // is made without turning on the propagation sink (a replica's stream is its master's).
    engine_->set_replication_id(h.repl_id);
    backlog_ = std::make_unique<Backlog>(
        size_t(std::max<int64_t>(engine_->config().replication.repl_backlog_size, 1)),
        h.repl_offset);
    restored_db_ = int(h.repl_db);
    spdlog::info("Replication position restored from the checkpoint: {}:{} (db {})", h.repl_id,
                 h.repl_offset, h.repl_db);
  } else {
    // A new history (our ID is new) that continues the saved one: replicas at exactly the
    // saved offset continue (+CONTINUE <new id>); deletions of keys that expired while we
    // were down go into the backlog first, as Redis feeds them.
    replid2_ = h.repl_id;
    second_offset_ = int64_t(h.repl_offset) + 1;
    backlog_.reset();
    CreateBacklog();
    no_replicas_since_s_ = engine_->clock()->NowMs() / 1000;
    spdlog::info(
        "Replication position restored from the checkpoint: previous ID {} valid up to offset "
        "{}; new ID {}",
        replid2_, second_offset_, engine_->replication_id());
  }
}

void ReplicationManager::Shutdown() {
  if (job_) {
    if (job_->snap) job_->snap->Stop();
    if (!job_->path.empty()) unlink(job_->path.c_str());
    job_.reset();
  }
  for (auto& r : replicas_) {
    if (r->bulk_fd >= 0) close(r->bulk_fd);
    r->bulk_fd = -1;
  }
  if (fd_ >= 0) {
    if (unwatch_fd) unwatch_fd(fd_);
    close(fd_);
    fd_ = -1;
  }
  if (tmp_fd_ >= 0) {
    close(tmp_fd_);
    tmp_fd_ = -1;
    unlink(tmp_path_.c_str());
  }
}

// ------------------------------------------------------------------ the stream

void ReplicationManager::UpdateSink() {
  bool on = backlog_ != nullptr && master_host_.empty();
  if (on != sink_on_) {
    engine_->set_replication_sink(on ? this : nullptr);
    sink_on_ = on;
  }
}

void ReplicationManager::CreateBacklog() {
  backlog_ = std::make_unique<Backlog>(size_t(engine_->config().replication.repl_backlog_size),
                                       engine_->repl_offset);
  if (replicas_.empty()) no_replicas_since_s_ = engine_->clock()->NowMs() / 1000;
  UpdateSink();
}

void ReplicationManager::Propagate(int db, const std::vector<std::string>& argv) {
  std::vector<std::string_view> v(argv.begin(), argv.end());
  PropagateArgs(db, ArgList(v));
}

void ReplicationManager::PropagateArgs(int db, ArgList argv) {
  if (!backlog_ || !master_host_.empty()) return;
  std::string buf;
  if (db != selected_db_) {
    std::string n = std::to_string(db);
    buf = fmt::format("*2\r\n$6\r\nSELECT\r\n${}\r\n{}\r\n", n.size(), n);
    selected_db_ = db;
  }
  AppendCommand(&buf, argv);
  FeedStream(buf);
}

void ReplicationManager::FeedStream(std::string_view data) {
  backlog_->Feed(data);
  engine_->repl_offset = backlog_->master_repl_offset();
  for (auto& r : replicas_) {
    switch (r->state) {
      case RState::kWaitBgsaveStart:
        break;  // its image will be taken later, at a later offset
      case RState::kWaitBgsaveEnd:
      case RState::kSendBulk:
        r->held.append(data);
        break;
      case RState::kOnline:
        if (r->start_on_ack)
          r->held.append(data);
        else
          AppendOut(*r, data);
        break;
    }
  }
}

void ReplicationManager::AppendOut(Replica& r, std::string_view data) {
  engine_->OutputOf(*r.s)->append(data);
  r.dirty = true;
}

size_t ReplicationManager::PendingOut(Replica& r) {
  if (engine_->refresh_conn_info) engine_->refresh_conn_info(*r.s);
  return r.s->conn.obl;
}

ReplicationManager::Replica* ReplicationManager::FindReplica(const Session& s) {
  for (auto& r : replicas_) {
    if (r->s == &s) return r.get();
  }
  return nullptr;
}

void ReplicationManager::DropReplica(Replica& r, const char* why) {
  spdlog::warn("Disconnecting replica {}: {}", r.s->conn.addr, why);
  r.s->kill_now = true;
  engine_->pending_kills = true;
}

void ReplicationManager::DisconnectReplicas() {
  for (auto& r : replicas_) {
    r->s->kill_now = true;
    engine_->pending_kills = true;
  }
}

void ReplicationManager::SessionClosed(Session& s) {
  peers_.erase(s.id);
  std::erase_if(waiters_, [&](const Waiter& w) { return w.sid == s.id; });
  if (&s == master_) {
    cached_db_ = s.db;
    master_ = nullptr;
    if (!master_host_.empty()) {
      spdlog::warn("Connection with master lost.");
      link_ = Link::kConnect;
      down_since_s_ = engine_->clock()->NowMs() / 1000;
      next_connect_ms_ = 0;
    }
    return;
  }
  for (size_t i = 0; i < replicas_.size(); i++) {
    Replica* r = replicas_[i].get();
    if (r->s != &s) continue;
    spdlog::info("Connection with replica {} lost.", s.conn.addr);
    if (job_) std::erase(job_->replicas, r);
    if (r->bulk_fd >= 0) close(r->bulk_fd);
    replicas_.erase(replicas_.begin() + long(i));
    if (replicas_.empty()) no_replicas_since_s_ = engine_->clock()->NowMs() / 1000;
    break;
  }
  if (job_ && job_->replicas.empty()) FailJob("no replica is waiting for it any more");
}

std::string_view ReplicationManager::WriteRefusal(const Session& s) {
  (void)s;
  if (!master_host_.empty()) {
    if (engine_->config().replication.replica_read_only)
      return "READONLY You can't write against a read only replica.";
    return {};
  }
  if (min_to_write_ > 0 && min_max_lag_ > 0 && good_ < size_t(min_to_write_))
    return "NOREPLICAS Not enough good replicas to write.";
  return {};
}

void ReplicationManager::RefreshGoodReplicas() {
  // Every loop iteration: the parameters' table entries are looked up once.
  static const RedisParam* const kMin = FindRedisParam("min-replicas-to-write");
  static const RedisParam* const kLag = FindRedisParam("min-replicas-max-lag");
  int64_t v;
  min_to_write_ = kMin && ParseInt64(GetRedisParam(*kMin, engine_->config()), &v) ? v : 0;
  if (min_to_write_ <= 0) return;
  min_max_lag_ = kLag && ParseInt64(GetRedisParam(*kLag, engine_->config()), &v) ? v : 10;
  int64_t now_s = engine_->clock()->NowMs() / 1000;
  good_ = 0;
  for (auto& r : replicas_) {
    good_ +=
        r->state == RState::kOnline && !r->s->kill_now && now_s - r->ack_time_s <= min_max_lag_;
  }
}

// ------------------------------------------------------------------ full sync

void ReplicationManager::MaybeStartJob() {
  if (job_) return;
  Replica* first = nullptr;
  for (auto& r : replicas_) {
    if (r->state == RState::kWaitBgsaveStart && !r->s->kill_now) {
      first = r.get();
      break;
    }
  }
  if (!first) return;
  if (persistence_busy && persistence_busy()) return;  // one freeze at a time
  if (engine_->in_atomic_unit() || engine_->script_running()) return;
  int64_t now = engine_->clock()->NowMs();
  bool diskless = RedisYesParam(*engine_, "repl-diskless-sync");
  bool to_socket = diskless && first->eof;
  if (to_socket) {
    // repl-diskless-sync-delay: wait for more replicas to share the image (Redis's rule),
    // unless repl-diskless-sync-max-replicas of them are already waiting.
    int64_t delay = RedisNumberParam(*engine_, "repl-diskless-sync-delay", 5);
    int64_t max = RedisNumberParam(*engine_, "repl-diskless-sync-max-replicas", 0);
    size_t waiting = 0;
    for (auto& r : replicas_) waiting += r->state == RState::kWaitBgsaveStart;
    bool enough = max > 0 && waiting >= size_t(max);
    if (!enough && now - first->wait_since_ms < delay * 1000) return;
  }
  auto job = std::make_unique<SyncJob>();
  job->to_socket = to_socket;
  job->freeze_ms = now;
  job->key_delay_us = RedisNumberParam(*engine_, "rdb-key-save-delay", 0);
  job->last_step_us = engine_->clock()->MonotonicUs();
  for (auto& r : replicas_) {
    if (r->state == RState::kWaitBgsaveStart && !r->s->kill_now &&
        (r->eof && diskless) == to_socket)
      job->replicas.push_back(r.get());
  }
  std::unique_ptr<WritableFile> out;
  if (to_socket) {
    job->mark = RandomMark();
    SyncJob* j = job.get();
    out = std::make_unique<FnFile>([this, j](std::string_view d) {
      for (Replica* r : j->replicas) AppendOut(*r, d);
    });
  } else {
    job->path =
        fmt::format("{}/temp-repl-{}-{}.rdb", engine_->config().server.dir, getpid(), ++job_seq_);
    auto f = FileSystem::Default()->NewWritableFile(job->path, /*append=*/false);
    if (!f.ok()) {
      spdlog::warn("Cannot create the RDB file for replicas: {}", f.status().message());
      for (Replica* r : job->replicas) DropReplica(*r, "cannot create the RDB file");
      return;
    }
    out = std::move(f.value());
  }
  uint64_t offset = master_repl_offset();
  selected_db_ = -1;  // the stream after the image starts with a SELECT
  for (Replica* r : job->replicas) {
    r->state = RState::kWaitBgsaveEnd;
    r->held.clear();
    if (!r->pre_psync)
      AppendOut(*r, fmt::format("+FULLRESYNC {} {}\r\n", engine_->replication_id(), offset));
    if (to_socket) AppendOut(*r, "$EOF:" + job->mark + "\r\n");
  }
  rdb::RdbWriterOptions wo;
  wo.redis_ver = "7.0.15";
  wo.compress = RedisYesParam(*engine_, "rdbcompression");
  job->writer = std::make_unique<rdb::RedisRdbWriter>(std::move(out), wo);
  for (int i = 0; i < engine_->db_count(); i++) {
    Database& d = engine_->db(i);
    if (d.size() > 0) job->writer->HintDbSize(uint32_t(i), d.size(), d.expires());
  }
  Status st = job->writer->Begin();
  if (st.ok() && engine_->scripting()) {
    for (const std::string& code : engine_->scripting()->LibraryCodes()) {
      st = job->writer->Add(
          ckpt::Record{0, ckpt::kFunctionLibrary, 0, rdb::FunctionLibraryName(code), code});
      if (!st.ok()) break;
    }
  }
  SyncJob* j = job.get();
  int64_t freeze_ms = now;
  tier::TierManager* tier = engine_->tier();
  if (tier) {
    tier->BeginImage();
    job->tier = tier;
  }
  job->snap = std::make_unique<Snapshot>(
      engine_, engine_->clock(), [j, freeze_ms, tier](int db, const Entry& e) {
        if (!j->error.ok()) return;
        if (e.expire_ms && e.expire_ms <= freeze_ms) return;
        std::string scratch;
        if (e.value.tiered()) {
          // A warm or cold value is read from its segment for this record only (one value
          // in memory at a time, never the data set); a failed read fails the sync.
          if (!tier) {
            j->error = Status::NotSupported("a tiered value but no tier manager");
            return;
          }
          auto read = tier->ReadForImage(e.value, e.key());
          if (!read.ok()) {
            j->error = read.status();
            return;
          }
          const Value& v = read.value();
          std::string_view bytes;
          if (v.is_string()) {
            bytes = v.GetString(&scratch);
          } else {
            EncodeCollection(v, &scratch);
            bytes = scratch;
          }
          j->error = j->writer->Add(
              ckpt::Record{uint32_t(db), uint8_t(v.type()), e.expire_ms, e.key(), bytes});
          return;
        }
        j->error = j->writer->Add(MakeRecord(db, e, &scratch));
      });
  job_ = std::move(job);
  job_->snap->Start(next_epoch ? next_epoch() : ++job_seq_);
  if (!st.ok()) job_->error = st;
  spdlog::info("Starting BGSAVE for SYNC with target: {} ({} replica(s), offset {})",
               to_socket ? "replicas sockets" : "disk", job_->replicas.size(), offset);
}

void ReplicationManager::StepJob() {
  if (!job_) return;
  if (job_->to_socket) {
    for (Replica* r : job_->replicas) {
      if (PendingOut(*r) >= kOutputRoom) return;  // paced by the slowest replica
    }
  }
  // rdb-key-save-delay (microseconds per key; Redis's tests slow a sync with it): here
  // without sleeping on the loop — a step takes only the keys the time since allows.
  size_t max_keys = SIZE_MAX;
  if (job_->key_delay_us > 0) {
    int64_t now_us = engine_->clock()->MonotonicUs();
    job_->key_credit += double(now_us - job_->last_step_us) / double(job_->key_delay_us);
    job_->last_step_us = now_us;
    if (job_->key_credit < 1) return;
    max_keys = size_t(std::min(job_->key_credit, 1e6));
    job_->key_credit -= double(max_keys);
  }
  bool done = job_->snap->Step(2000, max_keys);
  if (job_->snap->invalidated()) return FailJob("the dataset was flushed during the sync");
  if (!job_->error.ok()) return FailJob(job_->error.message());
  if (done) FinishJob();
}

void ReplicationManager::FailJob(const std::string& why) {
  if (!job_) return;
  spdlog::warn("Full sync for replicas failed: {}", why);
  job_->snap->Stop();
  for (Replica* r : job_->replicas) DropReplica(*r, "its full sync failed");
  if (!job_->path.empty()) unlink(job_->path.c_str());
  job_.reset();
}

void ReplicationManager::FinishJob() {
  job_->snap->Stop();
  Status st = job_->writer->Finish();
  if (!st.ok()) return FailJob(st.message());
  spdlog::info("Background RDB transfer terminated with success ({} keys)", job_->writer->keys());
  if (job_->to_socket) {
    for (Replica* r : job_->replicas) {
      AppendOut(*r, job_->mark);
      if (r->pre_psync) {
        PutOnline(*r);
      } else {
        // Online, but the stream waits for its first ACK (it has loaded the payload).
        r->state = RState::kOnline;
        r->start_on_ack = true;
        r->ack_time_s = engine_->clock()->NowMs() / 1000;
      }
    }
  } else {
    struct stat sb {};
    for (Replica* r : job_->replicas) {
      int fd = open(job_->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) close(fd);
        DropReplica(*r, "cannot open the RDB file");
        continue;
      }
      r->bulk_fd = fd;
      r->bulk_size = uint64_t(sb.st_size);
      r->bulk_sent = 0;
      r->state = RState::kSendBulk;
      AppendOut(*r, fmt::format("${}\r\n", r->bulk_size));
    }
    unlink(job_->path.c_str());  // the open descriptors keep it while it is sent
  }
  job_.reset();
}

void ReplicationManager::StepBulk(Replica& r) {
  if (PendingOut(r) >= kOutputRoom) return;
  std::string* out = engine_->OutputOf(*r.s);
  size_t want = size_t(std::min<uint64_t>(kBulkChunk, r.bulk_size - r.bulk_sent));
  size_t at = out->size();
  out->resize(at + want);
  ssize_t n = pread(r.bulk_fd, out->data() + at, want, off_t(r.bulk_sent));
  if (n <= 0) {
    out->resize(at);
    return DropReplica(r, "cannot read the RDB file");
  }
  out->resize(at + size_t(n));
  r.bulk_sent += uint64_t(n);
  r.dirty = true;
  if (r.bulk_sent >= r.bulk_size) {
    close(r.bulk_fd);
    r.bulk_fd = -1;
    PutOnline(r);
  }
}

void ReplicationManager::PutOnline(Replica& r) {
  r.state = RState::kOnline;
  r.start_on_ack = false;
  r.ack_time_s = engine_->clock()->NowMs() / 1000;
  AppendOut(r, r.held);
  r.held.clear();
  r.held.shrink_to_fit();
  spdlog::info("Synchronization with replica {} succeeded", r.s->conn.addr);
}

bool ReplicationManager::TryPartial(CommandContext& ctx, std::string_view replid, int64_t offset,
                                    PeerConf& pc) {
  const std::string& id = engine_->replication_id();
  if (!strcasecmp(std::string(replid).c_str(), id.c_str())) {
    // ours
  } else if (strcasecmp(std::string(replid).c_str(), replid2_.c_str()) || offset > second_offset_) {
    return false;
  }
  if (!backlog_ || offset < 0 || !backlog_->Has(uint64_t(offset))) return false;
  auto r = std::make_unique<Replica>();
  r->s = &ctx.session;
  r->eof = pc.eof;
  r->psync2 = pc.psync2;
  r->port = pc.port;
  r->ip = pc.ip.empty() ? HostOf(ctx.session.conn.addr) : pc.ip;
  r->state = RState::kOnline;
  r->ack_time_s = engine_->clock()->NowMs() / 1000;
  ctx.session.repl_role = Session::ReplRole::kReplica;
  std::string out = r->psync2 ? "+CONTINUE " + id + "\r\n" : std::string("+CONTINUE\r\n");
  backlog_->CopyFrom(uint64_t(offset), &out);
  ctx.rb.buffer()->append(out);
  spdlog::info(
      "Partial resynchronization request from {} accepted. Sending {} bytes of backlog "
      "starting from offset {}.",
      ctx.session.conn.addr, master_repl_offset() + 1 - uint64_t(offset), offset);
  replicas_.push_back(std::move(r));
  return true;
}

// ------------------------------------------------------------------ WAIT

size_t ReplicationManager::CountAcks(uint64_t offset) const {
  size_t n = 0;
  for (auto& r : replicas_) n += r->state == RState::kOnline && r->ack_off >= offset;
  return n;
}

void ReplicationManager::ServeWaiters(bool timeouts_only) {
  if (waiters_.empty()) return;
  int64_t now = engine_->clock()->NowMs();
  for (size_t i = 0; i < waiters_.size();) {
    Waiter& w = waiters_[i];
    size_t acks = CountAcks(w.offset);
    bool done = (!timeouts_only && acks >= size_t(std::max<int64_t>(w.num, 0))) ||
                (w.deadline_ms && now >= w.deadline_ms);
    if (!done) {
      i++;
      continue;
    }
    if (Session* s = engine_->FindSession(w.sid)) {
      ReplyBuilder rb(engine_->OutputOf(*s));
      rb.set_resp3(s->resp3);
      rb.Integer(int64_t(acks));
      s->blocked = false;
      engine_->Wake(s);
    }
    waiters_.erase(waiters_.begin() + long(i));
  }
}

// ------------------------------------------------------------------ loop hooks

bool ReplicationManager::Busy() const {
  // An RDB file being sent: more can go while the replica's output has room (a full output
  // wakes the loop with EPOLLOUT once it drains).
  for (auto& r : replicas_) {
    if (r->state == RState::kSendBulk && r->s->conn.obl < kOutputRoom) return true;
  }
  if (!job_) return false;
  if (job_->key_delay_us > 0) return false;  // paced by time: the loop's timer steps it
  if (!job_->to_socket) return true;
  for (Replica* r : job_->replicas) {
    if (r->s->conn.obl >= kOutputRoom) return false;
  }
  return true;
}

void ReplicationManager::PrimaryCron() {
  int64_t now_s = engine_->clock()->NowMs() / 1000;
  const auto& rc = engine_->config().replication;
  if (backlog_ && size_t(rc.repl_backlog_size) != backlog_->size())
    backlog_->Resize(size_t(std::max<int64_t>(rc.repl_backlog_size, 1)));
  // PING every repl-ping-replica-period, through the stream (it keeps offsets moving).
  if (!replicas_.empty() && master_host_.empty() && backlog_ &&
      now_s - last_ping_s_ >= rc.repl_ping_replica_period) {
    last_ping_s_ = now_s;
    if (engine_->pause_type() == Engine::PauseType::kNone) FeedStream("*1\r\n$4\r\nPING\r\n");
  }
  // repl-backlog-ttl: a primary without replicas frees its backlog after that many seconds
  // (0: never), and takes a new ID without a previous one — with no backlog its offset no
  // longer follows its writes, so no replica may continue from its history (Redis's rule).
  int64_t ttl = RedisNumberParam(*engine_, "repl-backlog-ttl", 3600);
  if (replicas_.empty() && ttl > 0 && backlog_ && master_host_.empty() &&
      now_s - no_replicas_since_s_ > ttl) {
    engine_->ChangeReplicationId();
    replid2_ = std::string(40, '0');
    second_offset_ = -1;
    backlog_.reset();
    UpdateSink();
    spdlog::info("Replication backlog freed after {} seconds without connected replicas.", ttl);
  }
  // A newline a second to replicas waiting for their image (keeps the link alive).
  if (now_s != last_newline_s_) {
    last_newline_s_ = now_s;
    for (auto& r : replicas_) {
      if (r->state == RState::kWaitBgsaveStart ||
          (r->state == RState::kWaitBgsaveEnd && job_ && !job_->to_socket))
        AppendOut(*r, "\n");
    }
  }
  for (auto& r : replicas_) {
    if (r->state == RState::kOnline && !r->pre_psync && now_s - r->ack_time_s > rc.repl_timeout &&
        !r->s->kill_now)
      DropReplica(*r, "timeout (no REPLCONF ACK)");
    if (r->held.size() > size_t(rc.output_buffer_hard_limit) && rc.output_buffer_hard_limit > 0 &&
        !r->s->kill_now) {
      engine_->stats().client_outbuf_limit_disconnections++;
      DropReplica(*r, "the stream held during its sync passed the replica output limit");
    }
  }
}

bool ReplicationManager::BeforeSleep() {
  if (start_pending_ && !engine_->loading()) Start();
  RefreshGoodReplicas();
  int64_t now = engine_->clock()->NowMs();
  if (now - last_cron_ms_ >= 100) {
    last_cron_ms_ = now;
    PrimaryCron();
    ReplicaCron();
  }
  if (!master_host_.empty() && !engine_->loading()) {
    // A replica never expires keys itself: its primary's DELs do (a key it deleted early
    // could meet a command the primary ran on the still-live key, and the two diverge).
    // Unlike Redis, reads still see such a key until the DEL arrives.
    for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).set_expiry_paused(true);
  }
  MaybeStartJob();
  StepJob();
  for (auto& r : replicas_) {
    if (r->state == RState::kSendBulk && r->bulk_fd >= 0) StepBulk(*r);
  }
  if (get_ack_ && !waiters_.empty() && backlog_ && master_host_.empty()) {
    std::vector<std::string> getack = {"REPLCONF", "GETACK", "*"};
    std::string buf;
    AppendCommand(&buf, getack);
    FeedStream(buf);
  }
  get_ack_ = false;
  ServeWaiters(/*timeouts_only=*/false);
  for (auto& r : replicas_) {
    if (r->dirty) {
      r->dirty = false;
      engine_->Wake(r->s);
    }
  }
  if (master_ && ack_now_) SendAck();
  return true;
}

// ------------------------------------------------------------------ replica side

void ReplicationManager::ShiftReplicationId() {
  replid2_ = engine_->replication_id();
  second_offset_ = int64_t(master_repl_offset()) + 1;
  engine_->ChangeReplicationId();
  spdlog::info(
      "Setting secondary replication ID to {}, valid up to offset: {}. New replication "
      "ID is {}",
      replid2_, second_offset_, engine_->replication_id());
}

void ReplicationManager::SetMaster(const std::string& host, int port) {
  bool was_master = master_host_.empty();
  CancelLink();
  if (master_) {
    master_->kill_now = true;
    engine_->pending_kills = true;
    master_ = nullptr;
  }
  // Blocked WAITs end (Redis disconnects blocked clients: here they get their count).
  for (auto& w : waiters_) w.deadline_ms = 1;
  ServeWaiters(/*timeouts_only=*/true);
  master_host_ = host;
  master_port_ = port;
  engine_->config().replication.replicaof = host + " " + std::to_string(port);
  if (was_master) {
    // PSYNC with our own history: a new master that had been our replica continues it.
    master_replid_ = engine_->replication_id();
    cached_db_ = restored_db_ >= 0 ? restored_db_ : 0;
    restored_db_ = -1;
  }
  DisconnectReplicas();
  UpdateSink();
  link_ = Link::kConnect;
  down_since_s_ = 0;
  next_connect_ms_ = 0;
  if (!engine_->loading()) Connect();  // else the cron connects once the data is in
}

void ReplicationManager::UnsetMaster() {
  if (master_host_.empty()) return;
  CancelLink();
  if (master_) {
    master_->kill_now = true;
    engine_->pending_kills = true;
    master_ = nullptr;
  }
  if (!backlog_) CreateBacklog();
  ShiftReplicationId();
  master_host_.clear();
  master_port_ = 0;
  no_replicas_since_s_ = engine_->clock()->NowMs() / 1000;
  engine_->config().replication.replicaof.clear();
  link_ = Link::kNone;
  for (int i = 0; i < engine_->db_count(); i++) engine_->db(i).set_expiry_paused(false);
  DisconnectReplicas();  // they PSYNC again and learn the new ID (+CONTINUE via replid2)
  selected_db_ = -1;
  UpdateSink();
}

void ReplicationManager::CancelLink() {
  if (fd_ >= 0) {
    if (unwatch_fd) unwatch_fd(fd_);
    close(fd_);
    fd_ = -1;
  }
  if (tmp_fd_ >= 0) {
    close(tmp_fd_);
    tmp_fd_ = -1;
    unlink(tmp_path_.c_str());
  }
  rbuf_.clear();
  if (!master_host_.empty() && link_ != Link::kConnected) {
    link_ = Link::kConnect;
    next_connect_ms_ = engine_->clock()->NowMs() + 1000;
    if (!down_since_s_) down_since_s_ = engine_->clock()->NowMs() / 1000;
  }
}

void ReplicationManager::Connect() {
  spdlog::info("Connecting to MASTER {}:{}", master_host_, master_port_);
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(master_port_);
  if (getaddrinfo(master_host_.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    spdlog::warn("Unable to connect to MASTER: cannot resolve {}", master_host_);
    CancelLink();
    return;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    CancelLink();
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) {
    spdlog::warn("Unable to connect to MASTER: {}", strerror(errno));
    close(fd);
    CancelLink();
    return;
  }
  fd_ = fd;
  link_ = Link::kConnecting;
  link_io_ms_ = engine_->clock()->NowMs();
  watch_fd(fd_, EPOLLOUT | EPOLLIN, [this](uint32_t ev) { OnLinkEvent(ev); });
}

bool ReplicationManager::SendLine(const std::vector<std::string>& argv) {
  std::string buf;
  AppendCommand(&buf, argv);
  // Handshake commands are tiny: a non-blocking send of a fresh socket does not come short.
  ssize_t n = send(fd_, buf.data(), buf.size(), MSG_NOSIGNAL);
  if (n != ssize_t(buf.size())) {
    spdlog::warn("Error writing to MASTER during the handshake");
    CancelLink();
    return false;
  }
  return true;
}

void ReplicationManager::OnLinkEvent(uint32_t events) {
  link_io_ms_ = engine_->clock()->NowMs();
  if (link_ == Link::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      spdlog::warn("Error condition on socket for SYNC: {}", strerror(err ? err : ECONNREFUSED));
      return CancelLink();
    }
    spdlog::info("MASTER <-> REPLICA sync started");
    watch_fd(fd_, EPOLLIN, [this](uint32_t ev) { OnLinkEvent(ev); });
    link_ = Link::kHandshake;
    hs_ = Hs::kPing;
    SendLine({"PING"});
    return;
  }
  if (!ReadLink()) return;
  if (link_ == Link::kHandshake) {
    if (!ProcessHandshake()) return;
  }
  if (link_ == Link::kTransfer) ProcessTransfer();
}

bool ReplicationManager::ReadLink() {
  char buf[64 * 1024];
  for (int i = 0; i < 16; i++) {
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n > 0) {
      rbuf_.append(buf, size_t(n));
      transfer_lastio_s_ = engine_->clock()->NowMs() / 1000;
      if (link_ == Link::kTransfer && rbuf_.size() >= (8 << 20)) break;
      continue;
    }
    if (n == 0) {
      spdlog::warn("Master closed the connection during the sync");
      CancelLink();
      return false;
    }
    if (errno == EAGAIN || errno == EINTR) break;
    spdlog::warn("Error reading from MASTER: {}", strerror(errno));
    CancelLink();
    return false;
  }
  return true;
}

bool ReplicationManager::ProcessHandshake() {
  const auto& rc = engine_->config().replication;
  while (link_ == Link::kHandshake) {
    size_t eol = rbuf_.find('\n');
    if (eol == std::string::npos) return true;
    std::string line = rbuf_.substr(0, eol);
    rbuf_.erase(0, eol + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;  // the master's keepalive newlines
    switch (hs_) {
      case Hs::kPing:
        if (line[0] != '+' && line.rfind("-NOAUTH", 0) != 0 && line.rfind("-NOPERM", 0) != 0 &&
            line.rfind("-ERR operation not permitted", 0) != 0) {
          spdlog::warn("Error reply to PING from master: '{}'", line);
          CancelLink();
          return false;
        }
        spdlog::info("Master replied to PING, replication can continue...");
        if (!rc.masterauth.empty()) {
          hs_ = Hs::kAuth;
          if (!rc.masteruser.empty()) {
            if (!SendLine({"AUTH", rc.masteruser, rc.masterauth})) return false;
          } else if (!SendLine({"AUTH", rc.masterauth})) {
            return false;
          }
          break;
        }
        [[fallthrough]];
      case Hs::kAuth:
        if (hs_ == Hs::kAuth && line[0] == '-') {
          spdlog::warn("Unable to AUTH to MASTER: {}", line);
          CancelLink();
          return false;
        }
        hs_ = Hs::kPort;
        {
          // replica-announce-port / -ip: what the primary shows in INFO's slaveN lines (and
          // Sentinel connects to), for replicas behind NAT or port forwarding.
          int64_t announce = RedisNumberParam(*engine_, "replica-announce-port", 0);
          if (!SendLine({"REPLCONF", "listening-port",
                         std::to_string(announce ? announce : engine_->tcp_port)}))
            return false;
        }
        break;
      case Hs::kPort: {
        if (line[0] == '-')
          spdlog::info("(Non critical) Master does not understand REPLCONF listening-port: {}",
                       line);
        std::string ip = RedisStringParam(*engine_, "replica-announce-ip");
        if (!ip.empty()) {
          hs_ = Hs::kIp;
          if (!SendLine({"REPLCONF", "ip-address", ip})) return false;
          break;
        }
      }
        [[fallthrough]];
      case Hs::kIp:
        if (hs_ == Hs::kIp && line[0] == '-')
          spdlog::info("(Non critical) Master does not understand REPLCONF ip-address: {}", line);
        hs_ = Hs::kCapa;
        if (!SendLine({"REPLCONF", "capa", "eof", "capa", "psync2"})) return false;
        break;
      case Hs::kCapa: {
        if (line[0] == '-')
          spdlog::info("(Non critical) Master does not understand REPLCONF capa: {}", line);
        hs_ = Hs::kPsync;
        std::string id = master_replid_.empty() ? "?" : master_replid_;
        std::string off = master_replid_.empty() ? "-1" : std::to_string(master_repl_offset() + 1);
        spdlog::info("Trying a partial resynchronization (request {}:{}).", id, off);
        if (!SendLine({"PSYNC", id, off})) return false;
        break;
      }
      case Hs::kPsync: {
        if (line.rfind("+FULLRESYNC", 0) == 0) {
          auto w = Words(line);
          uint64_t off = 0;
          int64_t o;
          if (w.size() >= 3 && w[1].size() == 40 && ParseInt64(w[2], &o) && o >= 0)
            off = uint64_t(o);
          else {
            spdlog::warn("Master replied with a malformed FULLRESYNC: '{}'", line);
            CancelLink();
            return false;
          }
          // Ours only once the payload is loaded: a transfer cut short leaves our data and
          // offset as they were, and the next PSYNC must still name the history they are.
          sync_replid_ = w[1];
          master_initial_offset_ = off;
          spdlog::info("Full resync from master: {}:{}", sync_replid_, off);
          hs_ = Hs::kBulkHeader;
          break;
        }
        if (line.rfind("+CONTINUE", 0) == 0) {
          auto w = Words(line);
          std::string newid = w.size() >= 2 ? w[1] : master_replid_;
          spdlog::info("Successful partial resynchronization with master.");
          if (newid != master_replid_) {
            // The master's ID changed (it was promoted): the old one stays valid as replid2.
            replid2_ = master_replid_;
            second_offset_ = int64_t(master_repl_offset()) + 1;
            master_replid_ = newid;
            engine_->set_replication_id(newid);
            DisconnectReplicas();
          }
          engine_->set_replication_id(master_replid_);
          if (!backlog_) CreateBacklog();
          AttachMaster(rbuf_, cached_db_);
          return false;
        }
        if (line.rfind("-NOMASTERLINK", 0) == 0 || line.rfind("-LOADING", 0) == 0) {
          spdlog::info("Master is currently unable to PSYNC but should be in the future: {}", line);
        } else {
          spdlog::warn("Unexpected reply to PSYNC from master: {}", line);
        }
        CancelLink();
        return false;
      }
      case Hs::kBulkHeader: {
        if (line[0] == '-') {
          spdlog::warn("MASTER aborted replication with an error: {}", line);
          CancelLink();
          return false;
        }
        if (line[0] != '$') {
          spdlog::warn("Bad protocol from MASTER, the first byte is not '$': '{}'", line);
          CancelLink();
          return false;
        }
        if (line.rfind("$EOF:", 0) == 0 && line.size() == 5 + 40) {
          usemark_ = true;
          mark_ = line.substr(5);
          transfer_size_ = 0;
        } else {
          usemark_ = false;
          int64_t len;
          if (!ParseInt64(std::string_view(line).substr(1), &len) || len < 0) {
            spdlog::warn("Bad bulk length from MASTER: '{}'", line);
            CancelLink();
            return false;
          }
          transfer_size_ = len;
        }
        transfer_read_ = 0;
        tail_.clear();
        tmp_path_ = fmt::format("{}/temp-{}.{}.rdb", engine_->config().server.dir,
                                engine_->clock()->NowMs() / 1000, getpid());
        tmp_fd_ = open(tmp_path_.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
        if (tmp_fd_ < 0) {
          spdlog::warn("Opening the temp file needed for MASTER <-> REPLICA synchronization: {}",
                       strerror(errno));
          CancelLink();
          return false;
        }
        spdlog::info("MASTER <-> REPLICA sync: receiving {}",
                     usemark_ ? std::string("streamed RDB from master with EOF to disk")
                              : fmt::format("{} bytes from master to disk", transfer_size_));
        link_ = Link::kTransfer;
        break;
      }
    }
  }
  return true;
}

bool ReplicationManager::ProcessTransfer() {
  std::string_view data = rbuf_;
  size_t take = data.size();
  if (!usemark_) take = size_t(std::min<int64_t>(int64_t(take), transfer_size_ - transfer_read_));
  std::string_view chunk = data.substr(0, take);
  size_t written = 0;
  while (written < chunk.size()) {
    ssize_t n = write(tmp_fd_, chunk.data() + written, chunk.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("Write error saving the DB from MASTER: {}", strerror(errno));
      CancelLink();
      return false;
    }
    written += size_t(n);
  }
  transfer_read_ += int64_t(take);
  bool done = false;
  if (usemark_) {
    tail_.append(chunk);
    if (tail_.size() > 40) tail_.erase(0, tail_.size() - 40);
    done = tail_.size() == 40 && tail_ == mark_;
  } else {
    done = transfer_read_ == transfer_size_;
  }
  std::string leftover = rbuf_.substr(take);
  rbuf_.clear();
  if (!done) return true;
  if (usemark_ && ftruncate(tmp_fd_, off_t(transfer_read_ - 40)) != 0) {
    spdlog::warn("Cannot truncate the received RDB: {}", strerror(errno));
    CancelLink();
    return false;
  }
  fsync(tmp_fd_);
  close(tmp_fd_);
  tmp_fd_ = -1;
  spdlog::info("MASTER <-> REPLICA sync: Flushing old data");
  std::string err;
  bool ok = LoadRdb(tmp_path_, &err);
  unlink(tmp_path_.c_str());
  if (!ok) {
    spdlog::warn("Failed trying to load the MASTER synchronization DB from disk: {}", err);
    // The old data set is gone too: no history to continue, the next sync is a full one.
    master_replid_.clear();
    CancelLink();
    return false;
  }
  // The master's history is ours now: its ID, its offset, a fresh backlog; our replicas
  // must sync again.
  master_replid_ = sync_replid_;
  engine_->set_replication_id(master_replid_);
  replid2_ = std::string(40, '0');
  second_offset_ = -1;
  engine_->repl_offset = master_initial_offset_;
  backlog_.reset();
  CreateBacklog();
  DisconnectReplicas();
  // Our AOF holds the data set the sync replaced: a rewrite makes the loaded one its base
  // (Redis restarts its AOF after a sync for the same reason). Until it ends, a restart
  // loads no replication position from it and synchronises in full again.
  if (engine_->persistence() && engine_->config().persistence.aof_enabled) {
    bool scheduled = false;
    if (Status rs = engine_->persistence()->RewriteAof(&scheduled); !rs.ok())
      spdlog::warn("Cannot rewrite the AOF after the sync: {}", rs.message());
  }
  spdlog::info("MASTER <-> REPLICA sync: Finished with success");
  AttachMaster(leftover, 0);
  return false;
}

bool ReplicationManager::LoadRdb(const std::string& path, std::string* err) {
  for (int i = 0; i < engine_->db_count(); i++) {
    engine_->TouchWatchedInDb(i, -1);
    engine_->FlushDb(i, /*lazy=*/false);
  }
  spdlog::info("MASTER <-> REPLICA sync: Loading DB in memory");
  engine_->set_loading(true);
  CollectionLimits limits = LimitsFromConfig(engine_->config());
  int64_t now = engine_->clock()->NowMs();
  uint64_t expired = 0;
  rdb::RdbStats stats;
  Status st = rdb::ReadRedisRdb(
      FileSystem::Default(), path,
      [&](const ckpt::Record& r) { return ApplyRecord(engine_, path, r, limits, now, &expired); },
      &stats);
  engine_->set_loading(false);
  if (!st.ok()) {
    *err = st.message();
    for (int i = 0; i < engine_->db_count(); i++) engine_->FlushDb(i, false);
    return false;
  }
  spdlog::info("Done loading RDB, keys loaded: {}", stats.keys);
  return true;
}

void ReplicationManager::AttachMaster(std::string_view leftover, int db) {
  int fd = fd_;
  unwatch_fd(fd);
  fd_ = -1;
  link_ = Link::kConnected;
  down_since_s_ = 0;
  std::string addr = fmt::format("{}:{}", master_host_, master_port_);
  std::string input(leftover);  // stream bytes that came with the reply or the payload
  rbuf_.clear();
  applied_off_ = master_repl_offset();
  Session* s = adopt(fd, addr, input, [&](Session& ms) {
    ms.repl_role = Session::ReplRole::kMaster;
    ms.replaying = true;  // obeyed: no read-only, OOM or pause gate
    ms.reply_off = true;  // no replies, except the ACKs this layer writes
    ms.authenticated = true;
    ms.db = db;
    master_ = &ms;
  });
  if (s) SendAck();  // at once: a diskless master starts the stream on this first ACK
}

void ReplicationManager::SendAck() {
  ack_now_ = false;
  if (!master_) return;
  std::string buf;
  AppendCommand(&buf,
                std::vector<std::string>{"REPLCONF", "ACK", std::to_string(master_repl_offset())});
  engine_->OutputOf(*master_)->append(buf);
  engine_->Wake(master_);
  last_ack_s_ = engine_->clock()->NowMs() / 1000;
}

void ReplicationManager::MasterApplied(Session& s, std::string_view raw) {
  if (&s != master_ || !backlog_) return;
  FeedStream(raw);
  if (!s.in_multi) applied_off_ = master_repl_offset();
  if (ack_now_) SendAck();
}

void ReplicationManager::ReplicaCron() {
  if (master_host_.empty()) return;
  int64_t now = engine_->clock()->NowMs();
  const auto& rc = engine_->config().replication;
  switch (link_) {
    case Link::kConnect:
      if (now >= next_connect_ms_ && !engine_->loading()) Connect();
      break;
    case Link::kConnecting:
    case Link::kHandshake:
    case Link::kTransfer:
      if (now - link_io_ms_ > rc.repl_timeout * 1000) {
        spdlog::warn("Timeout connecting to / receiving from the MASTER...");
        CancelLink();
      }
      break;
    case Link::kConnected:
      if (master_) {
        if (now - master_->conn.last_interaction_ms > rc.repl_timeout * 1000 &&
            !master_->kill_now) {
          spdlog::warn("MASTER timeout: no data nor PING received...");
          master_->kill_now = true;
          engine_->pending_kills = true;
        } else if (now / 1000 != last_ack_s_) {
          SendAck();  // every second
        }
      }
      break;
    case Link::kNone:
      break;
  }
}

}  // namespace ferrite::repl
