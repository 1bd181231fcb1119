// report.html's capacity search section (summary["capacity"]): per search a
// verdict banner (the capacity found, or why there is none), the bracket it
// ended in, and every step with its offered and achieved rate, p99 and
// whether it held the SLO; and the latency-vs-throughput chart drawn per
// search (per instance count), never one line across different targets.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "controller/report_sections.h"
#include "controller/report_util.h"
#include "controller/svg_chart.h"

namespace horde {

namespace {

using nlohmann::json;

using report::esc;
using report::num;

const json& phases_of(const json& s) {
  static const json empty = json::array();
  return s.contains("phases") && s["phases"].is_array() ? s["phases"] : empty;
}

// The phases of each search: searches run one after another, `steps` phases each.
std::vector<std::vector<const json*>> steps_per_search(const json& s) {
  std::vector<std::vector<const json*>> out;
  const json& phases = phases_of(s);
  size_t next = 0;
  for (const auto& c : s["capacity"]) {
    std::vector<const json*> steps;
    const auto n = static_cast<size_t>(json_number(c, "steps", 0));
    for (size_t i = 0; i < n && next < phases.size(); ++i) steps.push_back(&phases[next++]);
    out.push_back(std::move(steps));
  }
  return out;
}

std::string search_title(const json& c) {
  const double k = json_number(c, "instances", NAN);
  return std::isfinite(k) ? fmt::format("{:.0f} instance{}", k, k == 1 ? "" : "s") : "";
}

double p99_of(const json& p) {
  return p.contains("latency_ms") ? json_number(p["latency_ms"], "p99", NAN) : NAN;
}

}  // namespace

bool has_capacity(const json& s) {
  return s.contains("capacity") && s["capacity"].is_array() && !s["capacity"].empty();
}

std::string capacity_section(const json& s) {
  if (!has_capacity(s)) return "";
  const json& w = s.contains("workload") ? s["workload"] : json::object();
  const json& spec = w.contains("capacity") ? w["capacity"] : json::object();
  std::string slo;
  if (spec.contains("slo") && spec["slo"].is_array()) {
    for (const auto& t : spec["slo"]) {
      if (t.is_string()) slo += (slo.empty() ? "" : ", ") + t.get<std::string>();
    }
  }
  std::string out = "<section><h2>Capacity search</h2>\n";
  out += fmt::format(
      "<p class=\"note\">Open loop at searched rates: from {} requests/s {} until a step breaks "
      "the SLO ({}) or achieves less than {}% of its offered rate, then bisection to {}%. Each "
      "step is held {}.</p>\n",
      num(json_number(spec, "start_rate", NAN), 0),
      spec.contains("step") ? "+ " + num(json_number(spec, "step", NAN), 0) + " per step"
                            : "x " + num(json_number(spec, "factor", NAN), 2) + " per step",
      esc(slo.empty() ? "none given" : slo), num(100 * json_number(spec, "min_achieved", NAN), 0),
      num(100 * json_number(spec, "precision", NAN), 1), esc(json_string(spec, "hold")));
  const auto steps = steps_per_search(s);
  size_t i = 0;
  for (const auto& c : s["capacity"]) {
    const std::string where = search_title(c);
    const double good = json_number(c, "highest_good_rate", NAN);
    const double bad = json_number(c, "lowest_bad_rate", NAN);
    const bool down = c.value("target_unreachable", false);
    std::string verdict;
    const char* cls = "pass";
    if (down) {
      cls = "fail";
      verdict = fmt::format(
          "Capacity unknown{}: the target answered no request at {} requests/s (every one "
          "failed); it is down or unreachable",
          where.empty() ? "" : " at " + where, num(json_number(c, "unanswered_rate", NAN), 0));
    } else if (!std::isfinite(good)) {
      cls = "fail";
      verdict = fmt::format("No capacity{}: no step held the SLO, down to {} requests/s",
                            where.empty() ? "" : " at " + where, num(bad, 0));
    } else {
      verdict = fmt::format(
          "Capacity{}: {} requests/s achieved (p99 {} ms) at {} requests/s offered, the highest "
          "offered rate within the SLO; {}",
          where.empty() ? "" : " at " + where, num(json_number(c, "capacity_rps", NAN)),
          num(json_number(c, "p99_ms", NAN), 3), num(good, 0),
          std::isfinite(bad) ? "the lowest beyond it: " + num(bad, 0) + " requests/s"
                             : "no step broke it (the search ended at max_rate or max_steps)");
    }
    out += fmt::format("<div class=\"banner {}\">{} &mdash; {} step{}</div>\n", cls, verdict,
                       num(json_number(c, "steps", NAN), 0),
                       json_number(c, "steps", 0) == 1 ? "" : "s");
    out +=
        "<table class=\"narrow\"><tr><th>step</th><th>offered rps</th><th>achieved rps</th>"
        "<th>p99 ms</th><th>error %</th><th>SLO</th></tr>\n";
    const auto& mine = i < steps.size() ? steps[i] : std::vector<const json*>{};
    for (size_t k = 0; k < mine.size(); ++k) {
      const json& p = *mine[k];
      const double offered = json_number(p, "offered_rps", NAN);
      // A step held the SLO exactly when its rate is at most the highest good one (the search
      // only bisects between a passing and a failing rate).
      const bool held = !down && std::isfinite(good) && offered <= good + 1e-9;
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td>"
          "</tr>\n",
          k + 1, num(offered, 0), num(json_number(p, "throughput_rps", NAN)), num(p99_of(p), 3),
          num(100 * json_number(p, "error_rate", NAN), 2), held ? "ok" : "bad",
          held   ? "held"
          : down ? "no response"
                 : "broken");
    }
    out += "</table>\n";
    ++i;
  }
  return out + "</section>\n";
}

