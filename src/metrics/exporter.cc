#include "metrics/exporter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

#include "commands/engine.h"
#include "commands/info.h"

namespace ferrite::metrics {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes metric families: HELP and TYPE once, then samples.
class Writer {
 public:
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
  std::string Take() { return std::move(out_); }

 private:
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
  std::string out_;
};

// INFO fields as numbers; absent or non-numeric fields read as `dflt`.
class Fields {
 public:
  explicit Fields(std::map<std::string, std::string> m) : m_(std::move(m)) {}
  double Num(const std::string& k, double dflt = 0) const {
    auto it = m_.find(k);
    if (it == m_.end() || it->second.empty()) return dflt;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    return end && *end == '\0' ? v : dflt;
  }
  // "ok" -> 1, anything else -> 0 (redis_exporter's convention for *_status).
  int Ok(const std::string& k) const {
    auto it = m_.find(k);
    return it == m_.end() || it->second == "ok" ? 1 : 0;
  }
  std::string Str(const std::string& k) const {
    auto it = m_.find(k);
    return it == m_.end() ? std::string() : it->second;
  }

 private:
  std::map<std::string, std::string> m_;
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

std::string Render(Engine& e) {
  Fields f(ParseInfo(
      BuildInfo(e, {"server", "clients", "memory", "persistence", "stats", "cpu", "tiering"})));
  Writer w;
  int64_t now_ms = e.clock()->NowMs();

  // ---- server
  w.One("ferrite_up", "gauge",
        "1 while the server answers (the endpoint is served by the server itself).", 1);
  w.Family("ferrite_instance_info", "gauge", "Information about the server, in labels.");
  std::string tcp_port = fmt::format("{}", e.tcp_port);
  std::string pid = f.Str("process_id");
  std::string redis_version = f.Str("redis_version"), ferrite_version = f.Str("ferrite_version"),
              redis_mode = f.Str("redis_mode");
  w.Sample("ferrite_instance_info",
           {{"ferrite_version", ferrite_version},
            {"redis_version", redis_version},
            {"redis_mode", redis_mode},
            {"role", "master"},
            {"run_id", e.run_id()},
            {"tcp_port", tcp_port},
            {"process_id", pid}},
           1);
  w.One("ferrite_start_time_seconds", "gauge", "Start time of the server, unix seconds.",
        double(e.start_time_ms()) / 1000.0);
  w.One("ferrite_uptime_in_seconds", "gauge", "Seconds since the server started.",
        f.Num("uptime_in_seconds"));

  // ---- clients and memory
  w.One("ferrite_connected_clients", "gauge", "Client connections.", f.Num("connected_clients"));
  w.One("ferrite_blocked_clients", "gauge", "Clients waiting in a blocking command.",
        f.Num("blocked_clients"));
  w.One("ferrite_memory_used_bytes", "gauge", "Heap memory in use (INFO used_memory).",
        f.Num("used_memory"));
  w.One("ferrite_memory_used_rss_bytes", "gauge", "Resident set size of the process.",
        f.Num("used_memory_rss"));
  w.One("ferrite_memory_used_peak_bytes", "gauge", "Peak of used_memory.",
        f.Num("used_memory_peak"));
  w.One("ferrite_memory_max_bytes", "gauge", "maxmemory (0 = no limit).", f.Num("maxmemory"));

  // ---- stats
  w.One("ferrite_connections_received_total", "counter", "Connections accepted.",
        f.Num("total_connections_received"));
  w.One("ferrite_rejected_connections_total", "counter", "Connections refused (maxclients).",
        f.Num("rejected_connections"));
  w.One("ferrite_commands_processed_total", "counter", "Commands executed.",
        f.Num("total_commands_processed"));
  w.One("ferrite_instantaneous_ops_per_second", "gauge", "Commands per second, recent average.",
        f.Num("instantaneous_ops_per_sec"));
  w.One("ferrite_net_input_bytes_total", "counter", "Bytes read from clients.",
        f.Num("total_net_input_bytes"));
  w.One("ferrite_net_output_bytes_total", "counter", "Bytes written to clients.",
        f.Num("total_net_output_bytes"));
  w.One("ferrite_expired_keys_total", "counter", "Keys removed because their TTL passed.",
        f.Num("expired_keys"));
  w.One("ferrite_evicted_keys_total", "counter", "Keys evicted by the maxmemory policy.",
        f.Num("evicted_keys"));
  w.One("ferrite_keyspace_hits_total", "counter", "Key lookups that found the key.",
        f.Num("keyspace_hits"));
  w.One("ferrite_keyspace_misses_total", "counter", "Key lookups that did not find the key.",
        f.Num("keyspace_misses"));
  w.One("ferrite_cpu_sys_seconds_total", "counter", "System CPU time of the process.",
        f.Num("used_cpu_sys"));
  w.One("ferrite_cpu_user_seconds_total", "counter", "User CPU time of the process.",
        f.Num("used_cpu_user"));

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

  // ---- keyspace: every configured database, so the series never disappear
  w.Family("ferrite_db_keys", "gauge", "Keys per database.");
  std::vector<std::string> dbs;
  for (int i = 0; i < e.db_count(); i++) dbs.push_back(fmt::format("db{}", i));
  for (int i = 0; i < e.db_count(); i++)
    w.Sample("ferrite_db_keys", {{"db", dbs[size_t(i)]}}, e.db(i).size());
  w.Family("ferrite_db_keys_expiring", "gauge", "Keys with a TTL per database.");
  for (int i = 0; i < e.db_count(); i++) {
    w.Sample("ferrite_db_keys_expiring", {{"db", dbs[size_t(i)]}}, e.db(i).expires());
  }

  // ---- persistence (INFO persistence)
  w.One("ferrite_loading", "gauge", "1 while the dataset is being loaded at start-up.",
        f.Num("loading"));
  w.One("ferrite_rdb_changes_since_last_save", "gauge", "Writes since the last checkpoint.",
        f.Num("rdb_changes_since_last_save"));
  w.One("ferrite_rdb_bgsave_in_progress", "gauge", "1 while a checkpoint is being written.",
        f.Num("rdb_bgsave_in_progress"));
  w.One("ferrite_rdb_last_save_time", "gauge",
        "Time of the last successful checkpoint, unix seconds.", f.Num("rdb_last_save_time"));
  w.One("ferrite_rdb_last_bgsave_status", "gauge", "1 if the last checkpoint succeeded.",
        f.Ok("rdb_last_bgsave_status"));
  w.One("ferrite_rdb_last_bgsave_duration_seconds", "gauge",
        "Duration of the last checkpoint (-1: none yet).", f.Num("rdb_last_bgsave_time_sec", -1));
  w.One("ferrite_rdb_current_bgsave_duration_seconds", "gauge",
        "Duration of the running checkpoint so far (-1: none running).",
        f.Num("rdb_current_bgsave_time_sec", -1));
  w.One("ferrite_rdb_saves_total", "counter", "Checkpoints written since start.",
        f.Num("rdb_saves"));
  w.One("ferrite_aof_enabled", "gauge", "1 if the append-only file is on.", f.Num("aof_enabled"));
  w.One("ferrite_aof_current_size_bytes", "gauge", "Size of the append-only file.",
        f.Num("aof_current_size"));
  w.One("ferrite_aof_base_size_bytes", "gauge",
        "Size of the append-only file after its last rewrite.", f.Num("aof_base_size"));
  w.One("ferrite_aof_buffer_length", "gauge",
        "Bytes waiting to be written to the append-only file.", f.Num("aof_buffer_length"));
  w.One("ferrite_aof_rewrite_in_progress", "gauge",
        "1 while the append-only file is being rewritten.", f.Num("aof_rewrite_in_progress"));
  w.One("ferrite_aof_rewrite_scheduled", "gauge",
        "1 if a rewrite waits for a checkpoint to finish.", f.Num("aof_rewrite_scheduled"));
  w.One("ferrite_aof_last_rewrite_duration_seconds", "gauge",
        "Duration of the last rewrite (-1: none yet).", f.Num("aof_last_rewrite_time_sec", -1));
  w.One("ferrite_aof_last_bgrewrite_status", "gauge", "1 if the last rewrite succeeded.",
        f.Ok("aof_last_bgrewrite_status"));
  w.One("ferrite_aof_rewrites_total", "counter", "Rewrites since start.", f.Num("aof_rewrites"));
  w.One("ferrite_aof_last_write_status", "gauge",
        "1 if the last write to the append-only file succeeded.", f.Ok("aof_last_write_status"));
  // Gauges, so the spec's alert `ferrite_aof_write_latency_seconds > 0.1` works as written.
  w.One("ferrite_aof_write_latency_seconds", "gauge",
        "Worst append-only file write() latency over the last 10-20 seconds.",
        f.Num("aof_write_latency_max_us") / 1e6);
  w.One("ferrite_aof_fsync_latency_seconds", "gauge",
        "Worst append-only file fsync latency over the last 10-20 seconds.",
        f.Num("aof_fsync_latency_max_us") / 1e6);

  // ---- tiered storage (#7): INFO tiering
  w.One("ferrite_tiering_enabled", "gauge", "1 when tiered storage is on.",
        f.Num("tiering_enabled"));
  w.Family("ferrite_tier_bytes", "gauge",
           "Live value bytes per tier (hot: used memory minus the keyspace table).");
  for (const char* t : {"hot", "warm", "cold", "archive"}) {
    w.Sample("ferrite_tier_bytes", {{"tier", t}}, f.Num(fmt::format("tier_{}_bytes", t)));
  }
  w.Family("ferrite_tier_keys", "gauge", "Values per tier outside RAM.");
  for (const char* t : {"warm", "cold", "archive"}) {
    w.Sample("ferrite_tier_keys", {{"tier", t}}, f.Num(fmt::format("tier_{}_keys", t)));
  }
  w.Family("ferrite_tier_segments", "gauge", "Segment files (or archived objects) per tier.");
  for (const char* t : {"warm", "cold", "archive"}) {
    w.Sample("ferrite_tier_segments", {{"tier", t}}, f.Num(fmt::format("tier_{}_segments", t)));
  }
  w.Family("ferrite_tier_reads_total", "counter", "Reads of values outside RAM, per tier.");
  for (const char* t : {"warm", "cold", "archive"}) {
    w.Sample("ferrite_tier_reads_total", {{"tier", t}}, f.Num(fmt::format("tier_reads_{}", t)));
  }
  w.One("ferrite_tier_dead_bytes", "gauge",
        "Bytes of dead records in segments (reclaimed by compaction).", f.Num("tier_dead_bytes"));
  struct TierCounter {
    const char* name;
    const char* help;
    const char* field;
  };
  static const TierCounter kTierCounters[] = {
      {"ferrite_tier_promotions_total", "Values moved back to RAM.", "tier_promotions"},
      {"ferrite_tier_demotions_total", "Values moved out of RAM.", "tier_demotions"},
      {"ferrite_tier_demote_failures_total", "Demotions that could not write (disk full).",
       "tier_demote_failures"},
      {"ferrite_tier_recompressions_total", "Warm segments recompressed into cold ones.",
       "tier_recompressions"},
      {"ferrite_tier_compactions_total", "Segments compacted.", "tier_compactions"},
      {"ferrite_tier_archive_uploads_total", "Segments uploaded to the archive and verified.",
       "tier_archive_uploads"},
      {"ferrite_tier_archive_upload_failures_total", "Failed archive uploads (retried).",
       "tier_archive_upload_failures"},
      {"ferrite_tier_archive_fetches_total", "Values read from the archive.",
       "tier_archive_fetches"},
      {"ferrite_tier_read_errors_total", "Tier reads that failed (damaged record, archive down).",
       "tier_read_errors"},
  };
  for (const auto& c : kTierCounters) w.One(c.name, "counter", c.help, f.Num(c.field));
  w.Family("ferrite_tier_cold_read_latency_seconds", "summary",
           "Cold and archive reads, queued to value read (helper thread).");
  w.Sample("ferrite_tier_cold_read_latency_seconds", {{"quantile", "0.5"}},
           f.Num("tier_cold_read_p50_usec") / 1e6);
  w.Sample("ferrite_tier_cold_read_latency_seconds", {{"quantile", "0.99"}},
           f.Num("tier_cold_read_p99_usec") / 1e6);
  w.Sample("ferrite_tier_cold_read_latency_seconds_sum", {},
           f.Num("tier_cold_read_avg_usec") * f.Num("tier_cold_read_count") / 1e6);
  w.Sample("ferrite_tier_cold_read_latency_seconds_count", {}, f.Num("tier_cold_read_count"));

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
