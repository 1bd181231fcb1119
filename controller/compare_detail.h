// What compare.cc (phases, backends), compare_names.cc (request names) and compare_sweep.cc
// (sweeps, capacity searches) share: a phase as read back, and how a row is filled in and
// judged. Internal to `horde compare`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "controller/compare.h"

namespace horde::compare_detail {

// Rows of a phase come from its measured (not warm-up) intervals; one request name's
// rows from its part of them, in the same form.
struct PhaseData {
  std::string name;
  uint32_t index = 0;  // the phase's index in intervals.jsonl
  nlohmann::json summary;
  std::vector<Histogram> latency;  // per measured interval
  std::vector<double> time_s, rps;
  Histogram merged;
};

// candidate / baseline - 1 (infinite from a baseline of 0 to anything else).
double relative(double base, double cand);
// Sets worse / beyond / significant / regression / verdict from the filled-in figures.
void judge(MetricComparison* m, bool higher_is_worse, double alpha);
// The tolerance for `key`, none when it has none.
std::optional<double> tol(const CompareOptions& o, const std::string& key);
// A value shown but never judged (the peak, a point without intervals).
void shown(RunComparison* c, const std::string& scope, const std::string& metric,
           const nlohmann::json& a, const nlohmann::json& b, const std::string& unit = "");
// The rows of two matched sets of measured intervals under `scope` (a phase, or one request
// name of it): throughput (Welch's t on the per-interval rates), error rate (two proportions
// from summary's errors / requests), mean and percentiles (bootstrap over the intervals with
// `seed`), max (shown) and the whole distribution (Mann-Whitney U on the merged histograms).
void compare_measured(const PhaseData& a, const PhaseData& b, const std::string& scope,
                      uint64_t seed, const CompareOptions& o, RunComparison* c);
// Per request name of two matched phases, when either run has more than one name: each name
// in both gets compare_measured's rows (scope "phase P name N"); a name in one run only, or
// names in one run only, is a note (compare_names.cc).
void compare_names(const PhaseData& a, const PhaseData& b, const RunData& ra, const RunData& rb,
                   const CompareOptions& o, RunComparison* c);
// Sweep points matched by N (capacity and efficiency judged, USL sigma and kappa tested) and
// capacity searches matched in order (compare_sweep.cc).
void compare_sweeps(const RunData& ra, const RunData& rb, const std::vector<PhaseData>& pa,
                    const std::vector<PhaseData>& pb, const CompareOptions& o, RunComparison* c);

}  // namespace horde::compare_detail
