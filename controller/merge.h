// Merging one phase: agents' interval reports are added up per interval index
// (counts added, so percentiles of the sum are exact to the histogram's
// precision). An interval closes when every agent still expected has reported
// it, or when its grace time has passed; reports for a closed interval are
// discarded and counted, never merged into a later one. Memory stays bounded
// whatever agents send: only open intervals hold a histogram, a report may run
// at most kMaxAhead intervals ahead of the phase's clock, a closed interval is
// handed on and forgotten, and a report that would wrap a merged count is
// rejected.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
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
  Backends backends;
  ByName names;
};

// A closed interval while it is handed on (close_ready): the histogram is
// valid during the call only.
struct ClosedMerge {
  uint32_t index = 0;
  bool warmup = false;
  uint32_t agents = 0;
  Counters& counters;
  const Histogram& latency;
  const Backends& backends;  // added like the counters: their sums are the counters'
  const ByName& names;       // likewise, per request name (empty with one name)
};

class PhaseMerger {
 public:
  // How far ahead of the phase's clock (or of the lowest open interval, when
  // that is later) a report's interval may be. Open intervals each hold a
  // dense histogram, so this bounds the merger's memory.
  static constexpr uint32_t kMaxAhead = 64;
  // No agent counts more than this in one interval (2^48: 2.8e14 requests or
  // bytes); a report that does is rejected before it can fill the run's counts.
  static constexpr uint64_t kMaxReportCount = uint64_t{1} << 48;

  // `before` is what the run merged before this phase (counters and latency
  // samples): no count of the run may wrap either.
  PhaseMerger(uint32_t intervals, uint32_t warmup_intervals, std::set<uint64_t> agents,
              Counters before = {}, uint64_t samples_before = 0);

  // Adds one agent's report. Errors (for the caller to drop that agent, the
  // report rejected and counted): index out of the phase, an index that
  // repeats or goes back, an index too far ahead, counts that would wrap.
  Result<bool> add(uint64_t agent, const IntervalReport& report);
  // The agent will send nothing more (done or lost): stop waiting for it.
  void agent_finished(uint64_t agent);
  // The interval the phase's clock is in (the run loop sets it as time passes).
  void set_clock(uint32_t interval) { clock_ = std::max(clock_, interval); }

  // Closes, in order, the intervals that are complete, plus every interval
  // with index < force_before whatever it holds, and hands each to `fn`.
  // Once no agent is expected any more, an interval after the last one
  // reported closes only when forced: nobody is left to fill it, so it is not
  // invented. Returns how many closed.
  size_t close_ready(uint32_t force_before, const std::function<void(ClosedMerge&)>& fn);
  // The same as values, where once no agent is expected the rest of the
  // phase closes too (empty).
  std::vector<MergedInterval> take_ready(uint32_t force_before);

  uint32_t next_interval() const { return next_; }
  uint32_t intervals() const { return intervals_; }
  bool done() const { return next_ >= intervals_; }
  // No agent expected any more and every interval reported so far closed:
  // nothing more will come.
  bool settled() const { return waiting_for_.empty() && open_.empty(); }
  // One past the last interval anyone reported (at least the next to close).
  uint32_t reported_end() const { return open_.empty() ? next_ : open_.rbegin()->first + 1; }
  // Every agent still expected has reported the next interval to close: the
  // run loop then publishes it at once instead of at its next tick.
  bool next_ready() const;
  uint64_t discarded_reports() const { return discarded_; }
  uint64_t rejected_reports() const { return rejected_; }

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
    Backends backends;
    ByName names;
  };
  size_t close(uint32_t force_before, bool rest_when_nobody_left,
               const std::function<void(ClosedMerge&)>& fn);

  const uint32_t intervals_;
  const uint32_t warmup_intervals_;
  std::set<uint64_t> waiting_for_;          // agents still expected to report
  std::map<uint64_t, int64_t> last_index_;  // per agent, last interval reported
  std::map<uint32_t, Open> open_;
  uint32_t next_ = 0;   // lowest interval not closed yet
  uint32_t clock_ = 0;  // the interval the phase's clock is in
  uint64_t discarded_ = 0;
  uint64_t rejected_ = 0;
  Counters received_;  // the run's counts before this phase plus every report merged
  uint64_t received_samples_ = 0;
  Counters measured_counters_;
  Histogram measured_latency_;
  std::map<uint64_t, Counters> per_agent_;
};

}  // namespace horde
