#include "controller/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace horde {

namespace {

const Histogram& empty_histogram() {
  static const Histogram empty;
  return empty;
}

}  // namespace

PhaseMerger::PhaseMerger(uint32_t intervals, uint32_t warmup_intervals, std::set<uint64_t> agents,
                         Counters before, uint64_t samples_before)
    : intervals_(intervals),
      warmup_intervals_(warmup_intervals),
      waiting_for_(std::move(agents)),
      received_(std::move(before)),
      received_samples_(samples_before) {
  for (uint64_t a : waiting_for_) {
    last_index_[a] = -1;
    per_agent_[a] = Counters{};
  }
}

Result<bool> PhaseMerger::add(uint64_t agent, const IntervalReport& report) {
  auto last = last_index_.find(agent);
  if (last == last_index_.end()) {
    ++rejected_;
    return Error{"report from an agent that is not in this phase"};
  }
  if (report.interval >= intervals_) {
    ++rejected_;
    return Error{
        fmt::format("interval {} is outside the phase (0..{})", report.interval, intervals_ - 1)};
  }
  if (static_cast<int64_t>(report.interval) <= last->second) {
    ++rejected_;
    return Error{fmt::format("interval {} after interval {}: indexes must increase",
                             report.interval, last->second)};
  }
  const uint32_t horizon = std::max(clock_, next_);
  if (report.interval > horizon && report.interval - horizon > kMaxAhead) {
    ++rejected_;
    return Error{fmt::format("interval {} is {} intervals ahead of the phase (at most {})",
                             report.interval, report.interval - horizon, kMaxAhead)};
  }
  last->second = report.interval;
  if (report.interval < next_) {
    ++discarded_;  // its interval closed already: never merge into a later one
    return false;
  }
  if (report.counters.max_count() > kMaxReportCount ||
      report.latency.total_count() > kMaxReportCount) {
    ++rejected_;
    return Error{fmt::format(
        "interval {}: a count over {} in one interval (requests {}, latency samples {}) would "
        "overflow the merged counts; report rejected",
        report.interval, kMaxReportCount, report.counters.requests, report.latency.total_count())};
  }
  if (!received_.can_add(report.counters) ||
      report.latency.total_count() > std::numeric_limits<uint64_t>::max() - received_samples_) {
    ++rejected_;
    return Error{fmt::format(
        "interval {}: its counts would overflow the run's merged counts (requests {}, latency "
        "samples {}); report rejected",
        report.interval, report.counters.requests, report.latency.total_count())};
  }
  received_.add(report.counters);
  received_samples_ += report.latency.total_count();
  Open& open = open_[report.interval];
  open.reported.insert(agent);
  open.counters.add_concurrent(report.counters);  // agents of one interval: peaks add up
  open.latency.add(report.latency);
  open.backends.add(report.backends);
  add_names(open.names, report.names);
  if (report.interval >= warmup_intervals_) per_agent_[agent].add(report.counters);
  return true;
}

bool PhaseMerger::next_ready() const {
  if (next_ >= intervals_) return false;
  const auto it = open_.find(next_);
  // Nobody left: a gap before a reported interval closes, the unreported rest does not.
  if (it == open_.end()) return waiting_for_.empty() && !open_.empty();
  if (it->second.reported.size() < waiting_for_.size()) return false;  // the usual answer: O(1)
  for (uint64_t a : waiting_for_) {
    if (!it->second.reported.count(a)) return false;
  }
  return true;
}

void PhaseMerger::agent_finished(uint64_t agent) { waiting_for_.erase(agent); }

size_t PhaseMerger::close(uint32_t force_before, bool rest_when_nobody_left,
                          const std::function<void(ClosedMerge&)>& fn) {
  size_t closed = 0;
  while (next_ < intervals_) {
    auto it = open_.find(next_);
    bool complete = true;
    if (waiting_for_.empty() && open_.empty() && !rest_when_nobody_left) complete = false;
    for (uint64_t a : waiting_for_) {
      if (it == open_.end() || !it->second.reported.count(a)) {
        complete = false;
        break;
      }
    }
    if (!complete && next_ >= force_before) break;
    const bool warmup = next_ < warmup_intervals_;
    if (it != open_.end()) {
      Open& o = it->second;
      ClosedMerge m{next_,      warmup,    static_cast<uint32_t>(o.reported.size()),
                    o.counters, o.latency, o.backends,
                    o.names};
      if (!warmup) {
        measured_counters_.add(o.counters);
        measured_latency_.add(o.latency);
      }
      fn(m);
      open_.erase(it);
    } else {
      // Nothing reported: no histogram allocated for it.
      Counters none;
      const Backends no_backends;
      const ByName no_names;
      ClosedMerge m{next_, warmup, 0, none, empty_histogram(), no_backends, no_names};
      fn(m);
    }
    ++next_;
    ++closed;
  }
  return closed;
}

size_t PhaseMerger::close_ready(uint32_t force_before,
                                const std::function<void(ClosedMerge&)>& fn) {
  return close(force_before, false, fn);
}

std::vector<MergedInterval> PhaseMerger::take_ready(uint32_t force_before) {
  std::vector<MergedInterval> out;
  close(force_before, true, [&](ClosedMerge& c) {
    MergedInterval m;
    m.index = c.index;
    m.warmup = c.warmup;
    m.agents = c.agents;
    m.counters = std::move(c.counters);
    m.latency = c.latency;
    m.backends = c.backends;
    m.names = c.names;
    out.push_back(std::move(m));
  });
  return out;
}

}  // namespace horde
