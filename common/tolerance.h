// Tolerances of `horde compare` and of the workload's `baseline:`: how much
// worse a metric may get before a significant change counts as a regression.
// Latency (mean, p50, p90, p99, p999), throughput and capacity are relative
// ("10%": up to 10% slower, 10% less throughput); error_rate and distribution
// are in percentage points ("0.1" or "0.1%": the error rate may rise by 0.1
// points; distribution: P(a candidate request is slower) may exceed 50% by
// that much). Parsed and validated here, once, for the CLI flag and the file.
#pragma once

#include <map>
#include <string>

#include "common/result.h"

namespace horde {

// Metric -> tolerance as a fraction (0.1 for "10%", 0.001 for error_rate "0.1").
using Tolerances = std::map<std::string, double>;

// p50 / p90 / p99 / mean 10%, p999 20%, throughput 5%, capacity 5%, efficiency 5%
// (a sweep point's X(N) / (N X(1)), relative), error_rate 0.1 points.
// distribution has none: Mann-Whitney treats every request as an
// independent sample, which requests of one run are not (a stall slows a whole
// second of them), so it is shown and judged only when a tolerance is given.
// Nor have usl_sigma and usl_kappa (relative): near 0 a relative change says
// little (kappa 0.0001 -> 0.0002 is +100%), so they are tested and judged only
// when a tolerance is given.
Tolerances default_tolerances();
// "throughput, error_rate, mean, p50, p90, p99, p999, distribution, capacity,
// efficiency, usl_sigma, usl_kappa"
std::string tolerance_keys();
// One value for `key`; errors say what is expected ("a percentage like 10%").
Result<double> parse_tolerance(const std::string& key, const std::string& text);
// "p99=10%,throughput=5%,error_rate=0.1" over `base`; an error names the item.
Result<Tolerances> parse_tolerance_list(const std::string& text, Tolerances base);
// The text form parse_tolerance reads back: "10%", "0.1%".
std::string format_tolerance(const std::string& key, double value);
// True for error_rate and distribution (absolute, in points), false for relative keys.
bool tolerance_in_points(const std::string& key);

}  // namespace horde
