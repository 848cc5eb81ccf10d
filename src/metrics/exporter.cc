#include "metrics/exporter.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "commands/engine.h"
#include "commands/info.h"

namespace ferrite::metrics {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes metric families: HELP and TYPE once, then samples. Samples that carry an INFO
// field's value name it (FromInfo), and are listed for InfoBackedSamples.
class Writer {
 public:
  explicit Writer(std::vector<InfoBackedSample>* backed = nullptr) : backed_(backed) {}
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename V>
  void Sample(std::string_view name, const Labels& labels, V value) {
    out_.append(name);
    if (!labels.empty()) {
      out_.push_back('{');
      bool first = true;
      for (auto& [k, v] : labels) {
        if (!first) out_.push_back(',');
        first = false;
        out_.append(k);
        out_.append("=\"");
        AppendEscaped(v);
        out_.push_back('"');
      }
      out_.push_back('}');
    }
    out_.push_back(' ');
    AppendValue(value);
    out_.push_back('\n');
  }
  // A family with one unlabelled sample.
  template <typename V>
  void One(std::string_view name, std::string_view type, std::string_view help, V value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }
  // A sample whose value is INFO's `info_field` times `scale` (0: derived from it, not
  // equal to it).
  template <typename V>
  void FromInfo(std::string_view name, const Labels& labels, V value, std::string_view info_field,
                double scale = 1) {
    Sample(name, labels, value);
    if (!backed_) return;
    InfoBackedSample b{std::string(name), "", std::string(info_field), scale};
    for (auto& [k, v] : labels) {
      b.labels += b.labels.empty() ? "" : ",";
      b.labels += fmt::format("{}=\"{}\"", k, v);
    }
    backed_->push_back(std::move(b));
  }
  // A family with one unlabelled sample carrying an INFO field's value.
  template <typename V>
  void OneInfo(std::string_view name, std::string_view type, std::string_view help, V value,
               std::string_view info_field, double scale = 1) {
    Family(name, type, help);
    FromInfo(name, {}, value, info_field, scale);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::vector<InfoBackedSample>* backed_;
  void AppendEscaped(std::string_view v) {
    for (char c : v) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '"')
        out_ += "\\\"";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_.push_back(c);
    }
  }
  void AppendValue(double v) { out_ += fmt::format("{}", v); }
  void AppendValue(int64_t v) { out_ += fmt::format("{}", v); }
  void AppendValue(uint64_t v) { out_ += fmt::format("{}", v); }
  void AppendValue(int v) { out_ += fmt::format("{}", v); }
  void AppendValue(bool v) { out_.push_back(v ? '1' : '0'); }
  std::string out_;
};

}  // namespace

