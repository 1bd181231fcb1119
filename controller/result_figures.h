// The figures every result file and table shows, computed one way: ms from
// µs, rounding for JSON, error rate, throughput, and a histogram's latency_ms.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/histogram.h"
#include "common/report.h"

namespace horde {

inline double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }
// Rounds to 3 decimals so JSON stays readable; exactness lives in the counts.
inline double r3(double v) { return std::round(v * 1000.0) / 1000.0; }
inline double error_rate(const Counters& c) {
  return c.requests ? static_cast<double>(c.errors) / static_cast<double>(c.requests) : 0.0;
}
inline double throughput(const Counters& c, double duration_s) {
  return duration_s > 0 ? static_cast<double>(c.requests) / duration_s : 0.0;
}
// {mean, stdev, p50, p75, p90, p99, p999, p9999, max} in ms.
nlohmann::json latency_json(const Histogram& h);

}  // namespace horde
