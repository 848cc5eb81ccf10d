// The replication commands (Redis 7.0's replies and errors): SYNC, PSYNC, REPLCONF, WAIT,
// ROLE, REPLICAOF / SLAVEOF, and the INFO replication section.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include "base/strutil.h"
#include "commands/errors.h"
#include "replication/replication.h"

namespace ferrite::repl {

namespace {

ReplicationManager* Of(CommandContext& ctx) {
  return static_cast<ReplicationManager*>(ctx.engine.replication());
}

void SyncCmd(CommandContext& ctx) { Of(ctx)->SyncCommand(ctx); }
void ReplconfCmd(CommandContext& ctx) { Of(ctx)->ReplconfCommand(ctx); }
void WaitCmd(CommandContext& ctx) { Of(ctx)->WaitCommand(ctx); }
void RoleCmd(CommandContext& ctx) { Of(ctx)->RoleCommand(ctx); }
void ReplicaofCmd(CommandContext& ctx) { Of(ctx)->ReplicaofCommand(ctx); }

bool Is(std::string_view a, const char* b) { return EqualsIgnoreCase(a, b); }

}  // namespace

void ReplicationManager::Register(Engine& engine) {
  using namespace cmd;
  const char* g = "server";
  // Flags are Redis's (the command table takes them from Redis's command docs).
  engine.AddCommand({"sync", 1, kAdmin | kNoScript | kDenyInMulti, 0, 0, 0, SyncCmd, g,
                     "Internal command used for replication", "1.0.0", "@admin @slow @dangerous"});
  engine.AddCommand({"psync", -3, kAdmin | kNoScript | kDenyInMulti, 0, 0, 0, SyncCmd, g,
                     "Internal command used for replication", "2.8.0", "@admin @slow @dangerous"});
  engine.AddCommand({"replconf", -1, kAdmin | kNoScript | kLoading | kStale, 0, 0, 0, ReplconfCmd,
                     g, "An internal command for configuring the replication stream", "3.0.0",
                     "@admin @slow @dangerous"});
  engine.AddCommand({"wait", 3, kNoScript, 0, 0, 0, WaitCmd, "generic",
                     "Wait for the synchronous replication of all the write commands sent in the "
                     "context of the current connection",
                     "3.0.0", "@slow @connection"});
  engine.AddCommand({"role", 1, kNoScript | kLoading | kStale | kFast, 0, 0, 0, RoleCmd, g,
                     "Return the role of the instance in the context of replication", "2.8.12",
                     "@admin @fast @dangerous"});
  engine.AddCommand({"replicaof", 3, kAdmin | kNoScript | kStale, 0, 0, 0, ReplicaofCmd, g,
                     "Make the server a replica of another instance, or promote it as master",
                     "5.0.0", "@admin @slow @dangerous"});
  engine.AddCommand({"slaveof", 3, kAdmin | kNoScript | kStale, 0, 0, 0, ReplicaofCmd, g,
                     "Make the server a replica of another instance, or promote it as master",
                     "1.0.0", "@admin @slow @dangerous"});
}

void ReplicationManager::SyncCommand(CommandContext& ctx) {
  Session& s = ctx.session;
  if (s.repl_role == Session::ReplRole::kReplica) return;  // already one: ignored
  if (!master_host_.empty() && link_ != Link::kConnected)
    return ctx.rb.Error("NOMASTERLINK Can't SYNC while not connected with my master");
  if (engine_->refresh_conn_info) engine_->refresh_conn_info(s);
  if (s.conn.obl > 0 || ctx.rb.buffer()->size() > s.conn.out_sent)
    return ctx.rb.Error("ERR SYNC and PSYNC are invalid with pending output");
  spdlog::info("Replica {} asks for synchronization", s.conn.addr);
  PeerConf pc = peers_[s.id];
  bool psync = Is(ctx.args[0], "psync");
  if (psync) {
    int64_t offset;
    if (!ParseInt64(ctx.args[2], &offset)) return ctx.rb.Error(err::kNotInt);
    if (TryPartial(ctx, ctx.args[1], offset, pc)) {
      engine_->stats().sync_partial_ok++;
      return;
    }
    if (ctx.args[1] != "?") engine_->stats().sync_partial_err++;
  }
  engine_->stats().sync_full++;
  auto r = std::make_unique<Replica>();
  r->s = &s;
  r->eof = pc.eof;
  r->psync2 = pc.psync2;
  r->port = pc.port;
  r->ip = pc.ip.empty() ? [&] {
    const std::string& a = s.conn.addr;
    size_t colon = a.rfind(':');
    std::string ip = colon == std::string::npos ? a : a.substr(0, colon);
    if (ip.size() >= 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
    return ip;
  }()
                        : pc.ip;
  r->pre_psync = !psync;
  r->state = RState::kWaitBgsaveStart;
  r->wait_since_ms = engine_->clock()->NowMs();
  s.repl_role = Session::ReplRole::kReplica;
  replicas_.push_back(std::move(r));
  if (replicas_.size() == 1 && !backlog_) {
    // A new history: a new ID, no previous one (Redis does the same).
    engine_->ChangeReplicationId();
    replid2_ = std::string(40, '0');
    second_offset_ = -1;
    CreateBacklog();
    spdlog::info("Replication backlog created, my new replication IDs are '{}' and '{}'",
                 engine_->replication_id(), replid2_);
  }
}

void ReplicationManager::ReplconfCommand(CommandContext& ctx) {
  auto& a = ctx.args;
  if (a.size() % 2 == 0) return ctx.rb.Error(err::kSyntax);
  PeerConf& pc = peers_[ctx.session.id];
  for (size_t j = 1; j < a.size(); j += 2) {
    std::string_view opt = a[j], val = a[j + 1];
    if (Is(opt, "listening-port")) {
      int64_t port;
      if (!ParseInt64(val, &port)) return ctx.rb.Error(err::kNotInt);
      pc.port = int(port);
      if (Replica* r = FindReplica(ctx.session)) r->port = int(port);
    } else if (Is(opt, "ip-address")) {
      if (val.size() >= 256) {
        return ctx.rb.Error(fmt::format(
            "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
            val.size()));
      }
      pc.ip = std::string(val);
    } else if (Is(opt, "capa")) {
      if (Is(val, "eof")) pc.eof = true;
      if (Is(val, "psync2")) pc.psync2 = true;
    } else if (Is(opt, "ack")) {
      Replica* r = FindReplica(ctx.session);
      if (!r) return;
      int64_t off;
      if (!ParseInt64(val, &off)) return;
      if (off > 0 && uint64_t(off) > r->ack_off) r->ack_off = uint64_t(off);
      r->ack_time_s = engine_->clock()->NowMs() / 1000;
      if (r->start_on_ack && r->state == RState::kOnline) PutOnline(*r);
      ServeWaiters(false);
      return;  // no reply
    } else if (Is(opt, "getack")) {
      if (!master_host_.empty() && master_ && &ctx.session == master_) ack_now_ = true;
      return;
    } else if (Is(opt, "rdb-only")) {
      int64_t v;
      if (!ParseInt64(val, &v) || v < 0 || v > 1)
        return ctx.rb.Error("ERR value is out of range, must be positive");
    } else {
      return ctx.rb.Error(fmt::format("ERR Unrecognized REPLCONF option: {}", opt));
    }
  }
  ctx.rb.Ok();
}

void ReplicationManager::WaitCommand(CommandContext& ctx) {
  if (!master_host_.empty()) {
    return ctx.rb.Error(
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
        "if a replica is configured to be writable (which is not the default) writes to "
        "replicas are just local and are not propagated.");
  }
  int64_t num, timeout;
  if (!ParseInt64(ctx.args[1], &num)) return ctx.rb.Error(err::kNotInt);
  if (!ParseInt64(ctx.args[2], &timeout))
    return ctx.rb.Error("ERR timeout is not an integer or out of range");
  if (timeout < 0) return ctx.rb.Error("ERR timeout is negative");
  Session& s = ctx.session;
  size_t acks = CountAcks(s.repl_woff);
  if (int64_t(acks) >= num || s.in_exec || engine_->script_running())
    return ctx.rb.Integer(int64_t(acks));
  s.blocked = true;
  waiters_.push_back(
      {s.id, s.repl_woff, num, timeout == 0 ? 0 : engine_->clock()->NowMs() + timeout});
  get_ack_ = true;
}

void ReplicationManager::RoleCommand(CommandContext& ctx) {
  ReplyBuilder& rb = ctx.rb;
  if (master_host_.empty()) {
    rb.ArrayHeader(3);
    rb.Bulk("master");
    rb.Integer(int64_t(master_repl_offset()));
    size_t n = 0;
    for (auto& r : replicas_) n += r->state == RState::kOnline;
    rb.ArrayHeader(n);
    for (auto& r : replicas_) {
      if (r->state != RState::kOnline) continue;
      rb.ArrayHeader(3);
      rb.Bulk(r->ip);
      rb.Bulk(std::to_string(r->port));
      rb.Bulk(std::to_string(r->ack_off));
    }
    return;
  }
  rb.ArrayHeader(5);
  rb.Bulk("slave");
  rb.Bulk(master_host_);
  rb.Integer(master_port_);
  const char* state = "unknown";
  switch (link_) {
    case Link::kNone:
      state = "none";
      break;
    case Link::kConnect:
      state = "connect";
      break;
    case Link::kConnecting:
      state = "connecting";
      break;
    case Link::kHandshake:
      state = "handshake";
      break;
    case Link::kTransfer:
      state = "sync";
      break;
    case Link::kConnected:
      state = "connected";
      break;
  }
  rb.Bulk(state);
  rb.Integer(master_ ? int64_t(master_repl_offset()) : -1);
}

void ReplicationManager::ReplicaofCommand(CommandContext& ctx) {
  auto& a = ctx.args;
  if (Is(a[1], "no") && Is(a[2], "one")) {
    if (!master_host_.empty()) {
      UnsetMaster();
      spdlog::info("MASTER MODE enabled (user request from '{}')", ctx.session.conn.addr);
    }
    return ctx.rb.Ok();
  }
  if (ctx.session.repl_role == Session::ReplRole::kReplica)
    return ctx.rb.Error("ERR Command is not valid when client is a replica.");
  int64_t port;
  if (!ParseInt64(a[2], &port) || port < 0 || port > 65535)
    return ctx.rb.Error("ERR Invalid master port");
  std::string host(a[1]);
  if (!master_host_.empty() && EqualsIgnoreCase(master_host_, host) && master_port_ == port) {
    spdlog::info(
        "REPLICAOF would result into synchronization with the master we are already connected "
        "with. No operation performed.");
    return ctx.rb.SimpleString("OK Already connected to specified master");
  }
  SetMaster(host, int(port));
  spdlog::info("REPLICAOF {}:{} enabled (user request from '{}')", host, port,
               ctx.session.conn.addr);
  ctx.rb.Ok();
}

std::string ReplicationManager::InfoSection() {
  int64_t now_s = engine_->clock()->NowMs() / 1000;
  std::string o = "# Replication\r\n";
  auto line = [&](std::string_view k, const auto& v) { o += fmt::format("{}:{}\r\n", k, v); };
  line("role", master_host_.empty() ? "master" : "slave");
  if (!master_host_.empty()) {
    uint64_t off =
        master_ ? master_repl_offset() : (master_replid_.empty() ? 1 : master_repl_offset());
    uint64_t read_off = off;
    if (master_ && engine_->refresh_conn_info) {
      engine_->refresh_conn_info(*master_);
      read_off = off + master_->conn.qbuf;
    }
    line("master_host", master_host_);
    line("master_port", master_port_);
    line("master_link_status", link_ == Link::kConnected ? "up" : "down");
    line("master_last_io_seconds_ago",
         master_ ? now_s - master_->conn.last_interaction_ms / 1000 : int64_t(-1));
    line("master_sync_in_progress", link_ == Link::kTransfer ? 1 : 0);
    line("slave_read_repl_offset", read_off);
    line("slave_repl_offset", off);
    if (link_ == Link::kTransfer) {
      int64_t size = usemark_ ? -1 : transfer_size_;
      double perc = size > 0 ? double(transfer_read_) / double(size) * 100 : 0;
      line("master_sync_total_bytes", size);
      line("master_sync_read_bytes", transfer_read_);
      line("master_sync_left_bytes", size - transfer_read_);
      line("master_sync_perc", fmt::format("{:.2f}", perc));
      line("master_sync_last_io_seconds_ago", now_s - transfer_lastio_s_);
    }
    if (link_ != Link::kConnected)
      line("master_link_down_since_seconds", down_since_s_ ? now_s - down_since_s_ : int64_t(-1));
    line("slave_priority", RedisNumberParam(*engine_, "replica-priority", 100));
    line("slave_read_only", engine_->config().replication.replica_read_only ? 1 : 0);
    line("replica_announced", RedisYesParam(*engine_, "replica-announced") ? 1 : 0);
  }
  line("connected_slaves", replicas_.size());
  if (min_to_write_ > 0 && min_max_lag_ > 0) line("min_slaves_good_slaves", good_);
  int id = 0;
  for (auto& r : replicas_) {
    const char* state = "";
    switch (r->state) {
      case RState::kWaitBgsaveStart:
        state = "wait_bgsave";
        break;
      case RState::kWaitBgsaveEnd:
        state = "wait_bgsave";
        break;
      case RState::kSendBulk:
        state = "send_bulk";
        break;
      case RState::kOnline:
        state = "online";
        break;
    }
    int64_t lag = r->state == RState::kOnline ? now_s - r->ack_time_s : 0;
    o += fmt::format("slave{}:ip={},port={},state={},offset={},lag={}\r\n", id++, r->ip, r->port,
                     state, r->ack_off, lag);
  }
  line("master_failover_state", "no-failover");
  line("master_replid", engine_->replication_id());
  line("master_replid2", replid2_);
  line("master_repl_offset", master_repl_offset());
  line("second_repl_offset", second_offset_);
  line("repl_backlog_active", backlog_ ? 1 : 0);
  line("repl_backlog_size", engine_->config().replication.repl_backlog_size);
  line("repl_backlog_first_byte_offset", backlog_ ? backlog_->first_byte_offset() : 0);
  line("repl_backlog_histlen", backlog_ ? backlog_->histlen() : 0);
  return o;
}

}  // namespace ferrite::repl
