// compare.html: the comparison on one self-contained page (inline CSS and SVG,
// no script, nothing loaded), in report.html's style.
#include <fmt/format.h>

#include <cmath>

#include "controller/compare.h"
#include "controller/report_html.h"
#include "controller/svg_chart.h"

namespace horde {

namespace {

std::string esc(const std::string& s) { return xml_escape(s); }

std::string cell(double v, const std::string& unit) {
  if (!std::isfinite(v)) return "&ndash;";
  if (unit == "ms") return fmt::format("{:.3f} ms", v);
  if (unit == "rps") return fmt::format("{:.1f} rps", v);
  if (unit == "%") return fmt::format("{:.3f}%", v);
  return fmt::format("{:.4g}", v);
}

std::string change_cell(const MetricComparison& r) {
  if (tolerance_in_points(r.metric)) return fmt::format("{:+.3f} pt", 100 * r.change);
  if (std::isinf(r.change)) return "from 0";
  return fmt::format("{:+.1f}%", 100 * r.change);
}

ChartAxis axis(const std::string& label, AxisScale scale) {
  ChartAxis a;
  a.label = label;
  a.scale = scale;
  return a;
}

std::string phase_charts(const PhaseSeries& s) {
  LineChart spectrum;
  spectrum.title = "Latency by percentile: " + s.name;
  spectrum.x = axis("percentile", AxisScale::kPercentile);
  spectrum.y = axis("latency (ms, log scale)", AxisScale::kLog);
  spectrum.height = 320;
  ChartSeries a{"baseline", {}, {}, palette_color(0), true, true, false, {}, {}, {}};
  ChartSeries b{"candidate", {}, {}, palette_color(1), true, true, false, {}, {}, {}};
  for (size_t i = 0; i < s.percentiles.size(); ++i) {
    if (!(s.percentiles[i] < 100)) continue;  // 100% sits at infinity on this axis
    a.x.push_back(s.percentiles[i]);
    a.y.push_back(s.spectrum_a[i]);
    b.x.push_back(s.percentiles[i]);
    b.y.push_back(s.spectrum_b[i]);
  }
  spectrum.series = {a, b};
  LineChart rate;
  rate.title = "Throughput over time: " + s.name;
  rate.x = axis("time since the phase start (s)", AxisScale::kLinear);
  rate.y = axis("throughput (requests/s)", AxisScale::kLinear);
  rate.height = 280;
  rate.series = {
      ChartSeries{"baseline", s.time_a, s.rps_a, palette_color(0), true, true, false, {}, {}, {}},
      ChartSeries{"candidate", s.time_b, s.rps_b, palette_color(1), true, true, false, {}, {}, {}}};
  return render_line_chart(spectrum) + render_line_chart(rate);
}

}  // namespace

std::string comparison_html(const RunComparison& c) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>horde compare: {} vs {}</title>\n<style>{}"
      "tr.regression td{{background:#fde8e6}}\n</style>\n</head>\n<body>\n<main>\n",
      esc(c.baseline_run), esc(c.candidate_run), report_css());
  out += fmt::format(
      "<h1>horde compare</h1>\n<dl class=\"meta\"><dt>baseline</dt><dd>{} (run {})</dd>"
      "<dt>candidate</dt><dd>{} (run {})</dd><dt>alpha</dt><dd>{:g}</dd></dl>\n",
      esc(c.baseline_dir), esc(c.baseline_run), esc(c.candidate_dir), esc(c.candidate_run),
      c.options.alpha);
  const auto lines = c.regression_lines();
  const int code = c.exit_code();
  if (code == 2) {
    out += "<div class=\"banner fail\">Nothing compared: no phase name in common.</div>\n";
  } else if (lines.empty()) {
    out +=
        "<div class=\"banner pass\">No regression: nothing got worse beyond its tolerance "
        "and beyond noise.</div>\n";
  } else {
    out += fmt::format("<div class=\"banner fail\">{} regression(s)<ul>", lines.size());
    for (const auto& l : lines) out += "<li>" + esc(l) + "</li>";
    out += "</ul></div>\n";
  }
  if (!c.workload_differences.empty() || !c.notes.empty()) {
    out += "<section><h2>Differences and notes</h2><ul>\n";
    for (const auto& d : c.workload_differences) out += "<li>workload: " + esc(d) + "</li>\n";
    for (const auto& n : c.notes) out += "<li>" + esc(n) + "</li>\n";
    out += "</ul></section>\n";
  }
  out +=
      "<section><h2>Metrics</h2><table><tr><th>scope</th><th>metric</th><th>baseline</th>"
      "<th>candidate</th><th>change</th><th>tolerance</th><th>test</th><th>p</th>"
      "<th>verdict</th></tr>\n";
  for (const auto& r : c.rows) {
    const std::string tol =
        r.tolerance ? (tolerance_in_points(r.metric) ? fmt::format("{:g} pt", 100 * *r.tolerance)
                                                     : format_tolerance(r.metric, *r.tolerance))
                    : "&ndash;";
    out += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td class=\"{}\">{}</td></tr>\n",
        r.regression ? " class=\"regression\"" : "", esc(r.scope), esc(r.metric),
        cell(r.baseline, r.unit), cell(r.candidate, r.unit), change_cell(r), tol,
        r.test.empty() ? "&ndash;" : esc(r.test), r.p_value ? esc(format_p(*r.p_value)) : "&ndash;",
        r.regression ? "bad" : (r.verdict == "improved" ? "ok" : ""), esc(r.verdict));
  }
  out +=
      "</table><p class=\"note\">A regression is worse beyond its tolerance and significant "
      "(p &lt; alpha). Throughput: Welch's t on per-interval rates; error rate: two-proportion "
      "z; mean and percentiles: bootstrap over intervals; distribution: Mann-Whitney U, shown "
      "as the chance that a candidate request is slower than a baseline one.</p></section>\n";
  for (const auto& s : c.series) {
    out += "<section><h2>Phase " + esc(s.name) + "</h2>\n" + phase_charts(s) + "</section>\n";
  }
  out +=
      "<p class=\"note\">Generated by horde compare from summary.json and intervals.jsonl of "
      "both runs; docs/compare.md explains each test.</p>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace horde
