#pragma once
// The Prometheus exporter: renders the engine's state in the text exposition format
// (version 0.0.4), and hands the rendered text from the loop thread to the HTTP thread.
//
// Threads: Render() and Publisher run on the loop thread (they read the engine, which
// only the loop may touch). The HTTP thread only ever reads a Snapshot, so a scrape never
// blocks the loop and never sees half-updated state. Values are at most ~1 s old.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite {
class Engine;
}

namespace ferrite::metrics {

// "key:value" lines of INFO text ("# Section" lines and blank lines skipped). The exporter
// never reads INFO's text; tests use this to hold the two side by side.
std::map<std::string, std::string> ParseInfo(std::string_view info);

// Every metric, named as oliver006/redis_exporter names its equivalent (redis_ -> ferrite_).
// Values come from the typed statistics INFO is rendered from (commands/info.h), so the
// endpoint and INFO never disagree. Loop thread only.
std::string Render(Engine& e);

// A sample of Render's output that carries an INFO field's value: value = field * scale
// (scale 0: derived from the field, e.g. a sum from an average and a count).
struct InfoBackedSample {
  std::string metric;  // "ferrite_tier_bytes"
  std::string labels;  // tier="warm" (empty: none)
  std::string info_field;
  double scale = 1;
};
// Every such sample, in Render's order (tests: each field must exist in INFO, with the
// metric's value).
std::vector<InfoBackedSample> InfoBackedSamples(Engine& e);

// The last rendered text. Publish on the loop thread, Get on any thread.
class Snapshot {
 public:
  void Publish(std::string text);
  // Never null after the first Publish; the text stays valid while the caller holds it.
  std::shared_ptr<const std::string> Get() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> text_;
};

// Renders into a Snapshot at most once per interval. MaybePublish is cheap when not due (one
// monotonic clock read), so it can run in the loop's before-sleep hook.
class Publisher {
 public:
  Publisher(Engine* engine, Snapshot* snapshot, int64_t interval_us = 1'000'000);
  void PublishNow();
  void MaybePublish();

 private:
  Engine* engine_;
  Snapshot* snapshot_;
  int64_t interval_us_;
  int64_t last_us_ = 0;
};

}  // namespace ferrite::metrics
