#include "controller/report_sections.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "controller/report_util.h"
#include "controller/svg_chart.h"

namespace horde {

namespace {

using nlohmann::json;

using report::axis;
using report::esc;
using report::line_chart;
using report::num;

// The sections share these: the summary's phases and a name per phase index.
std::string phase_name(const json& summary, uint32_t index) {
  if (summary.contains("phases") && summary["phases"].is_array()) {
    for (const auto& p : summary["phases"]) {
      if (json_number(p, "index", -1) == index) return json_string(p, "name");
    }
  }
  return fmt::format("phase {}", index);
}

}  // namespace

std::string header_section(const ReportInput& in) {
  const json& s = in.summary;
  const json& w = s.contains("workload") ? s["workload"] : json::object();
  std::string out =
      fmt::format("<h1>horde report &mdash; {}</h1>\n<div class=\"sub\">run {}</div>\n",
                  esc(json_string(w, "name").empty() ? "workload" : json_string(w, "name")),
                  esc(json_string(s, "run_id")));
  const bool aborted = s.value("aborted", false), incomplete = s.value("incomplete", false);
  if (aborted || incomplete) {
    out += fmt::format(
        "<div class=\"banner warn\">&#9888; {} run: {}. The figures below cover only what was "
        "measured.</div>\n",
        incomplete ? "Incomplete" : "Aborted",
        esc(json_string(s, "abort_reason").empty() ? "no reason recorded"
                                                   : json_string(s, "abort_reason")));
  }
  std::vector<std::string> failed;
  size_t count = 0;
  if (s.contains("thresholds") && s["thresholds"].is_array()) {
    for (const auto& t : s["thresholds"]) {
      ++count;
      if (!t.is_object() || !t.contains("passed") || !t["passed"].is_boolean() ||
          !t["passed"].get<bool>()) {
        failed.push_back(json_string(t, "threshold"));
      }
    }
  }
  const bool has_scal = s.contains("scalability") && s["scalability"].is_object();
  if (has_scal && !s["scalability"].value("passed", true)) {
    failed.push_back("scaling efficiency below the required minimum");
  }
  if ((count > 0 || has_scal) && (aborted || incomplete)) {
    // What a run that did not complete measured proves nothing either way.
    out += fmt::format(
        "<div class=\"banner warn\">NOT JUDGED: the run did not complete, no check is passed or "
        "failed &mdash; exit code {}</div>\n",
        static_cast<int>(json_number(s, "exit_code", 3)));
  } else if (count > 0 || has_scal) {
    std::string what;
    for (const auto& f : failed) what += (what.empty() ? "" : "; ") + esc(f);
    out += fmt::format("<div class=\"banner {}\">{} &mdash; exit code {}</div>\n",
                       failed.empty() ? "pass" : "fail",
                       failed.empty() ? std::string("PASS: every check holds") : "FAIL: " + what,
                       static_cast<int>(json_number(s, "exit_code", failed.empty() ? 0 : 1)));
  }
  out += "<section><dl class=\"meta\">";
  std::string targets;
  if (w.contains("targets") && w["targets"].is_array()) {
    for (const auto& t : w["targets"]) {
      if (t.is_string()) targets += (targets.empty() ? "" : ", ") + esc(t.get<std::string>());
    }
  }
  out +=
      fmt::format("<dt>target{}</dt><dd>{}</dd>", targets.find(',') != std::string::npos ? "s" : "",
                  targets.empty() ? "&ndash;" : targets);
  const json& load = w.contains("load") ? w["load"] : json::object();
  if (w.contains("capacity") && w["capacity"].is_object()) {
    // The search sets every step's rate: whatever the file's mode, it ran open loop.
    const json& c = w["capacity"];
    out += fmt::format(
        "<dt>load</dt><dd>open loop at searched rates (capacity search from {} requests/s{}), "
        "{} connection{} at the start{}</dd>",
        num(json_number(c, "start_rate", NAN), 0),
        c.contains("max_rate") ? ", at most " + num(json_number(c, "max_rate", NAN), 0) : "",
        num(json_number(load, "connections", NAN), 0),
        json_number(load, "connections", 0) == 1 ? "" : "s",
        json_number(load, "max_connections", 0) > 0
            ? ", up to " + num(json_number(load, "max_connections", NAN), 0)
            : "");
  } else {
    out += fmt::format("<dt>load</dt><dd>{} loop{}{}</dd>", esc(json_string(load, "mode")),
                       load.contains("connections") && load["connections"].is_number()
                           ? fmt::format(", {} connections", load["connections"].get<int64_t>())
                           : "",
                       load.contains("rate") && load["rate"].is_number()
                           ? fmt::format(", {} requests/s offered", load["rate"].get<double>())
                           : "");
  }
  const size_t agents = s.contains("agents") && s["agents"].is_array() ? s["agents"].size() : 0;
  out += fmt::format("<dt>agents</dt><dd>{}</dd>", agents);
  if (in.hlog_intervals > 0) {
    out += fmt::format("<dt>latency.hlog</dt><dd>{} intervals, {} samples</dd>", in.hlog_intervals,
                       in.hlog_samples);
  } else if (!in.hlog_error.empty()) {
    out += fmt::format("<dt>latency.hlog</dt><dd>unreadable: {}</dd>", esc(in.hlog_error));
  }
  out += "</dl>\n";
  if (count > 0) {
    out +=
        "<h2 style=\"margin-top:14px\">Thresholds</h2><table "
        "class=\"narrow\"><tr><th>threshold</th>"
        "<th>observed</th><th>result</th></tr>\n";
    for (const auto& t : s["thresholds"]) {
      const std::string result = json_string(t, "result");
      const bool judged = !(aborted || incomplete) && result != "not judged" &&
                          t.contains("observed") && t["observed"].is_number();
      const bool p =
          judged && t.contains("passed") && t["passed"].is_boolean() && t["passed"].get<bool>();
      // Observed in the threshold's unit when summary.json has it (older ones: ms).
      std::string observed = "&ndash;";
      if (judged) {
        const std::string unit = json_string(t, "unit");
        observed = t.contains("observed_in_unit") && t["observed_in_unit"].is_number()
                       ? num(json_number(t, "observed_in_unit", NAN), 3) + (unit.empty() ? ""
                                                                            : unit == "%"
                                                                                ? "%"
                                                                                : " " + esc(unit))
                       : num(json_number(t, "observed", NAN), 3);
      }
      std::string why = json_string(t, "not_judged");
      if (why.empty()) why = "the run did not complete";
      out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
                         esc(json_string(t, "threshold")), observed,
                         !judged ? ""
                         : p     ? "ok"
                                 : "bad",
                         !judged ? "not judged: " + esc(why)
                         : p     ? "PASS"
                                 : "FAIL");
    }
    out += "</table>\n";
  }
  if (s.contains("warnings") && s["warnings"].is_array() && !s["warnings"].empty()) {
    out += "<h2 style=\"margin-top:14px\">Warnings</h2><ul>";
    for (const auto& wn : s["warnings"]) {
      if (wn.is_string()) out += "<li>" + esc(wn.get<std::string>()) + "</li>";
    }
    out += "</ul>\n";
  }
  return out + "</section>\n";
}

