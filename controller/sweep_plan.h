// Plans the phases of a run, one at a time, from the results so far: a plain
// run is one phase; `sweep.rates` one phase per rate; `capacity:` a search that
// steps the offered rate up until the SLO breaks and then bisects; `sweep.agents`
// and `sweep.instances` repeat the load (or the search) at each N and turn the
// capacities into scalability points for the USL fit. Deciding the next phase
// is pure logic on values, so it is tested without any network.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/workload.h"
#include "controller/results.h"
#include "controller/sweep_result.h"
#include "controller/verdict.h"

namespace horde {

struct PhaseSpec {
  std::string name;            // "rate 2000", "agents 4", "instances 3 @ 1500 rps"
  Workload workload;           // targets and total load of this phase
  uint32_t agents = 0;         // the first `agents` of the roster take part
  uint32_t instances = 0;      // > 0: the target must be scaled to this first
  bool new_instances = false;  // first phase at this instance count (run scale_command)
};

class SweepPlanner {
 public:
  SweepPlanner(Workload base, uint32_t roster);

  // The phase after `done` (all results so far, in order); nullopt when finished.
  std::optional<PhaseSpec> next(const std::vector<PhaseResult>& done);

  // Agents the plan needs at most.
  static uint32_t agents_needed(const Workload& w, uint32_t default_agents);

  // The scalability analysis (agents / instances sweeps; none otherwise) and
  // each capacity search's outcome (empty without one), and their summary.json form.
  std::optional<Scalability> scalability() const;
  const std::vector<CapacityResult>& capacity() const { return searches_; }
  nlohmann::json scalability_json() const;
  nlohmann::json capacity_json() const;
  // False when the scalability verdict failed (exit code 1).
  bool passed() const;

  const std::vector<ScalabilityPoint>& points() const { return points_; }

 private:
  struct Group {
    uint32_t agents = 0;
    uint32_t instances = 0;
    double rate = 0;  // rates sweep
  };
  PhaseSpec spec_for(const Group& g, std::optional<double> rate) const;
  bool step_ok(const PhaseResult& r) const;
  void finish_group(const std::vector<PhaseResult>& done);

  Workload base_;
  uint32_t roster_;
  std::vector<Group> groups_;
  size_t group_ = 0;
  bool issued_ = false;  // a phase of the current group is out
  bool group_started_ = false;
  // Capacity search state within the current group.
  double rate_ = 0;              // offered rate of the phase that is out
  double good_ = -1, bad_ = -1;  // highest passing / lowest failing rate
  int64_t good_phase_ = -1;
  std::optional<double> unanswered_;  // a step got no response at all: the target is down
  uint32_t steps_ = 0;
  std::vector<ScalabilityPoint> points_;
  std::vector<CapacityResult> searches_;
};

}  // namespace horde
