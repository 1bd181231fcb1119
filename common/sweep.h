// Sweeps: the experiments that answer "do N instances handle N x the traffic?".
// A sweep turns one workload into a series of phases: more agents, higher rates,
// a capacity search, or the target scaled to more instances with a capacity
// search at each. Plain values, read from the workload file's `sweep:` and
// `capacity:` sections (common/workload_yaml.cc) and planned by
// controller/sweep_plan.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/threshold.h"

namespace horde {

// `capacity:`: the highest offered rate the target sustains within the SLO.
// Steps up from start_rate (by `step`, or times `factor`) until a step fails,
// then bisects between the last good and the first bad rate.
struct CapacitySearch {
  std::vector<Threshold> slo;  // e.g. p99 < 100ms, error_rate < 1%
  double start_rate = 100;
  double max_rate = 100'000;
  double step = 0;                        // additive step (requests/s); 0: use factor
  double factor = 2;                      // multiplicative step when step is 0
  std::chrono::milliseconds hold{5'000};  // each step's measured duration
  double precision = 0.05;                // stop bisecting when (bad - good) <= precision x good
  double min_achieved = 0.98;             // achieved / offered below this fails the step
  uint32_t max_steps = 30;                // bound on phases per search
  bool operator==(const CapacitySearch&) const = default;
};

// `sweep.ready`: what must hold after scaling before a step starts.
struct ReadyCheck {
  std::string url;      // must answer 2xx
  std::string command;  // or must exit 0
  std::chrono::milliseconds timeout{60'000};
  bool operator==(const ReadyCheck&) const = default;
};

struct Sweep {
  std::vector<uint32_t> agents;     // same per-agent load, more agents
  std::vector<double> rates;        // offered total rates (open loop)
  std::vector<uint32_t> instances;  // target scaled to k instances
  double min_efficiency = 0.9;
  std::string scale_command;  // "{instances}" is replaced by k
  std::optional<ReadyCheck> ready;
  // Instances sweep: a point where fewer backends answered than instances, or
  // the spread was uneven, fails the sweep (exit 1) unless this is false.
  bool require_even_spread = true;
  // What the observed CPU (an `observe:` source with unit cores) can reach: the
  // verdict names CPU as the limit when the busy cores come within 10% of it.
  std::optional<double> cores_available;
  bool empty() const { return agents.empty() && rates.empty() && instances.empty(); }
  bool operator==(const Sweep&) const = default;
};

// What to do when agents are lost mid-run.
struct FaultPolicy {
  uint32_t tolerate_lost_agents = 0;  // more lost than this: exit code 3
  // A lost agent's share of the load goes to the survivors for the rest of its phase.
  bool rebalance = false;
  bool operator==(const FaultPolicy&) const = default;
};

}  // namespace horde
