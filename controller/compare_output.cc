// The comparison as text (the table `horde compare` prints) and as compare.json.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/file.h"
#include "common/text.h"
#include "common/workload.h"
#include "controller/compare.h"

namespace horde {

namespace {

using nlohmann::json;

std::string value_text(double v, const std::string& unit) {
  if (unit == "ms") return fmt::format("{:.3f} ms", v);
  if (unit == "rps") return fmt::format("{:.1f} rps", v);
  if (unit == "%") return fmt::format("{:.3f}%", v);
  return fmt::format("{:.4g}", v);
}

std::string change_text(const MetricComparison& r) {
  if (tolerance_in_points(r.metric)) return fmt::format("{:+.3f} pt", 100 * r.change);
  if (std::isinf(r.change)) return "from 0";
  return fmt::format("{:+.1f}%", 100 * r.change);
}

json number_or_null(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json();
}

}  // namespace

std::string comparison_text(const RunComparison& c) {
  std::string out = fmt::format("baseline:  {} (run {})\ncandidate: {} (run {})\n", c.baseline_dir,
                                c.baseline_run, c.candidate_dir, c.candidate_run);
  out += fmt::format(
      "a regression: worse beyond its tolerance AND significant at alpha {:g} (p < alpha)\n",
      c.options.alpha);
  if (!c.workload_differences.empty()) {
    out += "workload differences (baseline -> candidate):\n";
    for (const auto& d : c.workload_differences) out += "  " + d + "\n";
  }
  for (const auto& n : c.notes) out += "note: " + n + "\n";
  std::string scope;
  for (const auto& r : c.rows) {
    if (r.scope != scope) {
      scope = r.scope;
      out += fmt::format("\n{}\n  {:<13} {:>14} {:>14} {:>10} {:>10}  {:<17} {:<11} {}\n", scope,
                         "metric", "baseline", "candidate", "change", "tolerance", "test", "p",
                         "verdict");
    }
    const std::string tol =
        r.tolerance ? (tolerance_in_points(r.metric) ? fmt::format("{:g} pt", 100 * *r.tolerance)
                                                     : format_tolerance(r.metric, *r.tolerance))
                    : "-";
    out += fmt::format("  {:<13} {:>14} {:>14} {:>10} {:>10}  {:<17} {:<11} {}\n", r.metric,
                       value_text(r.baseline, r.unit), value_text(r.candidate, r.unit),
                       change_text(r), tol, r.test.empty() ? "-" : r.test,
                       r.p_value ? format_p(*r.p_value) : "-", r.verdict);
  }
  out += "\n";
  const auto lines = c.regression_lines();
  if (c.exit_code() == 2) {
    out += "nothing compared: the runs have no phase name in common\n";
  } else if (lines.empty()) {
    size_t judged = 0;
    for (const auto& r : c.rows) judged += r.p_value && r.tolerance ? 1 : 0;
    out += fmt::format("no regression: {} judged metric(s) over {} phase(s)\n", judged,
                       c.matched_phases);
  } else {
    out += fmt::format("{} regression(s):\n", lines.size());
    for (const auto& l : lines) out += l + "\n";
  }
  return out;
}

json comparison_json(const RunComparison& c) {
  json rows = json::array();
  for (const auto& r : c.rows) {
    rows.push_back({{"scope", r.scope},
                    {"metric", r.metric},
                    {"unit", r.unit},
                    {"baseline", r.baseline},
                    {"candidate", r.candidate},
                    {"change", number_or_null(r.change)},
                    {"test", r.test.empty() ? json() : json(r.test)},
                    {"statistic", number_or_null(r.statistic)},
                    {"p_value", number_or_null(r.p_value)},
                    {"ci_low", number_or_null(r.ci_low)},
                    {"ci_high", number_or_null(r.ci_high)},
                    {"tolerance", number_or_null(r.tolerance)},
                    {"worse", r.worse},
                    {"beyond_tolerance", r.beyond_tolerance},
                    {"significant", r.significant},
                    {"regression", r.regression},
                    {"verdict", r.verdict}});
  }
  json tolerance = json::object();
  for (const auto& [k, v] : c.options.tolerance) tolerance[k] = v;
  return {{"schema", 1},
          {"baseline", {{"dir", c.baseline_dir}, {"run_id", c.baseline_run}}},
          {"candidate", {{"dir", c.candidate_dir}, {"run_id", c.candidate_run}}},
          {"alpha", c.options.alpha},
          {"tolerance", tolerance},
          {"bootstrap", {{"resamples", c.options.resamples}, {"seed", c.options.seed}}},
          {"workload_differences", c.workload_differences},
          {"notes", c.notes},
          {"matched_phases", c.matched_phases},
          {"rows", rows},
          {"regressions", c.regression_lines()},
          {"exit_code", c.exit_code()}};
}

Result<bool> write_comparison(const RunComparison& c, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{fmt::format("{}: cannot create directory: {}", dir, ec.message())};
  const auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  if (auto ok =
          write_file_atomic(path("compare.json"), text::dump_json(comparison_json(c), 2) + "\n");
      !ok) {
    return ok;
  }
  return write_file_atomic(path("compare.html"), comparison_html(c));
}

}  // namespace horde

namespace horde {

int compare_with_baseline(const BaselineSpec& baseline, const std::string& out_dir, int run_code) {
  if (run_code == 3) {
    std::printf("baseline: not compared, the run was aborted\n");
    return run_code;
  }
  CompareOptions o;
  for (const auto& [k, v] : baseline.tolerance) o.tolerance[k] = v;
  o.alpha = baseline.alpha;
  auto c = compare_dirs(baseline.dir, out_dir, o);
  if (!c) {
    std::fprintf(stderr, "horde: baseline: %s\n", c.error().message.c_str());
    std::fflush(stderr);
    return std::max(run_code, 2);
  }
  std::printf("\ncomparison with the baseline\n%s", comparison_text(*c).c_str());
  if (auto written = write_comparison(*c, out_dir); !written) {
    std::fprintf(stderr, "horde: %s\n", written.error().message.c_str());
  } else {
    std::printf("comparison: %s/compare.json, %s/compare.html\n", out_dir.c_str(), out_dir.c_str());
  }
  std::fflush(stdout);
  return std::max(run_code, c->exit_code());
}

}  // namespace horde
