// What compare.cc (phases, backends) and compare_sweep.cc (sweeps, capacity searches) share:
// a phase as read back, and how a row is filled in and judged. Internal to `horde compare`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "controller/compare.h"

namespace horde::compare_detail {

// Rows of a phase come from its measured (not warm-up) intervals.
struct PhaseData {
  std::string name;
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
// Sweep points matched by N (capacity and efficiency judged, USL sigma and kappa tested) and
// capacity searches matched in order (compare_sweep.cc).
void compare_sweeps(const RunData& ra, const RunData& rb, const std::vector<PhaseData>& pa,
                    const std::vector<PhaseData>& pb, const CompareOptions& o, RunComparison* c);

}  // namespace horde::compare_detail
