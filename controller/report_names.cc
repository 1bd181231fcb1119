#include "controller/report_names.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <utility>

#include "controller/interval_log.h"
#include "controller/name_results.h"
#include "controller/report_sections.h"
#include "controller/report_util.h"
#include "controller/result_figures.h"

namespace horde {

namespace {

using nlohmann::json;
using report::axis;
using report::esc;
using report::line_chart;
using report::num;

std::vector<std::string> names_of(const ReportInput& in) {
  return request_names_of(in.summary.contains("workload") ? in.summary["workload"] : json());
}

const json& totals_by_name(const ReportInput& in) {
  static const json none = json::object();
  if (!in.summary.contains("totals") || !in.summary["totals"].is_object()) return none;
  const json& t = in.summary["totals"];
  return t.contains("requests_by_name") && t["requests_by_name"].is_object() ? t["requests_by_name"]
                                                                             : none;
}

std::string chart(const ReportInput& in, const NameTimeline& tl, bool p99) {
  LineChart c = line_chart(
      p99 ? "p99 per request name, per interval" : "p50 per request name, per interval",
      axis("run time (s)"), axis("latency (ms, log scale)", AxisScale::kLog), phase_markers(in));
  for (size_t k = 0; k < tl.series.size(); ++k) {
    const auto& values = p99 ? tl.p99_ms[k] : tl.p50_ms[k];
    ChartSeries s;
    s.name = tl.series[k];
    s.color = k < kMostNames ? palette_color(k) : "#9aa5b4";
    for (size_t i = 0; i < in.intervals.size(); ++i) {
      const auto& r = in.intervals[i];
      if (i > 0 && r.phase != in.intervals[i - 1].phase) {
        s.x.push_back(r.run_time_s);
        s.y.push_back(NAN);
      }
      s.x.push_back(r.run_time_s);
      s.y.push_back(values[i]);
    }
    c.series.push_back(std::move(s));
  }
  c.height = 300;
  return render_line_chart(c);
}

std::string table(const std::vector<std::string>& names, const json& by_name) {
  double all = 0;
  for (const auto& n : names) all += by_name.contains(n) ? json_number(by_name[n], "requests") : 0;
  std::string out =
      "<table><tr><th>request</th><th>requests</th><th>share</th><th>errors</th>"
      "<th>error %</th><th>throughput rps</th><th>mean ms</th><th>p50 ms</th><th>p90 ms</th>"
      "<th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>\n";
  for (const auto& n : names) {
    const json& e = by_name.contains(n) ? by_name[n] : json::object();
    const json& l = e.contains("latency_ms") ? e["latency_ms"] : json::object();
    const double requests = json_number(e, "requests", NAN);
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        esc(n), num(requests, 0), num(all > 0 ? 100 * requests / all : NAN),
        num(json_number(e, "errors", NAN), 0), num(100 * json_number(e, "error_rate", NAN), 2),
        num(json_number(e, "throughput_rps", NAN)), num(json_number(l, "mean", NAN), 3),
        num(json_number(l, "p50", NAN), 3), num(json_number(l, "p90", NAN), 3),
        num(json_number(l, "p99", NAN), 3), num(json_number(l, "p999", NAN), 3),
        num(json_number(l, "max", NAN), 3));
  }
  return out + "</table>\n";
}

}  // namespace

Result<NameTimeline> name_timeline(const ReportInput& in, const std::string& results_dir) {
  const auto names = names_of(in);
  NameTimeline tl;
  if (names.size() < 2) return tl;
  // Most requests first; the workload's order among equals.
  const json& by_name = totals_by_name(in);
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  const auto requests = [&](size_t i) {
    return by_name.contains(names[i]) ? json_number(by_name[names[i]], "requests") : 0.0;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests(a) > requests(b); });
  // One name over the cap is drawn as itself: "the other 1 names" would hide it for nothing.
  const size_t own = names.size() <= kMostNames + 1 ? names.size() : kMostNames;
  std::vector<size_t> series_of(names.size());
  for (size_t rank = 0; rank < order.size(); ++rank) {
    series_of[order[rank]] = std::min(rank, own);
    if (rank < own) tl.series.push_back(names[order[rank]]);
  }
  if (own < names.size())
    tl.series.push_back(fmt::format("the other {} names", names.size() - own));

  using Point = std::pair<double, double>;  // p50, p99 in ms
  std::map<std::pair<uint32_t, uint32_t>, std::vector<Point>> by_interval;
  const auto read = scan_interval_log(
      (std::filesystem::path(results_dir) / "intervals.jsonl").string(), nullptr,
      [&](LoggedInterval& li) {
        std::vector<Point> points(tl.series.size(), {NAN, NAN});
        const auto point = [](const Histogram& h) {
          return Point{ms(h.value_at_percentile(50)), ms(h.value_at_percentile(99))};
        };
        Histogram rest;
        for (const auto& [index, stats] : li.names) {
          if (index >= names.size() || stats.latency.empty()) continue;
          if (series_of[index] < own) {
            points[series_of[index]] = point(stats.latency);
          } else {
            rest.add(stats.latency);
          }
        }
        if (!rest.empty()) points.back() = point(rest);
        by_interval[{li.row.phase, li.row.interval}] = std::move(points);
      });
  if (!read) return read.error();
  tl.p50_ms.assign(tl.series.size(), {});
  tl.p99_ms.assign(tl.series.size(), {});
  for (const auto& r : in.intervals) {
    const auto it = by_interval.find({r.phase, r.interval});
    for (size_t k = 0; k < tl.series.size(); ++k) {
      const bool shown = !r.warmup && it != by_interval.end();
      tl.p50_ms[k].push_back(shown ? it->second[k].first : NAN);
      tl.p99_ms[k].push_back(shown ? it->second[k].second : NAN);
    }
  }
  return tl;
}

std::string names_section(const ReportInput& in, const std::string& results_dir) {
  const auto names = names_of(in);
  if (names.size() < 2) return "";
  std::string out = "<section><h2>Requests by name</h2>\n";
  const auto tl = name_timeline(in, results_dir);
  if (!tl) {
    out += "<p class=\"note\">Latency per name over time is left out: " + esc(tl.error().message) +
           "</p>\n";
  } else {
    out += chart(in, *tl, true) + chart(in, *tl, false);
    out += fmt::format(
        "<p class=\"note\">Each point is the name's own percentile in that measured interval, "
        "from its histogram (exact, not an average of percentiles); a gap is an interval "
        "without a request of that name.{}</p>\n",
        tl->series.size() < names.size()
            ? fmt::format(" The {} names with the most requests get a line each; the other {} "
                          "are one line, their histograms added.",
                          tl->series.size() - 1, names.size() - tl->series.size() + 1)
            : std::string());
  }
  const json& by_name = totals_by_name(in);
  if (!by_name.empty()) {
    out += table(names, by_name);
    out +=
        "<p class=\"note\">Over all measured phases; each phase's own figures are in "
        "summary.json (phases[].requests_by_name).</p>\n";
  }
  return out + "</section>\n";
}

}  // namespace horde
