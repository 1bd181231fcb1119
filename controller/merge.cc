#include "controller/merge.h"

#include <fmt/format.h>

namespace horde {

PhaseMerger::PhaseMerger(uint32_t intervals, uint32_t warmup_intervals, std::set<uint64_t> agents)
    : intervals_(intervals), warmup_intervals_(warmup_intervals), waiting_for_(std::move(agents)) {
  for (uint64_t a : waiting_for_) {
    last_index_[a] = -1;
    per_agent_[a] = Counters{};
  }
}

Result<bool> PhaseMerger::add(uint64_t agent, const IntervalReport& report) {
  auto last = last_index_.find(agent);
  if (last == last_index_.end()) return Error{"report from an agent that is not in this phase"};
  if (report.interval >= intervals_) {
    return Error{
        fmt::format("interval {} is outside the phase (0..{})", report.interval, intervals_ - 1)};
  }
  if (static_cast<int64_t>(report.interval) <= last->second) {
    return Error{fmt::format("interval {} after interval {}: indexes must increase",
                             report.interval, last->second)};
  }
  last->second = report.interval;
  if (report.interval < next_) {
    ++discarded_;  // its interval closed already: never merge into a later one
    return false;
  }
  Open& open = open_[report.interval];
  open.reported.insert(agent);
  open.counters.add(report.counters);
  open.latency.add(report.latency);
  if (report.interval >= warmup_intervals_) per_agent_[agent].add(report.counters);
  return true;
}

bool PhaseMerger::next_ready() const {
  if (next_ >= intervals_) return false;
  const auto it = open_.find(next_);
  if (it == open_.end()) return waiting_for_.empty();
  if (it->second.reported.size() < waiting_for_.size()) return false;  // the usual answer: O(1)
  for (uint64_t a : waiting_for_) {
    if (!it->second.reported.count(a)) return false;
  }
  return true;
}

void PhaseMerger::agent_finished(uint64_t agent) { waiting_for_.erase(agent); }

std::vector<MergedInterval> PhaseMerger::take_ready(uint32_t force_before) {
  std::vector<MergedInterval> out;
  while (next_ < intervals_) {
    auto it = open_.find(next_);
    bool complete = true;
    for (uint64_t a : waiting_for_) {
      if (it == open_.end() || !it->second.reported.count(a)) {
        complete = false;
        break;
      }
    }
    if (!complete && next_ >= force_before) break;
    MergedInterval m;
    m.index = next_;
    m.warmup = next_ < warmup_intervals_;
    if (it != open_.end()) {
      m.agents = static_cast<uint32_t>(it->second.reported.size());
      m.counters = std::move(it->second.counters);
      m.latency = std::move(it->second.latency);
      open_.erase(it);
    }
    if (!m.warmup) {
      measured_counters_.add(m.counters);
      measured_latency_.add(m.latency);
    }
    out.push_back(std::move(m));
    ++next_;
  }
  return out;
}

}  // namespace horde
