// The state of the phase being run, shared by the two halves of the
// Controller: the run loop (controller.cc) and the handling of agent events
// (agent_events.cc). Private to those two files.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/workload.h"
#include "controller/controller.h"
#include "controller/merge.h"
#include "controller/phase_accumulator.h"
#include "controller/result_sinks.h"

namespace horde {

struct Controller::PhaseState {
  PhaseState(uint32_t i, const std::string& name, std::optional<double> offered_rps)
      : index(i), accumulator(i, name, offered_rps) {}
  uint32_t index = 0;
  std::unique_ptr<PhaseMerger> merger;
  PhaseAccumulator accumulator;
  PhaseTiming timing;
  PhaseView view;  // what the sinks see
  std::chrono::steady_clock::duration interval{}, grace{};
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;       // of the load (warm-up + duration after start)
  std::chrono::steady_clock::time_point hard_end;  // the phase ends here whatever is missing
  const Workload* workload = nullptr;
  std::vector<uint64_t> members;
};

}  // namespace horde
