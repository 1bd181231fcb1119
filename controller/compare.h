// `horde compare BASELINE CANDIDATE`: is the candidate run worse than the
// baseline beyond noise? Reads two results directories (summary.json and
// intervals.jsonl), matches phases by name, and judges each metric with the
// test that fits it (compare_stats.h): a regression is a change in the worse
// direction that is both beyond its tolerance and significant at alpha.
// Per backend (when either phase names more than one): its
// throughput and error rate judged, its p50 and p99 shown. Per request name
// (when either run has more than one): every metric the phase gets, tested the
// same way on the name's part of each interval. Sweeps add capacity
// and efficiency per N (judged), the USL sigma/kappa (tested; judged with a
// tolerance) and the peak (shown). The verdict is a value; compare_output.cc turns it
// into the table, compare.json and compare.html.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tolerance.h"
#include "controller/backend_results.h"
#include "controller/interval_log.h"

namespace horde {

struct CompareOptions {
  Tolerances tolerance = default_tolerances();
  double alpha = 0.01;
  bool allow_incomplete = false;  // else a partial or aborted run is refused
  uint32_t resamples = 2000;      // bootstrap resamples
  uint64_t seed = 1;              // bootstrap seed: the same inputs give the same verdict
};

// One results directory, as read.
struct RunData {
  std::string dir;
  nlohmann::json summary;
  std::vector<LoggedInterval> intervals;
  std::vector<BackendCsvRow> backends;  // backends.csv ([] when the run has none)
};

// Reads summary.json and intervals.jsonl. A missing summary (the controller
// died) is rebuilt from intervals.jsonl in memory, and like an aborted or
// incomplete run it is an error unless allow_incomplete.
Result<RunData> load_run(const std::string& dir, bool allow_incomplete);

struct MetricComparison {
  std::string scope;   // "phase run", "phase run name home", "sweep n=4", "capacity search 1"
  std::string metric;  // "p99", "throughput", "capacity", "efficiency", ...
  std::string unit;    // "ms", "rps", "%", "" (shown after the values)
  double baseline = 0, candidate = 0;
  // Relative change (candidate / baseline - 1), or for error_rate and
  // distribution the difference in percentage points / 100.
  double change = 0;
  std::string test;                       // "bootstrap", "welch t", "two-proportion z", ... or ""
  std::optional<double> statistic;        // t, z, or the bootstrap's ratio
  std::optional<double> p_value;          // none: not tested (shown only)
  std::optional<double> ci_low, ci_high;  // bootstrap: interval of the ratio
  std::optional<double> tolerance;        // none: never judged
  bool worse = false;                     // the change goes in the bad direction
  bool beyond_tolerance = false;
  bool significant = false;
  bool regression = false;
  std::string verdict;  // "REGRESSION", "improved", "within tolerance", "not significant", ...
};

struct PhaseSeries {
  std::string name;
  // Latency by percentile (ms) of each side, and throughput per measured interval.
  std::vector<double> percentiles, spectrum_a, spectrum_b;
  std::vector<double> time_a, rps_a, time_b, rps_b;
};

struct RunComparison {
  std::string baseline_dir, candidate_dir, baseline_run, candidate_run;
  CompareOptions options;
  std::vector<std::string> workload_differences;  // "load.rate: 1000 -> 2000"
  std::vector<std::string> notes;  // unmatched phases, backends, names; what was not compared
  std::vector<MetricComparison> rows;
  std::vector<PhaseSeries> series;
  size_t matched_phases = 0;

  // 0 no regression, 1 at least one, 2 nothing could be compared (no phase in common).
  int exit_code() const;
  // "p99 of phase run: 4.1 ms -> 6.3 ms (+54%, p < 0.001, tolerance 10%)", one per regression.
  std::vector<std::string> regression_lines() const;
};

RunComparison compare_runs(const RunData& baseline, const RunData& candidate,
                           const CompareOptions& options);

// Reads both directories and compares them; an error for bad input (exit 2).
Result<RunComparison> compare_dirs(const std::string& baseline_dir,
                                   const std::string& candidate_dir, const CompareOptions& options);

// The table printed by `horde compare`: workload differences first, then per
// scope the metrics, and the regressions (or the all-clear) on the last lines.
std::string comparison_text(const RunComparison& c);
nlohmann::json comparison_json(const RunComparison& c);
// A self-contained page: verdict, the table with regressions marked, per phase
// the two percentile spectra overlaid (log latency axis) and throughput over time.
std::string comparison_html(const RunComparison& c);
// compare.json and compare.html into dir (created if needed).
Result<bool> write_comparison(const RunComparison& c, const std::string& dir);

// "p < 0.001", "p = 0.004", "p = 0.31".
std::string format_p(double p);

}  // namespace horde

namespace horde {

struct BaselineSpec;

// `baseline:` at the end of `horde run`: compares out_dir with the baseline,
// prints the table, writes compare.json and compare.html into out_dir and
// folds the verdict into the run's exit code (an aborted run, 3, is not
// compared; otherwise the larger of the run's code and the comparison's).
int compare_with_baseline(const BaselineSpec& baseline, const std::string& out_dir, int run_code);

}  // namespace horde
