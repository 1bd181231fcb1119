// One phase's result built from its merged intervals, in order: each interval
// becomes a row (its length, its time on the phase's axis, its percentiles),
// measured (non-warm-up) intervals add to the phase's counters and histogram,
// and finish() fixes the phase's measured duration. The live run and
// `horde report`'s rebuild from intervals.jsonl both go through it, so a phase
// reads the same whichever of the two wrote summary.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/histogram.h"
#include "controller/results.h"

namespace horde {

// A phase's time layout, from its load spec.
struct PhaseTiming {
  double interval_s = 1;
  double total_s = 0;      // warm-up + measured duration
  uint32_t intervals = 0;  // warm-up included
  uint32_t warmup_intervals = 0;

  // Length of interval i (the last one may be shorter).
  double interval_length_s(uint32_t i) const;
  // End of interval i, seconds since the measured start (negative in warm-up).
  double interval_end_s(uint32_t i) const;
  // The measured time the phase was planned for: the lengths of its measured
  // intervals, added in order (as finish() adds the rows, so the two agree exactly).
  double planned_measured_s() const;
};

class PhaseAccumulator {
 public:
  PhaseAccumulator(uint32_t index, std::string name, std::optional<double> offered_rps);

  // The row of a merged interval of this phase (p50/p99/max from `latency`).
  IntervalRow row(const PhaseTiming& t, uint32_t interval, bool warmup, uint32_t agents,
                  Counters counters, const Histogram& latency, int64_t merged_unix_us) const;
  // Adds one closed interval (in index order), with its per-backend counts.
  void add(IntervalRow row, const Histogram& latency, const Backends& backends = {},
           const ByName& names = {});

  // The phase so far: every interval added, the measured ones summed.
  const PhaseResult& result() const { return result_; }
  PhaseResult& result() { return result_; }

  // The phase's measured duration: as planned when it ran to its end;
  // on an abort only the measured intervals that saw requests count (capped
  // at the plan when there is one). `planned_s` is empty when rebuilding
  // from intervals.jsonl, which does not carry the plan.
  PhaseResult finish(std::optional<double> planned_s, bool aborted);

 private:
  PhaseResult result_;
};

}  // namespace horde
