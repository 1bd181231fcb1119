// Saturation warnings: the load generator must never be the hidden bottleneck.
// From one agent's interval figures this says, once per agent and kind, when
// the agent ran out of CPU, could not keep an open-loop schedule, or found its
// connection pool at the limit. Pure: figures in, warning texts out.
#pragma once

#include <string>
#include <vector>

#include "common/report.h"
#include "common/workload.h"

namespace horde {

// Above this share of the usable cores an agent is called saturated.
inline constexpr double kCpuSaturation = 0.85;

struct SaturationInput {
  std::string agent;
  uint32_t cores = 0;    // the agent's cores
  uint32_t threads = 0;  // its load threads; usable cores = min(cores, threads), at least 1
  double interval_s = 1;
  LoadMode mode = LoadMode::kClosed;
};

// Which kinds were already said for one agent: each is said once.
struct SaturationWarned {
  bool cpu = false;
  bool lag = false;
  bool pool = false;
};

// The warnings interval `r` of this agent gives (in the order cpu, lag, pool),
// and marks them in `warned`.
std::vector<std::string> saturation_warnings(const SaturationInput& in, const IntervalReport& r,
                                             SaturationWarned* warned);

}  // namespace horde