std::string totals_section(const json& s) {
  std::string out =
      "<section><h2>Totals</h2><table><tr><th>phase</th><th>offered rps</th><th>throughput "
      "rps</th><th>requests</th><th>errors</th><th>error %</th><th>mean ms</th><th>p50 ms</th>"
      "<th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>\n";
  auto row = [&](const json& p, bool total) {
    const json& l = p.contains("latency_ms") ? p["latency_ms"] : json::object();
    out += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        total ? " class=\"total\"" : "", esc(json_string(p, "name")),
        num(json_number(p, "offered_rps", NAN)), num(json_number(p, "throughput_rps", NAN)),
        num(json_number(p, "requests", NAN), 0), num(json_number(p, "errors", NAN), 0),
        num(100 * json_number(p, "error_rate", NAN), 2), num(json_number(l, "mean", NAN), 3),
        num(json_number(l, "p50", NAN), 3), num(json_number(l, "p90", NAN), 3),
        num(json_number(l, "p99", NAN), 3), num(json_number(l, "p999", NAN), 3),
        num(json_number(l, "max", NAN), 3));
  };
  if (s.contains("phases") && s["phases"].is_array()) {
    for (const auto& p : s["phases"]) row(p, false);
  }
  if (s.contains("totals") && s["totals"].is_object()) row(s["totals"], true);
  return out + "</table></section>\n";
}

