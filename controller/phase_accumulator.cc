#include "controller/phase_accumulator.h"

#include <algorithm>

namespace horde {

double PhaseTiming::interval_length_s(uint32_t i) const {
  return std::min(interval_s, total_s - i * interval_s);
}

double PhaseTiming::interval_end_s(uint32_t i) const {
  return (static_cast<double>(i) + 1.0 - warmup_intervals) * interval_s;
}

double PhaseTiming::planned_measured_s() const {
  double s = 0;
  for (uint32_t i = warmup_intervals; i < intervals; ++i) s += interval_length_s(i);
  return s;
}

PhaseAccumulator::PhaseAccumulator(uint32_t index, std::string name,
                                   std::optional<double> offered_rps) {
  result_.index = index;
  result_.name = std::move(name);
  result_.offered_rps = offered_rps;
}

IntervalRow PhaseAccumulator::row(const PhaseTiming& t, uint32_t interval, bool warmup,
                                  uint32_t agents, Counters counters, const Histogram& latency,
                                  int64_t merged_unix_us) const {
  IntervalRow row;
  row.phase = result_.index;
  row.interval = interval;
  row.warmup = warmup;
  row.agents = agents;
  row.duration_s = t.interval_length_s(interval);
  row.time_s = t.interval_end_s(interval);
  row.p50_us = latency.value_at_percentile(50);
  row.p99_us = latency.value_at_percentile(99);
  row.max_us = latency.max();
  row.merged_unix_us = merged_unix_us;
  row.counters = std::move(counters);
  return row;
}

void PhaseAccumulator::add(IntervalRow row, const Histogram& latency, const Backends& backends,
                           const ByName& names) {
  for (const auto& [id, s] : backends.by_id) {
    row.backends.push_back({id, s.requests, s.errors, s.latency.value_at_percentile(50),
                            s.latency.value_at_percentile(99), s.latency.max()});
  }
  if (!row.warmup) {
    result_.counters.add(row.counters);
    result_.latency.add(latency);
    result_.backends.add(backends);
    add_names(result_.names, names);
  }
  result_.intervals.push_back(std::move(row));
}

PhaseResult PhaseAccumulator::finish(std::optional<double> planned_s, bool aborted) {
  double measured_s = 0;
  for (const auto& row : result_.intervals) {
    if (row.warmup || (aborted && row.counters.requests == 0)) continue;
    measured_s += row.duration_s;
  }
  if (!planned_s) {
    result_.duration_s = measured_s;
  } else if (aborted) {
    result_.duration_s = std::min(*planned_s, measured_s);
  } else {
    result_.duration_s = *planned_s;
  }
  return std::move(result_);
}

}  // namespace horde
