// The run plan: how a workload's total load is divided among the agents that
// joined. Connections and rate are split in proportion to each agent's cores
// (largest remainder for connections, so the parts add up to the total exactly).
#pragma once

#include <cstdint>
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

// Number of intervals of a phase (warm-up included), and how many of them are warm-up.
uint32_t interval_count(const LoadSpec& load);
uint32_t warmup_interval_count(const LoadSpec& load);

}  // namespace horde
