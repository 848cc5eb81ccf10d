#pragma once
// The tier manager's options from the [storage] configuration (#7).

#include "config/config.h"
#include "tier/tier_manager.h"

namespace ferrite {

// Warm segments go to <dir>/tier, cold ones to cold_tier_path (default <dir>/tier/cold).
tier::TierOptions TierOptionsFromConfig(const Config& c);

}  // namespace ferrite
