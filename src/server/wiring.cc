#include "server/wiring.h"

namespace ferrite {

tier::TierOptions TierOptionsFromConfig(const Config& c) {
  tier::TierOptions o;
  const auto& st = c.storage;
  o.enabled = st.enabled;
  o.dir = c.server.dir + "/tier";
  o.cold_dir = st.cold_tier_path.empty() ? c.server.dir + "/tier/cold" : st.cold_tier_path;
  o.hot_size = uint64_t(st.hot_tier_size);
  o.warm_size = uint64_t(st.warm_tier_size);
  o.segment_size = uint64_t(st.segment_size);
  switch (st.cold_tier_compression) {
    case ColdTierCompression::kLz4:
      o.cold_codec = tier::Codec::kLz4;
      break;
    case ColdTierCompression::kZstd:
      o.cold_codec = tier::Codec::kZstd;
      break;
    case ColdTierCompression::kNone:
      o.cold_codec = tier::Codec::kNone;
      break;
  }
  o.min_value_size = size_t(st.min_value_size);
  o.compact_live_ratio = double(st.compaction_threshold) / 100.0;
  o.compact_rate = uint64_t(st.compaction_rate);
  o.promote_lfu = int(st.promote_lfu);
  o.threads = int(st.io_threads);
  const auto& a = st.archive;
  o.archive_enabled = st.enabled && a.enabled;
  o.archive_after_ms = a.archive_after;
  o.archive_prefix = a.prefix;
  o.s3.endpoint = a.endpoint;
  o.s3.region = a.region;
  o.s3.bucket = a.bucket;
  o.s3.access_key_id = a.access_key_id;
  o.s3.secret_access_key = a.secret_access_key;
  o.s3.path_style = a.path_style;
  return o;
}

}  // namespace ferrite
