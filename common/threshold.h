// Thresholds: pass/fail rules on a run's results, like "p99 < 200ms",
// "error_rate < 1%" or "rps >= 1000". They set the exit code (1 when one fails).
#pragma once

#include <string>

#include "common/result.h"

namespace horde {

// For "expected ..." parts of error messages.
inline constexpr const char* kThresholdForm =
    "\"<metric>[{name:NAME}] <op> <value>\" like \"p99 < 200ms\", \"error_rate < 1%\", "
    "\"rps >= 1000\" or \"p99{name:login} < 150ms\"";

enum class Metric { kP50, kP90, kP99, kP999, kMax, kMean, kErrorRate, kThroughput };
enum class Comparison { kLess, kLessEqual, kGreater, kGreaterEqual };

// "p99 < 200ms", "error_rate < 1%", "rps > 1000". Latency values are stored in
// milliseconds, error_rate as a fraction, throughput in requests/s.
struct Threshold {
  Metric metric;
  Comparison op;
  double value;
  std::string text;
  // The unit the user wrote, which observed values are shown in: "us", "ms",
  // "s", "m", "h" for latency, "%" or "" (a fraction) for error_rate, "rps".
  std::string unit;
  // `METRIC{name:NAME}` (k6's form): judged on the requests of that name
  // only; empty: on all of them.
  std::string name;
  bool operator==(const Threshold&) const = default;
};
Result<Threshold> parse_threshold(const std::string& text);
bool threshold_holds(const Threshold& t, double observed);
std::string metric_name(Metric m);  // "p99", "error_rate", "rps", ...
bool is_latency(Metric m);

// An observed value (ms for latency, a fraction for error_rate, requests/s)
// in the threshold's unit: 1.989 ms for "p99 < 50us" is 1989.
double in_threshold_unit(const Threshold& t, double observed);
// The same with its unit, for people: "1989 us", "2.5%", "950.3 rps".
std::string format_observed(const Threshold& t, double observed);

}  // namespace horde
