// What the sweeps concluded, as typed values with their summary.json form:
// `scalability` (an agents or instances sweep: capacity per N with its
// interval, the observed shape, the model chosen and its intervals, the verdict) and `capacity`
// (one entry per capacity search: the bracket it ended in and the capacity found). Made by the
// sweep planner (sweep_plan.h); the end-of-run tables read the JSON form, as `horde report` does.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/observed.h"
#include "controller/scaling_evidence.h"
#include "controller/usl.h"

namespace horde {

struct ScalabilityPoint {
  uint32_t n = 0;
  double capacity_rps = 0;
  double p99_ms = 0;
  int64_t phase = -1;                // the phase that measured it (-1: none passed the SLO)
  double efficiency = 0;             // X(n) / (n X(1)), from the verdict
  Interval capacity_ci;              // 95%, see capacity_interval()
  std::vector<double> interval_rps;  // the measured intervals' throughputs (not in the JSON)
  // Instances sweep: how many backends answered in the measuring phase, how
  // evenly (max share / mean share), and whether that is enough to trust the
  // point (as many backends as instances, imbalance within spread_warning).
  std::optional<uint32_t> backends;
  double imbalance = 0;
  std::vector<double> shares;  // each backend's share, largest first
  bool spread_ok = true;
  // `observe:` sources over the measuring phase; capacity per busy core (the
  // first source with unit cores) when there is one.
  std::vector<ObservedStat> observed;
  std::optional<double> requests_per_core_second;
};

struct Scalability {
  std::string kind;  // "agents" or "instances"
  std::vector<ScalabilityPoint> points;
  std::optional<std::string> shape;   // shape_name(); none with fewer than 2 distinct n
  std::optional<UslFit> usl;          // the chosen model's fit; none when not possible
  std::optional<ModelChoice> choice;  // both fits, AICc, intervals
  double min_efficiency = 0;
  std::string verdict;
  bool passed = false;
  // Instances sweep with an observe: source in cores: what the CPU says limits it
  // (cpu_evidence.h, CpuFinding::to_json()); null otherwise.
  nlohmann::json cpu;

  nlohmann::json to_json() const;
};

struct CapacityResult {
  std::optional<uint32_t> instances;  // instances sweep: the target's instance count
  uint32_t agents = 0;
  uint32_t steps = 0;
  std::optional<double> highest_good_rate;  // highest offered rate within the SLO
  std::optional<double> lowest_bad_rate;    // lowest offered rate beyond it
  double capacity_rps = 0;                  // achieved at highest_good_rate; 0 without one
  std::optional<double> p99_ms;
  std::optional<int64_t> phase;  // the phase that measured the capacity
  // The search ended because a step got no response at all (every request an
  // error): the target is down, its capacity is unknown, not 0.
  std::optional<double> unanswered_rate;

  nlohmann::json to_json() const;
};

nlohmann::json to_json(const std::vector<CapacityResult>& searches);

}  // namespace horde
