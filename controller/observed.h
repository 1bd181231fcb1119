// What the `observe:` sources saw, summed up for the results: per phase and
// over the run (mean and max over measured intervals that have a value), per
// sweep point (from the phase that measured its capacity), and
// requests_per_core_second where a source counts cores. Intervals without a
// value are left out, never counted as 0; a source with none has a null mean.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/observe.h"

namespace horde {

struct PhaseResult;

struct ObservedStat {
  std::string name;
  ObserveUnit unit = ObserveUnit::kCount;
  uint32_t samples = 0;  // measured intervals with a value
  std::optional<double> mean, max;
  bool operator==(const ObservedStat&) const = default;
};

// Over the measured intervals of `phases`, one entry per source in order.
std::vector<ObservedStat> observed_stats(const std::vector<ObserveSource>& sources,
                                         const std::vector<const PhaseResult*>& phases);
// {name: {mean, max, unit, samples}}.
nlohmann::json observed_json(const std::vector<ObservedStat>& stats);
// The first source with unit cores and a mean, or nullptr.
const ObservedStat* cores_stat(const std::vector<ObservedStat>& stats);

}  // namespace horde
