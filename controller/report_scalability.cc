// report.html's scalability section (summary["scalability"]): the verdict banner, capacity
// against N with its intervals, the ideal line and both fitted models, the busy cores per N
// beside it when an observe: source counts cores, the points table and latency against
// throughput.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "controller/report_sections.h"
#include "controller/report_util.h"
#include "controller/svg_chart.h"

namespace horde {

using nlohmann::json;
using report::axis;
using report::esc;
using report::line_chart;
using report::num;

namespace {

// Busy cores per N for each observe: source in cores, beside capacity per N; a dashed line at
// sweep.cores_available when given. "" without such a source.
std::string cores_chart(const json& sc, const std::string& kind) {
  if (!sc.contains("points") || !sc["points"].is_array()) return "";
  std::vector<std::string> names;
  for (const auto& p : sc["points"]) {
    if (!p.contains("observed") || !p["observed"].is_object()) continue;
    for (const auto& [name, o] : p["observed"].items()) {
      if (json_string(o, "unit") == "cores" &&
          std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  if (names.empty()) return "";
  ChartAxis n_axis = axis(kind + " (N)");
  n_axis.min = 0;
  ChartAxis y_axis = axis("busy cores (observed)");
  y_axis.min = 0;
  LineChart c = line_chart("Busy cores vs " + kind, n_axis, y_axis);
  double n_max = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    ChartSeries cs;
    cs.name = names[i] + " (mean over the step)";
    cs.markers = true;
    cs.color = palette_color(i + 3);
    for (const auto& p : sc["points"]) {
      const double n = json_number(p, "n", NAN);
      const json& o =
          p.contains("observed") && p["observed"].is_object() && p["observed"].contains(names[i])
              ? p["observed"][names[i]]
              : json();
      const double v = json_number(o, "mean", NAN);
      cs.x.push_back(n);
      cs.y.push_back(v);
      cs.point_labels.push_back(std::isfinite(v) ? fmt::format("{:.2f}", v) : "");
      if (std::isfinite(n)) n_max = std::max(n_max, n);
    }
    c.series.push_back(std::move(cs));
  }
  const json& cpu = sc.contains("cpu") && sc["cpu"].is_object() ? sc["cpu"] : json::object();
  const double available = json_number(cpu, "cores_available", NAN);
  if (std::isfinite(available) && n_max > 0) {
    ChartSeries limit;
    limit.name = fmt::format("cores available ({:g})", available);
    limit.dashed = true;
    limit.color = "#8a94a3";
    limit.x = {0, n_max * 1.25};
    limit.y = {available, available};
    c.series.insert(c.series.begin(), std::move(limit));
  }
  c.height = 280;
  return render_line_chart(c);
}

}  // namespace

std::string scalability_section(const json& s) {
  const json& sc = s["scalability"];
  const std::string kind = json_string(sc, "kind").empty() ? "instances" : json_string(sc, "kind");
  const bool passed = sc.value("passed", false);
  std::string out =
      fmt::format("<section><h2>Scalability over {}</h2>\n<div class=\"banner {}\">{}</div>\n",
                  esc(kind), passed ? "pass" : "fail", esc(json_string(sc, "verdict")));
  ChartSeries measured, ideal, fitted;
  measured.name = "measured capacity";
  measured.markers = true;
  double x1 = NAN, n_min = INFINITY, n_max = 0;
  std::string rows;
  const std::string cores = cores_chart(sc, kind);
  const bool with_cores = !cores.empty();
  if (sc.contains("points") && sc["points"].is_array()) {
    for (const auto& p : sc["points"]) {
      const double n = json_number(p, "n", NAN), x = json_number(p, "capacity_rps", NAN);
      measured.x.push_back(n);
      measured.y.push_back(x);
      measured.point_labels.push_back(tick_label(x));
      const json ci = p.contains("capacity_ci") ? p["capacity_ci"] : json();
      const bool has_ci = ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number();
      measured.y_low.push_back(has_ci ? ci[0].get<double>() : NAN);
      measured.y_high.push_back(has_ci ? ci[1].get<double>() : NAN);
      if (n < n_min && n > 0) n_min = n, x1 = x / n;
      n_max = std::max(n_max, n);
      std::string cores_cells;
      if (with_cores) {
        double busy = NAN;
        if (p.contains("observed") && p["observed"].is_object()) {
          for (const auto& [name, o] : p["observed"].items()) {
            if (json_string(o, "unit") == "cores" && !std::isfinite(busy)) {
              busy = json_number(o, "mean", NAN);
            }
          }
        }
        cores_cells = fmt::format("<td>{}</td><td>{}</td>", num(busy, 2),
                                  num(json_number(p, "requests_per_core_second", NAN), 0));
      }
      rows += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>\n", num(n, 0), num(x),
          has_ci ? num(ci[0].get<double>()) + " .. " + num(ci[1].get<double>()) : std::string("-"),
          num(100 * json_number(p, "efficiency", NAN), 0) + "%",
          num(json_number(p, "p99_ms", NAN), 3), cores_cells);
    }
  }
  const json& usl = sc.contains("usl") && sc["usl"].is_object() ? sc["usl"] : json::object();
  const double lambda = json_number(usl, "lambda", NAN), sigma = json_number(usl, "sigma", NAN),
               kappa = json_number(usl, "kappa", NAN), peak_n = json_number(usl, "peak_n", NAN);
  // Extend the axis a little past the last point (and to a near peak) so the curve's bend shows.
  const double x_end =
      std::max(n_max * 1.25, std::isfinite(peak_n) ? std::min(peak_n * 1.1, n_max * 2) : 0);
  if (std::isfinite(x1)) {
    ideal.name = "ideal linear (N x X(1))";
    ideal.dashed = true;
    ideal.color = "#8a94a3";
    ideal.x = {1, x_end};
    ideal.y = {x1, x1 * x_end};
  }
  // Both models: the chosen one solid, the other dashed, when their curves differ.
  const std::string model = usl.contains("model") && usl["model"].is_string()
                                ? usl["model"].get<std::string>()
                                : std::string("usl");
  auto curve = [&](ChartSeries& c, double l, double s, double k) {
    for (int i = 0; i <= 80; ++i) {
      const double n = 1 + (x_end - 1) * i / 80.0;
      c.x.push_back(n);
      c.y.push_back(l * n / (1 + s * (n - 1) + k * n * (n - 1)));
    }
  };
  if (std::isfinite(lambda) && std::isfinite(sigma) && std::isfinite(kappa)) {
    fitted.name = fmt::format("{} fit, chosen (sigma {:.3g}, kappa {:.3g}, R\u00b2 {:.3f})",
                              model == "amdahl" ? "Amdahl" : "USL", sigma, kappa,
                              json_number(usl, "r2", NAN));
    fitted.color = palette_color(1);
    curve(fitted, lambda, sigma, kappa);
  }
  ChartSeries other;
  const char* other_key = model == "amdahl" ? "full" : "amdahl";
  if (usl.contains(other_key) && usl[other_key].is_object() && !fitted.y.empty()) {
    const json& o = usl[other_key];
    const double ol = json_number(o, "lambda", NAN), os = json_number(o, "sigma", NAN),
                 ok = o.contains("kappa") ? json_number(o, "kappa", NAN) : 0.0;
    if (std::isfinite(ol) && std::isfinite(os) && std::isfinite(ok)) {
      curve(other, ol, os, ok);
      double gap = 0, top = 0;
      for (size_t i = 0; i < other.y.size(); ++i) {
        gap = std::max(gap, std::abs(other.y[i] - fitted.y[i]));
        top = std::max(top, fitted.y[i]);
      }
      if (gap > 0.01 * top) {  // drawn only where it would not hide under the chosen curve
        other.name = fmt::format("{} fit, not chosen (sigma {:.3g}, kappa {:.3g})",
                                 model == "amdahl" ? "USL" : "Amdahl", os, ok);
        other.color = palette_color(2);
        other.dashed = true;
      } else {
        other = ChartSeries{};
      }
    }
  }
  ChartAxis n_axis = axis(kind + " (N)");
  n_axis.min = 0;
  LineChart c = line_chart("Capacity vs " + kind, n_axis, axis("capacity (requests/s)"));
  // Measured last, so its markers sit on top of the lines.
  if (!ideal.x.empty()) c.series.push_back(ideal);
  if (!other.x.empty()) c.series.push_back(other);
  if (!fitted.x.empty()) c.series.push_back(fitted);
  measured.color = palette_color(0);
  c.series.push_back(measured);
  if (std::isfinite(peak_n) && peak_n <= x_end) {
    c.markers.push_back({peak_n, fmt::format("predicted peak N = {:.1f}", peak_n)});
  }
  c.height = 360;
  if (sc.contains("shape") && sc["shape"].is_string()) {
    std::string facts = "observed shape: <b>" + esc(sc["shape"].get<std::string>()) + "</b>";
    if (usl.contains("model") && usl["model"].is_string()) {
      facts += "; model chosen by AICc: <b>" + esc(usl["model"].get<std::string>()) + "</b>";
    }
    const auto ci = [&](const char* key) {
      const json& v = usl.contains(key) ? usl[key] : json();
      return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()
                 ? fmt::format("{:.3g} .. {:.3g}", v[0].get<double>(), v[1].get<double>())
                 : std::string();
    };
    if (!ci("sigma_ci").empty()) {
      facts += "; 95% intervals: sigma " + esc(ci("sigma_ci")) + ", kappa (full USL) " +
               esc(ci("kappa_ci"));
    }
    out += "<p>" + facts + ". Error bars: each capacity's 95% interval.</p>\n";
  }
  out += render_line_chart(c);
  out += cores;
  out += fmt::format(
      "<table class=\"narrow\"><tr><th>{}</th><th>capacity rps</th><th>95% interval</th>"
      "<th>efficiency</th><th>p99 ms</th>{}</tr>\n{}"
      "</table>\n",
      esc(kind), with_cores ? "<th>busy cores</th><th>requests per core-second</th>" : "", rows);
  if (s.contains("phases") && s["phases"].is_array() && !s["phases"].empty()) {
    out += latency_throughput_chart(s);
  }
  return out + "</section>\n";
}

}  // namespace horde
