#pragma once
// The glue from the configuration to the subsystems that do not read the Config themselves.

#include "config/config.h"
#include "tier/tier_manager.h"

namespace ferrite {

// The tier manager's options from [storage]: warm segments go to <dir>/tier, cold ones to
// cold_tier_path (default <dir>/tier/cold).
tier::TierOptions TierOptionsFromConfig(const Config& c);

}  // namespace ferrite
