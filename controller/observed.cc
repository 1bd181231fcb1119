#include "controller/observed.h"

#include <algorithm>

#include "controller/results.h"

namespace horde {

std::vector<ObservedStat> observed_stats(const std::vector<ObserveSource>& sources,
                                         const std::vector<const PhaseResult*>& phases) {
  std::vector<ObservedStat> out;
  for (size_t j = 0; j < sources.size(); ++j) {
    ObservedStat s{sources[j].name, sources[j].unit, 0, std::nullopt, std::nullopt};
    double sum = 0;
    for (const PhaseResult* p : phases) {
      for (const IntervalRow& row : p->intervals) {
        if (row.warmup || j >= row.observed.size() || !row.observed[j]) continue;
        const double v = *row.observed[j];
        sum += v;
        ++s.samples;
        s.max = std::max(s.max.value_or(v), v);
      }
    }
    if (s.samples > 0) s.mean = sum / s.samples;
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::json observed_json(const std::vector<ObservedStat>& stats) {
  nlohmann::json out = nlohmann::json::object();
  const auto or_null = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  for (const ObservedStat& s : stats) {
    out[s.name] = {{"mean", or_null(s.mean)},
                   {"max", or_null(s.max)},
                   {"unit", unit_name(s.unit)},
                   {"samples", s.samples}};
  }
  return out;
}

const ObservedStat* cores_stat(const std::vector<ObservedStat>& stats) {
  for (const ObservedStat& s : stats) {
    if (s.unit == ObserveUnit::kCores && s.mean) return &s;
  }
  return nullptr;
}

}  // namespace horde
