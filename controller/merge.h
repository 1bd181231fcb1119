// Merging one phase: agents' interval reports are added up per interval index
// (counts added, so percentiles of the sum are exact to the histogram's
// precision). An interval closes when every agent still expected has reported
// it, or when its grace time has passed; reports for a closed interval are
// discarded and counted, never merged into a later one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "common/report.h"
#include "common/result.h"

namespace horde {

struct MergedInterval {
  uint32_t index = 0;
  bool warmup = false;
  uint32_t agents = 0;  // agents whose report is in it
  Counters counters;
  Histogram latency;
};

class PhaseMerger {
 public:
  PhaseMerger(uint32_t intervals, uint32_t warmup_intervals, std::set<uint64_t> agents);

  // Adds one agent's report. Errors (for the caller to drop that agent):
  // index out of the phase, an index that repeats or goes back.
  Result<bool> add(uint64_t agent, const IntervalReport& report);
  // The agent will send nothing more (done or lost): stop waiting for it.
  void agent_finished(uint64_t agent);

  // Closes and returns, in order, the intervals that are complete, plus every
  // interval with index < force_before whatever it holds.
  std::vector<MergedInterval> take_ready(uint32_t force_before);

  uint32_t next_interval() const { return next_; }
  uint32_t intervals() const { return intervals_; }
  bool done() const { return next_ >= intervals_; }
  // Every agent still expected has reported the next interval to close: the
  // run loop then publishes it at once instead of at its next tick.
  bool next_ready() const;
  uint64_t discarded_reports() const { return discarded_; }

  // Sum of the measured (non-warm-up) intervals closed so far.
  const Counters& measured_counters() const { return measured_counters_; }
  const Histogram& measured_latency() const { return measured_latency_; }
  // Per agent: counters of its measured intervals merged so far.
  const std::map<uint64_t, Counters>& per_agent() const { return per_agent_; }

 private:
  struct Open {
    std::set<uint64_t> reported;
    Counters counters;
    Histogram latency;
  };

  const uint32_t intervals_;
  const uint32_t warmup_intervals_;
  std::set<uint64_t> waiting_for_;          // agents still expected to report
  std::map<uint64_t, int64_t> last_index_;  // per agent, last interval reported
  std::map<uint32_t, Open> open_;
  uint32_t next_ = 0;  // lowest interval not closed yet
  uint64_t discarded_ = 0;
  Counters measured_counters_;
  Histogram measured_latency_;
  std::map<uint64_t, Counters> per_agent_;
};

}  // namespace horde
