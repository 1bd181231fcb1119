// Templates across agents (docs/workload.md, "Data sets"): which rows of each
// data set an agent gets, and which {{seq}} numbers it may use.
//
// cycle and unique: the rows are split into contiguous, disjoint slices in
// proportion to the agents' threads (as the load is), which together cover
// every row; an agent whose share rounds to no row gets, in cycle mode, one
// row (agent i: row i mod rows), in unique mode none. random: every agent gets
// every row. {{seq}}: agent i of n in phase p uses p * 2^40 + i + k * n
// (k = 0, 1, ...), its threads interleave further (thread t of T: k = t + m T),
// so no number repeats over agents, threads and phases.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/workload.h"

namespace horde {

// The first {{seq}} of phase p is p << kSeqPhaseShift.
inline constexpr int kSeqPhaseShift = 40;

// Rows [first, second) of `rows` for each agent (cycle and unique), in the
// order of `agent_threads`.
std::vector<std::pair<size_t, size_t>> row_slices(size_t rows,
                                                  const std::vector<uint32_t>& agent_threads);

// Fills data, seq_first and seq_stride of each slice (one per agent, in the
// order of `agent_threads`) for phase `phase`.
void plan_data(const std::vector<DataSet>& data, const std::vector<uint32_t>& agent_threads,
               uint32_t phase, std::vector<WorkloadSlice>* slices);

}  // namespace horde
