#include "controller/report_backends.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "controller/backend_results.h"
#include "controller/svg_chart.h"

namespace horde {

namespace {

constexpr size_t kMostSeries = 12;  // further backends are drawn together as "the rest"

}  // namespace

std::string backends_section(const nlohmann::json& summary, const std::string& results_dir) {
  if (!summary.contains("phases") || !summary["phases"].is_array()) return "";
  const auto rows =
      read_backends_csv((std::filesystem::path(results_dir) / "backends.csv").string());
  std::string out;
  for (const auto& phase : summary["phases"]) {
    if (!phase.contains("backends") || !phase["backends"].is_array()) continue;
    const auto& backends = phase["backends"];
    const uint32_t index = phase.value("index", 0u);
    const std::string name = phase.value("name", std::string("phase"));
    if (backends.size() == 1) {
      out += fmt::format("<p class=\"note\">{}: one backend answered everything ({}).</p>\n",
                         xml_escape(name), xml_escape(backends[0].value("id", std::string())));
      continue;
    }
    if (backends.size() < 2) continue;
    // The largest backends get a series each.
    std::vector<std::pair<double, std::string>> by_size;
    for (const auto& b : backends) {
      by_size.emplace_back(b.value("requests", 0.0), b.value("id", std::string()));
    }
    std::sort(by_size.rbegin(), by_size.rend());
    std::map<std::string, size_t> series_of;
    for (size_t i = 0; i < by_size.size(); ++i) {
      series_of[by_size[i].second] = std::min(i, kMostSeries);
    }
    const size_t series_count = std::min(by_size.size(), kMostSeries + 1);
    // Per interval: each series' requests and the interval's total.
    std::map<double, std::pair<std::vector<double>, double>> per_time;
    for (const BackendCsvRow& r : rows) {
      if (r.phase != index || r.warmup) continue;
      auto& [counts, total] = per_time[r.time_s];
      counts.resize(series_count, 0);
      const auto it = series_of.find(r.backend);
      counts[it == series_of.end() ? series_count - 1 : it->second] += r.requests;
      total += r.requests;
    }
    LineChart chart;
    chart.title = "Share of requests per backend: " + name;
    chart.x.label = "time in phase (s)";
    chart.y.label = "share of the interval's requests (%)";
    chart.y.min = 0;
    chart.y.max = 100;
    chart.height = 260;
    for (size_t k = 0; k < series_count; ++k) {
      ChartSeries s;
      s.name = k < kMostSeries && k < by_size.size() ? by_size[k].second : "the rest";
      for (const auto& [t, v] : per_time) {
        s.x.push_back(t);
        s.y.push_back(v.second > 0 ? 100.0 * v.first[k] / v.second : NAN);
      }
      chart.series.push_back(std::move(s));
    }
    out += render_line_chart(chart);
    out +=
        "<table><tr><th>backend</th><th>requests</th><th>errors</th><th>share</th>"
        "<th>p99 ms</th></tr>\n";
    for (const auto& b : backends) {
      out +=
          fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</td><td>{:.3f}</td></tr>\n",
                      xml_escape(b.value("id", std::string())), b.value("requests", 0ull),
                      b.value("errors", 0ull), 100.0 * b.value("share", 0.0),
                      b.contains("latency_ms") ? b["latency_ms"].value("p99", 0.0) : 0.0);
    }
    out += "</table>\n";
    if (phase.contains("spread") && phase["spread"].is_object()) {
      out += fmt::format(
          "<p class=\"note\">{} backends, max share {:.1f}%, imbalance {:.2f} "
          "(max share / mean share; 1 is even).</p>\n",
          phase["spread"].value("backends", 0), 100.0 * phase["spread"].value("max_share", 0.0),
          phase["spread"].value("imbalance", 0.0));
    }
  }
  if (out.empty()) return "";
  return "<section><h2>Where the load went</h2>\n" + out + "</section>\n";
}

}  // namespace horde