std::map<std::string, std::string> ParseInfo(std::string_view info) {
  std::map<std::string, std::string> out;
  while (!info.empty()) {
    size_t nl = info.find('\n');
    std::string_view line = info.substr(0, nl);
    info = nl == std::string_view::npos ? std::string_view() : info.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

namespace {

std::string RenderTo(Engine& e, std::vector<InfoBackedSample>* backed) {
  const ServerInfo server = GetServerInfo(e);
  const ClientsInfo clients = GetClientsInfo(e);
  const MemoryInfo memory = GetMemoryInfo(e);
  const StatsInfo stats = GetStatsInfo(e);
  const CpuInfo cpu = GetCpuInfo();
  const PersistenceInfo persistence = GetPersistenceInfo(e);
  const std::optional<tier::TierInfo> tiering = GetTieringInfo(e);
  Writer w(backed);
  int64_t now_ms = e.clock()->NowMs();

  // ---- server
  w.One("ferrite_up", "gauge",
        "1 while the server answers (the endpoint is served by the server itself).", 1);
  w.Family("ferrite_instance_info", "gauge", "Information about the server, in labels.");
  std::string tcp_port = fmt::format("{}", server.tcp_port);
  std::string pid = fmt::format("{}", server.process_id);
  w.Sample("ferrite_instance_info",
           {{"ferrite_version", server.ferrite_version},
            {"redis_version", server.redis_version},
            {"redis_mode", server.redis_mode},
            {"role", "master"},
            {"run_id", server.run_id},
            {"tcp_port", tcp_port},
            {"process_id", pid}},
           1);
  w.One("ferrite_start_time_seconds", "gauge", "Start time of the server, unix seconds.",
        double(server.start_time_ms) / 1000.0);
  w.OneInfo("ferrite_uptime_in_seconds", "gauge", "Seconds since the server started.",
            server.uptime_in_seconds, "uptime_in_seconds");

  // ---- clients and memory
  w.OneInfo("ferrite_connected_clients", "gauge", "Client connections.", clients.connected_clients,
            "connected_clients");
  w.OneInfo("ferrite_blocked_clients", "gauge", "Clients waiting in a blocking command.",
            clients.blocked_clients, "blocked_clients");
  w.OneInfo("ferrite_memory_used_bytes", "gauge", "Heap memory in use (INFO used_memory).",
            memory.report.used, "used_memory");
  w.OneInfo("ferrite_memory_used_rss_bytes", "gauge", "Resident set size of the process.",
            memory.report.rss, "used_memory_rss");
  w.OneInfo("ferrite_memory_used_peak_bytes", "gauge", "Peak of used_memory.", memory.report.peak,
            "used_memory_peak");
  w.OneInfo("ferrite_memory_max_bytes", "gauge", "maxmemory (0 = no limit).", memory.maxmemory,
            "maxmemory");

  // ---- stats
  w.OneInfo("ferrite_connections_received_total", "counter", "Connections accepted.",
            stats.total_connections_received, "total_connections_received");
  w.OneInfo("ferrite_rejected_connections_total", "counter", "Connections refused (maxclients).",
            stats.rejected_connections, "rejected_connections");
  w.OneInfo("ferrite_commands_processed_total", "counter", "Commands executed.",
            stats.total_commands_processed, "total_commands_processed");
  w.OneInfo("ferrite_instantaneous_ops_per_second", "gauge", "Commands per second, recent average.",
            stats.instantaneous_ops_per_sec, "instantaneous_ops_per_sec");
  w.OneInfo("ferrite_net_input_bytes_total", "counter", "Bytes read from clients.",
            stats.total_net_input_bytes, "total_net_input_bytes");
  w.OneInfo("ferrite_net_output_bytes_total", "counter", "Bytes written to clients.",
            stats.total_net_output_bytes, "total_net_output_bytes");
  w.OneInfo("ferrite_expired_keys_total", "counter", "Keys removed because their TTL passed.",
            stats.expired_keys, "expired_keys");
  w.OneInfo("ferrite_evicted_keys_total", "counter", "Keys evicted by the maxmemory policy.",
            stats.evicted_keys, "evicted_keys");
  w.OneInfo("ferrite_keyspace_hits_total", "counter", "Key lookups that found the key.",
            stats.keyspace_hits, "keyspace_hits");
  w.OneInfo("ferrite_keyspace_misses_total", "counter", "Key lookups that did not find the key.",
            stats.keyspace_misses, "keyspace_misses");
  w.OneInfo("ferrite_cpu_sys_seconds_total", "counter", "System CPU time of the process.",
            cpu.used_cpu_sys, "used_cpu_sys");
  w.OneInfo("ferrite_cpu_user_seconds_total", "counter", "User CPU time of the process.",
            cpu.used_cpu_user, "used_cpu_user");

  // ---- per command (INFO commandstats) and per error code (INFO errorstats)
  std::vector<std::pair<std::string_view, const CommandStats*>> cmds;
  for (auto& [spec, st] : e.command_stats()) {
    if (st.calls || st.rejected_calls || st.failed_calls) cmds.emplace_back(spec->name, &st);
  }
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.first < b.first; });
  w.Family("ferrite_commands_total", "counter", "Calls per command.");
  for (auto& [name, st] : cmds) w.Sample("ferrite_commands_total", {{"cmd", name}}, st->calls);
  w.Family("ferrite_commands_duration_seconds_total", "counter",
           "Time spent executing each command.");
  for (auto& [name, st] : cmds) {
    w.Sample("ferrite_commands_duration_seconds_total", {{"cmd", name}}, double(st->usec) / 1e6);
  }
  w.Family("ferrite_commands_rejected_calls_total", "counter",
           "Calls refused before execution (arity, OOM, MISCONF ...).");
  for (auto& [name, st] : cmds)
    w.Sample("ferrite_commands_rejected_calls_total", {{"cmd", name}}, st->rejected_calls);
  w.Family("ferrite_commands_failed_calls_total", "counter",
           "Calls that ran and replied with an error.");
  for (auto& [name, st] : cmds)
    w.Sample("ferrite_commands_failed_calls_total", {{"cmd", name}}, st->failed_calls);
  w.Family("ferrite_errors_total", "counter", "Error replies by error code.");
  for (auto& [code, n] : e.stats().error_counts)
    w.Sample("ferrite_errors_total", {{"err", code}}, n);

  // ---- keyspace: every configured database, so the series never disappear (INFO keyspace
  // lists only databases with keys, so these are not INFO-backed samples)
  const KeyspaceInfo keyspace = GetKeyspaceInfo(e);
  std::vector<std::string> dbs;
  for (const auto& d : keyspace.dbs) dbs.push_back(fmt::format("db{}", d.index));
  w.Family("ferrite_db_keys", "gauge", "Keys per database.");
  for (size_t i = 0; i < dbs.size(); i++)
    w.Sample("ferrite_db_keys", {{"db", dbs[i]}}, keyspace.dbs[i].keys);
  w.Family("ferrite_db_keys_expiring", "gauge", "Keys with a TTL per database.");
  for (size_t i = 0; i < dbs.size(); i++) {
    w.Sample("ferrite_db_keys_expiring", {{"db", dbs[i]}}, keyspace.dbs[i].expires);
  }

  // ---- persistence (INFO persistence)
  const PersistenceInfo& p = persistence;
  const PersistenceInfo::Aof aof = p.aof.value_or(PersistenceInfo::Aof{});
  w.OneInfo("ferrite_loading", "gauge", "1 while the dataset is being loaded at start-up.",
            p.loading, "loading");
  w.OneInfo("ferrite_rdb_changes_since_last_save", "gauge", "Writes since the last checkpoint.",
            p.rdb_changes_since_last_save, "rdb_changes_since_last_save");
  w.OneInfo("ferrite_rdb_bgsave_in_progress", "gauge", "1 while a checkpoint is being written.",
            p.rdb_bgsave_in_progress, "rdb_bgsave_in_progress");
  w.OneInfo("ferrite_rdb_last_save_time", "gauge",
            "Time of the last successful checkpoint, unix seconds.", p.rdb_last_save_time,
            "rdb_last_save_time");
  w.OneInfo("ferrite_rdb_last_bgsave_status", "gauge", "1 if the last checkpoint succeeded.",
            p.rdb_last_bgsave_ok, "rdb_last_bgsave_status");
  w.OneInfo("ferrite_rdb_last_bgsave_duration_seconds", "gauge",
            "Duration of the last checkpoint (-1: none yet).", p.rdb_last_bgsave_time_sec,
            "rdb_last_bgsave_time_sec");
  w.OneInfo("ferrite_rdb_current_bgsave_duration_seconds", "gauge",
            "Duration of the running checkpoint so far (-1: none running).",
            p.rdb_current_bgsave_time_sec, "rdb_current_bgsave_time_sec");
  w.OneInfo("ferrite_rdb_saves_total", "counter", "Checkpoints written since start.", p.rdb_saves,
            "rdb_saves");
  w.OneInfo("ferrite_aof_enabled", "gauge", "1 if the append-only file is on.", p.aof_enabled,
            "aof_enabled");
  w.OneInfo("ferrite_aof_current_size_bytes", "gauge", "Size of the append-only file.",
            aof.current_size, "aof_current_size");
  w.OneInfo("ferrite_aof_base_size_bytes", "gauge",
            "Size of the append-only file after its last rewrite.", aof.base_size, "aof_base_size");
  w.OneInfo("ferrite_aof_buffer_length", "gauge",
            "Bytes waiting to be written to the append-only file.", aof.buffer_length,
            "aof_buffer_length");
  w.OneInfo("ferrite_aof_rewrite_in_progress", "gauge",
            "1 while the append-only file is being rewritten.", p.aof_rewrite_in_progress,
            "aof_rewrite_in_progress");
  w.OneInfo("ferrite_aof_rewrite_scheduled", "gauge",
            "1 if a rewrite waits for a checkpoint to finish.", p.aof_rewrite_scheduled,
            "aof_rewrite_scheduled");
  w.OneInfo("ferrite_aof_last_rewrite_duration_seconds", "gauge",
            "Duration of the last rewrite (-1: none yet).", p.aof_last_rewrite_time_sec,
            "aof_last_rewrite_time_sec");
  w.OneInfo("ferrite_aof_last_bgrewrite_status", "gauge", "1 if the last rewrite succeeded.",
            p.aof_last_bgrewrite_ok, "aof_last_bgrewrite_status");
  w.OneInfo("ferrite_aof_rewrites_total", "counter", "Rewrites since start.", p.aof_rewrites,
            "aof_rewrites");
  w.OneInfo("ferrite_aof_last_write_status", "gauge",
            "1 if the last write to the append-only file succeeded.", p.aof_last_write_ok,
            "aof_last_write_status");
  // Gauges, so the spec's alert `ferrite_aof_write_latency_seconds > 0.1` works as written.
  w.OneInfo("ferrite_aof_write_latency_seconds", "gauge",
            "Worst append-only file write() latency over the last 10-20 seconds.",
            double(aof.write_latency_max_us) / 1e6, "aof_write_latency_max_us", 1e-6);
  w.OneInfo("ferrite_aof_fsync_latency_seconds", "gauge",
            "Worst append-only file fsync latency over the last 10-20 seconds.",
            double(aof.fsync_latency_max_us) / 1e6, "aof_fsync_latency_max_us", 1e-6);

  // ---- tiered storage: INFO tiering (all zero without a tier manager)
  const tier::TierInfo t = tiering.value_or(tier::TierInfo{});
  const tier::TierManager::Usage& u = t.usage;
  const tier::TierStats& tst = t.stats;
  w.OneInfo("ferrite_tiering_enabled", "gauge", "1 when tiered storage is on.", t.enabled,
            "tiering_enabled");
  w.Family("ferrite_tier_bytes", "gauge",
           "Live value bytes per tier (hot: used memory minus the keyspace table).");
  w.FromInfo("ferrite_tier_bytes", {{"tier", "hot"}}, u.hot_bytes, "tier_hot_bytes");
  w.FromInfo("ferrite_tier_bytes", {{"tier", "warm"}}, u.warm_bytes, "tier_warm_bytes");
  w.FromInfo("ferrite_tier_bytes", {{"tier", "cold"}}, u.cold_bytes, "tier_cold_bytes");
  w.FromInfo("ferrite_tier_bytes", {{"tier", "archive"}}, u.archive_bytes, "tier_archive_bytes");
  w.Family("ferrite_tier_keys", "gauge", "Values per tier outside RAM.");
  w.FromInfo("ferrite_tier_keys", {{"tier", "warm"}}, u.warm_values, "tier_warm_keys");
  w.FromInfo("ferrite_tier_keys", {{"tier", "cold"}}, u.cold_values, "tier_cold_keys");
  w.FromInfo("ferrite_tier_keys", {{"tier", "archive"}}, u.archive_values, "tier_archive_keys");
  w.Family("ferrite_tier_segments", "gauge", "Segment files (or archived objects) per tier.");
  w.FromInfo("ferrite_tier_segments", {{"tier", "warm"}}, u.warm_segments, "tier_warm_segments");
  w.FromInfo("ferrite_tier_segments", {{"tier", "cold"}}, u.cold_segments, "tier_cold_segments");
  w.FromInfo("ferrite_tier_segments", {{"tier", "archive"}}, u.archive_segments,
             "tier_archive_segments");
  w.Family("ferrite_tier_reads_total", "counter", "Reads of values outside RAM, per tier.");
  w.FromInfo("ferrite_tier_reads_total", {{"tier", "warm"}}, tst.reads_warm, "tier_reads_warm");
  w.FromInfo("ferrite_tier_reads_total", {{"tier", "cold"}}, tst.reads_cold, "tier_reads_cold");
  w.FromInfo("ferrite_tier_reads_total", {{"tier", "archive"}}, tst.reads_archive,
             "tier_reads_archive");
  w.OneInfo("ferrite_tier_dead_bytes", "gauge",
            "Bytes of dead records in segments (reclaimed by compaction).", u.dead_bytes,
            "tier_dead_bytes");
  w.OneInfo("ferrite_tier_promotions_total", "counter", "Values moved back to RAM.", tst.promotions,
            "tier_promotions");
  w.OneInfo("ferrite_tier_demotions_total", "counter", "Values moved out of RAM.", tst.demotions,
            "tier_demotions");
  w.OneInfo("ferrite_tier_demote_failures_total", "counter",
            "Demotions that could not write (disk full).", tst.demote_failures,
            "tier_demote_failures");
  w.OneInfo("ferrite_tier_recompressions_total", "counter",
            "Warm segments recompressed into cold ones.", tst.recompressions,
            "tier_recompressions");
  w.OneInfo("ferrite_tier_compactions_total", "counter", "Segments compacted.", tst.compactions,
            "tier_compactions");
  w.OneInfo("ferrite_tier_archive_uploads_total", "counter",
            "Segments uploaded to the archive and verified.", tst.archive_uploads,
            "tier_archive_uploads");
  w.OneInfo("ferrite_tier_archive_upload_failures_total", "counter",
            "Failed archive uploads (retried).", tst.archive_upload_failures,
            "tier_archive_upload_failures");
  w.OneInfo("ferrite_tier_archive_fetches_total", "counter", "Values read from the archive.",
            tst.archive_fetches, "tier_archive_fetches");
  w.OneInfo("ferrite_tier_read_errors_total", "counter",
            "Tier reads that failed (damaged record, archive down).", tst.read_errors,
            "tier_read_errors");
  w.Family("ferrite_tier_cold_read_latency_seconds", "summary",
           "Cold and archive reads, queued to value read (helper thread).");
  w.FromInfo("ferrite_tier_cold_read_latency_seconds", {{"quantile", "0.5"}},
             double(t.cold_read_p50_usec) / 1e6, "tier_cold_read_p50_usec", 1e-6);
  w.FromInfo("ferrite_tier_cold_read_latency_seconds", {{"quantile", "0.99"}},
             double(t.cold_read_p99_usec) / 1e6, "tier_cold_read_p99_usec", 1e-6);
  w.FromInfo("ferrite_tier_cold_read_latency_seconds_sum", {},
             double(t.cold_read_avg_usec) * double(tst.cold_read_count) / 1e6,
             "tier_cold_read_avg_usec", 0);
  w.FromInfo("ferrite_tier_cold_read_latency_seconds_count", {}, tst.cold_read_count,
             "tier_cold_read_count");

  // Histograms of every AOF write() and fsync since start (the gauges above are the worst
  // of the last 10-20 s, for the spec's alert).
  {
    DurationHistogram::Snapshot wh, fh;
    if (e.persistence()) e.persistence()->AofHistograms(&wh, &fh);
    for (auto [name, help, snap] :
         {std::tuple{"ferrite_aof_write_duration_seconds", "Duration of the AOF's write() calls.",
                     &wh},
          std::tuple{"ferrite_aof_fsync_duration_seconds",
                     "Duration of the AOF's fsyncs (always: on the loop; everysec: "
                     "on the fsync thread).",
                     &fh}}) {
      w.Family(name, "histogram", help);
      uint64_t cumulative = 0;
      std::string bucket = std::string(name) + "_bucket";
      for (int i = 0; i < DurationHistogram::kBounds; i++) {
        cumulative += snap->buckets[i];
        w.Sample(bucket, {{"le", fmt::format("{}", DurationHistogram::kUpperSeconds[i])}},
                 cumulative);
      }
      w.Sample(bucket, {{"le", "+Inf"}}, snap->count);
      w.Sample(std::string(name) + "_sum", {}, snap->sum_seconds);
      w.Sample(std::string(name) + "_count", {}, snap->count);
    }
  }

  // ---- SLOWLOG and LATENCY
  w.One("ferrite_slowlog_length", "gauge", "Entries in the slow log.", e.slowlog().size());
  w.One("ferrite_slowlog_last_id", "gauge", "Id of the newest slow log entry (-1: none yet).",
        e.slowlog_next_id() - 1);
  w.Family("ferrite_latency_spike_last", "gauge",
           "Time of the latest spike per LATENCY event, unix seconds.");
  for (auto& [name, ts] : e.latency_events()) {
    const auto& last = ts.samples[(ts.idx + LatencySeries::kLen - 1) % LatencySeries::kLen];
    w.Sample("ferrite_latency_spike_last", {{"event_name", name}}, last.time);
  }
  w.Family("ferrite_latency_spike_duration_seconds", "gauge",
           "Latency of the latest spike per LATENCY event.");
  for (auto& [name, ts] : e.latency_events()) {
    const auto& last = ts.samples[(ts.idx + LatencySeries::kLen - 1) % LatencySeries::kLen];
    w.Sample("ferrite_latency_spike_duration_seconds", {{"event_name", name}},
             double(last.latency) / 1000.0);
  }

  w.One("ferrite_metrics_published_timestamp_seconds", "gauge",
        "When this snapshot was rendered, unix seconds (published about once per second).",
        double(now_ms) / 1000.0);
  return w.Take();
}

}  // namespace

std::string Render(Engine& e) { return RenderTo(e, nullptr); }

std::vector<InfoBackedSample> InfoBackedSamples(Engine& e) {
  std::vector<InfoBackedSample> out;
  RenderTo(e, &out);
  return out;
}

// ---------------------------------------------------------------- Snapshot / Publisher

void Snapshot::Publish(std::string text) {
  auto p = std::make_shared<const std::string>(std::move(text));
  std::lock_guard<std::mutex> lock(mu_);
  text_ = std::move(p);
}

std::shared_ptr<const std::string> Snapshot::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return text_;
}

Publisher::Publisher(Engine* engine, Snapshot* snapshot, int64_t interval_us)
    : engine_(engine), snapshot_(snapshot), interval_us_(interval_us) {}

void Publisher::PublishNow() {
  last_us_ = engine_->clock()->MonotonicUs();
  snapshot_->Publish(Render(*engine_));
}

void Publisher::MaybePublish() {
  if (engine_->clock()->MonotonicUs() - last_us_ >= interval_us_) PublishNow();
}

}  // namespace ferrite::metrics
