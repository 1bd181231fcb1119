// `observe:` sources: what the target spent while horde measured it (issue 22).
// Each source is read once per interval by the controller (controller/observer.h):
// a /metrics endpoint scraped directly (one metric, summed over the series that
// match, as a gauge or as a per-second rate of a counter), or an instant query
// to a Prometheus server's HTTP API. Plain values, read from the workload
// file's `observe:` list (common/observe_yaml.cc) and validated there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/url.h"

namespace horde {

// What a source's values are, for the report and the verdict: `cores` (CPU
// seconds per second), `bytes`, `ratio` (0..1) or `count`.
enum class ObserveUnit { kCores, kBytes, kRatio, kCount };
const char* unit_name(ObserveUnit u);
bool unit_from_name(const std::string& name, ObserveUnit* out);

inline constexpr size_t kMaxObserveSources = 32;

struct ObserveSource {
  std::string name;  // [a-z_][a-z0-9_]*: its intervals.csv column and summary.json key
  // Exactly one of the two kinds.
  std::optional<Url> scrape;      // a /metrics endpoint (Prometheus text format)
  std::optional<Url> prometheus;  // a Prometheus server's base URL (…/api/v1/query is added)
  // scrape: the metric and the series of it that count (label -> value, "!value" not equal).
  std::string metric;
  std::vector<std::pair<std::string, std::string>> match;
  bool rate = false;  // scrape: per-second rate of a counter rather than the value
  std::string query;  // prometheus: PromQL, evaluated at each interval's end
  ObserveUnit unit = ObserveUnit::kCount;
  bool operator==(const ObserveSource&) const = default;
};

}  // namespace horde