std::string latency_throughput_chart(const json& s) {
  LineChart c{};
  c.title = "Latency vs throughput";
  c.x.label = "throughput (requests/s)";
  c.y.label = "p99 latency (ms)";
  if (has_capacity(s)) {
    // One curve per search (per instance count): the same target under rising load.
    const auto steps = steps_per_search(s);
    for (size_t i = 0; i < steps.size(); ++i) {
      std::vector<const json*> pts = steps[i];
      std::sort(pts.begin(), pts.end(), [](const json* a, const json* b) {
        return json_number(*a, "offered_rps", 0) < json_number(*b, "offered_rps", 0);
      });
      ChartSeries series;
      const std::string where = search_title(s["capacity"][i]);
      series.name = where.empty() ? "p99 per step (by offered rate)" : where;
      series.markers = true;
      for (const json* p : pts) {
        series.x.push_back(json_number(*p, "throughput_rps", NAN));
        series.y.push_back(p99_of(*p));
      }
      c.series.push_back(std::move(series));
    }
  } else {
    // A rates sweep is one target under rising load: a curve. The phases of an
    // agents or instances sweep are different set-ups: points, never one line.
    const json& w = s.contains("workload") ? s["workload"] : json::object();
    const bool rates = w.contains("sweep") && w["sweep"].is_object() &&
                       w["sweep"].contains("rates") && w["sweep"]["rates"].is_array() &&
                       !w["sweep"]["rates"].empty();
    ChartSeries series;
    series.name = rates ? "p99 per offered rate" : "p99 per phase (each point its own set-up)";
    series.markers = true;
    series.line = rates;
    for (const auto& p : phases_of(s)) {
      series.x.push_back(json_number(p, "throughput_rps", NAN));
      series.y.push_back(p99_of(p));
      const double offered = json_number(p, "offered_rps", NAN);
      series.point_labels.push_back(std::isfinite(offered) ? "offered " + tick_label(offered)
                                                           : json_string(p, "name"));
    }
    c.series.push_back(std::move(series));
  }
  c.height = 340;
  return render_line_chart(c);
}

}  // namespace horde