std::vector<ChartMarker> phase_markers(const ReportInput& in) {
  std::vector<ChartMarker> out;
  for (const auto& [phase, start] : in.phase_starts) {
    out.push_back({start, phase_name(in.summary, phase)});
  }
  return out;
}

namespace {

// A series over the run timeline; warm-up intervals and phase changes break the line.
ChartSeries timeline_series(const ReportInput& in, const std::string& name, bool warmup,
                            const std::function<double(const ReportInterval&)>& value) {
  ChartSeries s;
  s.name = name;
  for (size_t i = 0; i < in.intervals.size(); ++i) {
    const auto& r = in.intervals[i];
    if (i > 0 && r.phase != in.intervals[i - 1].phase)
      s.x.push_back(r.run_time_s), s.y.push_back(NAN);
    s.x.push_back(r.run_time_s);
    s.y.push_back(r.warmup == warmup ? value(r) : NAN);
  }
  s.markers = warmup;
  return s;
}

}  // namespace

std::string over_time_section(const ReportInput& in) {
  const auto markers = phase_markers(in);
  bool any_warmup = false;
  for (const auto& r : in.intervals) any_warmup |= r.warmup;
  std::string out = "<section><h2>Over time</h2>\n";

  LineChart tp = line_chart("Throughput per interval", axis("run time (s)"),
                            axis("throughput (requests/s)"), markers);
  tp.series.push_back(
      timeline_series(in, "measured", false, [](const ReportInterval& r) { return r.rps; }));
  if (any_warmup) {
    tp.series.push_back(timeline_series(in, "warm-up (excluded)", true,
                                        [](const ReportInterval& r) { return r.rps; }));
    tp.series.back().color = "#9aa5b4";
  }
  out += render_line_chart(tp);
  // Each `observe:` source under the throughput it went with, on the same time axis.
  // A summary rebuilt from intervals.jsonl has no workload (null).
  const json observe = in.summary.contains("workload") && in.summary["workload"].is_object()
                           ? in.summary["workload"].value("observe", json::array())
                           : json::array();
  for (const auto& src : observe) {
    const std::string name = json_string(src, "name");
    const std::string unit = json_string(src, "unit");
    LineChart oc = line_chart(name + " per interval (observed)", axis("run time (s)"),
                              axis(fmt::format("{} ({})", name, unit)), markers);
    oc.series.push_back(timeline_series(in, name, false, [&](const ReportInterval& r) {
      const auto it = r.observed.find(name);
      return it == r.observed.end() ? NAN : it->second;
    }));
    oc.series.back().color = "#2a9d8f";
    out += render_line_chart(oc);
  }

  LineChart lat = line_chart("Latency per interval", axis("run time (s)"),
                             axis("latency (ms, log scale)", AxisScale::kLog), markers);
  // Where p50, p99 and max are equal (a fast, even target) their lines lie on
  // each other: p99 is dashed over p50 and max drawn as points, so each shows.
  lat.series.push_back(
      timeline_series(in, "p50", false, [](const ReportInterval& r) { return r.p50_ms; }));
  lat.series.push_back(
      timeline_series(in, "p99 (dashed)", false, [](const ReportInterval& r) { return r.p99_ms; }));
  lat.series.back().dashed = true;
  lat.series.push_back(
      timeline_series(in, "max (points)", false, [](const ReportInterval& r) { return r.max_ms; }));
  lat.series.back().line = false;
  lat.series.back().markers = true;
  out += render_line_chart(lat);
  size_t equal = 0, measured = 0;
  for (const auto& r : in.intervals) {
    if (r.warmup || !std::isfinite(r.p50_ms)) continue;
    ++measured;
    equal += r.p50_ms == r.p99_ms || r.p99_ms == r.max_ms ? 1 : 0;
  }
  if (equal > 0) {
    out += fmt::format(
        "<p class=\"note\">In {} of {} intervals two or all of p50, p99 and max are equal: "
        "their lines coincide (p99 dashed over p50, max as points).</p>\n",
        equal, measured);
  }

  LineChart err = line_chart("Errors per interval", axis("run time (s)"),
                             axis("errors (count per interval)"), markers);
  double total_errors = 0;
  for (const auto& r : in.intervals) total_errors += r.warmup ? 0 : r.errors;
  std::map<std::string, double> class_totals;
  for (const auto& r : in.intervals) {
    for (const auto& [c, n] : r.errors_by_class) class_totals[c] += n;
  }
  if (in.have_error_classes && !class_totals.empty()) {
    for (const auto& [cls, n] : class_totals) {
      if (n <= 0) continue;
      ChartSeries s;
      s.name = cls;
      for (const auto& r : in.intervals) {
        const auto it = r.errors_by_class.find(cls);
        s.x.push_back(r.run_time_s);
        s.y.push_back(it == r.errors_by_class.end() ? 0 : it->second);
      }
      err.series.push_back(std::move(s));
    }
  }
  if (err.series.empty()) {
    ChartSeries s;
    s.name = "errors (all classes)";
    s.color = palette_color(1);
    for (const auto& r : in.intervals) s.x.push_back(r.run_time_s), s.y.push_back(r.errors);
    err.series.push_back(std::move(s));
  }
  err.height = 260;
  out += render_line_chart(err);
  if (total_errors == 0) out += "<p class=\"note\">No errors in the measured intervals.</p>\n";
  return out + "</section>\n";
}

