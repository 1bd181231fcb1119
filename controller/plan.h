// The run plan: how a workload's total load is divided among the agents that
// joined. Connections and rate are split in proportion to each agent's cores
// (largest remainder for connections, so the parts add up to the total exactly).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/workload.h"

namespace horde {

// Splits `total` into parts proportional to `weights` that add up to `total`
// (largest-remainder method). Weights of 0 are treated as 1.
std::vector<uint32_t> split_proportional(uint32_t total, const std::vector<uint32_t>& weights);

// One slice per agent, in the order of `agent_cores`. Closed loop needs at least
// one connection per agent; open loop gives every agent a pool of at least one.
Result<std::vector<WorkloadSlice>> split_load(const Workload& w,
                                              const std::vector<uint32_t>& agent_cores);

// A lost agent's share handed to the survivors (`rebalance: true`). Open loop:
// every survivor's rate is its assignment times `rate_factor` (all phase
// members' cores over the survivors' cores, so the survivors offer the whole
// rate again). Closed loop: each survivor's new concurrency, split over the
// survivors' cores so the parts add up to load.connections again.
struct RebalancePlan {
  double rate_factor = 0;             // open loop; 0 in closed loop
  std::vector<uint32_t> connections;  // closed loop, in the order of survivor_cores
};
Result<RebalancePlan> plan_rebalance(const Workload& w, const std::vector<uint32_t>& member_cores,
                                     const std::vector<uint32_t>& survivor_cores);

// Open loop: the requests the load offers over its measured duration (with
// stages: the integral of the profile, each stage a linear ramp from the one
// before, 0 before the first), and their mean rate; nullopt in closed loop.
std::optional<double> offered_requests(const LoadSpec& load);
std::optional<double> mean_offered_rate(const LoadSpec& load);
// For the log line: "500 rps open loop", "stages 0 -> 1000 -> 1000 rps open loop
// (mean 750 rps, 22500 requests offered)", "32 connections closed loop".
std::string load_profile_text(const LoadSpec& load);

// Number of intervals of a phase (warm-up included), and how many of them are warm-up.
uint32_t interval_count(const LoadSpec& load);
uint32_t warmup_interval_count(const LoadSpec& load);

}  // namespace horde