std::string spectrum_section(const json& s) {
  LineChart c = line_chart("Latency by percentile", axis("percentile", AxisScale::kPercentile),
                           axis("latency (ms, log scale)", AxisScale::kLog));
  auto add = [&](const json& p, const std::string& name, bool dashed) {
    if (!p.contains("latency_spectrum") || !p["latency_spectrum"].is_array()) return;
    ChartSeries series;
    series.name = name;
    series.dashed = dashed;
    for (const auto& pt : p["latency_spectrum"]) {
      const double pc = json_number(pt, "percentile", NAN);
      if (!(pc < 100)) continue;  // 100% sits at infinity on this axis; max is in the table
      series.x.push_back(pc);
      series.y.push_back(json_number(pt, "ms", NAN));
    }
    c.series.push_back(std::move(series));
  };
  const size_t phases = s.contains("phases") && s["phases"].is_array() ? s["phases"].size() : 0;
  for (size_t i = 0; i < phases && i < 8; ++i)
    add(s["phases"][i], json_string(s["phases"][i], "name"), false);
  if (phases != 1 && s.contains("totals")) add(s["totals"], "all phases", true);
  c.height = 340;
  return "<section><h2>Latency spectrum</h2>\n" + render_line_chart(c) +
         "<p class=\"note\">Each step right is ten times rarer: 90% of requests were faster than "
         "the value at 90%, 99.9% faster than the value at 99.9%.</p></section>\n";
}

std::string agents_section(const json& s) {
  BarChart b;
  b.title = "Requests per agent";
  b.x_label = "agent";
  b.y_label = "requests (count)";
  b.legend = "requests completed (all phases)";
  if (s.contains("agents") && s["agents"].is_array()) {
    // By name, so two reports of the same set-up read alike (the roster is in joining order).
    std::vector<const json*> agents;
    for (const auto& a : s["agents"]) agents.push_back(&a);
    std::stable_sort(agents.begin(), agents.end(), [](const json* x, const json* y) {
      return json_string(*x, "name") < json_string(*y, "name");
    });
    for (const json* a : agents) {
      b.labels.push_back(json_string(*a, "name") +
                         (a->is_object() && a->value("lost", false) ? " (lost)" : ""));
      b.values.push_back(json_number(*a, "requests"));
    }
  }
  b.height = 260;
  return "<section><h2>Agents</h2>\n" + render_bar_chart(b) + "</section>\n";
}

}  // namespace horde
