// report.html for a capacity search (issue 17 items 3 and 9): the results are
// made by the real sweep planner driving a fake target of known capacity (400
// requests/s per instance) over an instances sweep [1, 2], written by
// write_results, and rendered. Checked: the search's banner, bracket and steps;
// the header says open loop, not the file's "closed loop, 32 connections";
// latency vs throughput is one curve per instance count; the footer says what
// open loop measures; agents by name; coinciding p50/p99/max stay visible. And
// headless Chromium renders it (HORDE_KEEP_REPORT=1 keeps report.png to look at).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/workload.h"
#include "controller/report_html.h"
#include "controller/results.h"
#include "controller/sweep_plan.h"
#include "tests/controller/chromium.h"

namespace horde {
namespace report_capacity_test {

namespace fs = std::filesystem;

constexpr double kPerInstance = 400;

PhaseResult fake_step(const PhaseSpec& spec, uint32_t index) {
  const double offered = spec.workload.load.rate;
  const double capacity = kPerInstance * spec.instances;
  const bool over = offered > capacity;
  PhaseResult r;
  r.index = index;
  r.name = spec.name;
  r.duration_s = 10;
  r.offered_rps = offered;
  r.counters.requests = static_cast<uint64_t>(std::llround((over ? capacity : offered) * 10));
  r.counters.status_codes[200] = r.counters.requests;
  r.latency.record_n(over ? 400'000 : 3'000, r.counters.requests);
  for (uint32_t k = 0; k < 10; ++k) {
    IntervalRow row;
    row.phase = index;
    row.interval = k;
    row.time_s = k + 1;
    row.agents = 3;
    row.counters.requests = r.counters.requests / 10;
    row.duration_s = 1;
    // One latency for every request: p50 = p99 = max, the case the chart must still show.
    row.p50_us = row.p99_us = row.max_us = over ? 400'000 : 3'000;
    r.intervals.push_back(row);
  }
  return r;
}

std::string make_capacity_results() {
  const std::string dir =
      (fs::temp_directory_path() / ("horde_report_capacity_" + std::to_string(::getpid())))
          .string();
  fs::remove_all(dir);
  auto parsed = parse_workload(
      "name: search\n"
      "targets: [http://127.0.0.1:8081/, http://127.0.0.1:8082/]\n"
      "load: {mode: closed, connections: 32, max_connections: 64}\n"
      "sweep: {instances: [1, 2]}\n"
      "capacity: {slo: [\"p99 < 100ms\"], start_rate: 100, factor: 2, precision: 0.05}\n",
      "search.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  auto w = finalize_workload(*parsed, "search.yaml");
  EXPECT_TRUE(w.ok()) << w.error().message;
  SweepPlanner planner(*w, 3);
  RunResult r;
  r.run_id = "20261201-120000-cap";
  r.workload = to_json(*w);
  while (auto spec = planner.next(r.phases)) {
    r.phases.push_back(fake_step(*spec, static_cast<uint32_t>(r.phases.size())));
  }
  r.capacity = planner.capacity();
  r.scalability = planner.scalability();
  r.scalability_passed = planner.passed();
  // Joined in this order; the report shows them by name.
  for (const char* name : {"local-3", "local-1", "local-2"}) {
    r.agents.push_back({name, "host", 2, 1, 1000, 0, false, "", -1});
  }
  EXPECT_TRUE(write_results(r, dir).ok());
  return dir;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(ReportCapacity, ShowsTheSearchItsVerdictAndOpenLoop) {
  const std::string dir = make_capacity_results();
  auto page = render_report(dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  EXPECT_NE(html.find("<h2>Capacity search</h2>"), std::string::npos);
  // The planner's own result: at 1 instance 100, 200, 400 pass, 800 fails, bisection to 425.
  const auto summary = nlohmann::json::parse(std::ifstream(dir + "/summary.json"));
  const auto& c0 = summary["capacity"][0];
  EXPECT_EQ(c0["highest_good_rate"], 400.0);
  EXPECT_NE(html.find("Capacity at 1 instance: 400.0 requests/s achieved (p99 3.000 ms) at 400 "
                      "requests/s offered, the highest offered rate within the SLO; the lowest "
                      "beyond it: " +
                      fmt::format("{:.0f}", c0["lowest_bad_rate"].get<double>()) +
                      " requests/s &mdash; " + std::to_string(c0["steps"].get<int>()) + " steps"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Capacity at 2 instances: 800.0 requests/s"), std::string::npos);
  // Every step in a table: as many rows marked held or broken as phases.
  EXPECT_EQ(count(html, ">held</td>") + count(html, ">broken</td>"), summary["phases"].size());
  // The header: the search ran open loop, whatever the file's mode said.
  EXPECT_NE(html.find("open loop at searched rates (capacity search from 100 requests/s"),
            std::string::npos);
  EXPECT_EQ(html.find("closed loop, 32 connections"), std::string::npos);
  // Latency vs throughput: one curve per instance count, named so in the legend.
  const auto lt = html.find("Latency vs throughput");
  ASSERT_NE(lt, std::string::npos);
  const std::string chart = html.substr(lt, html.find("</svg>", lt) - lt);
  EXPECT_NE(chart.find(">1 instance<"), std::string::npos) << chart;
  EXPECT_NE(chart.find(">2 instances<"), std::string::npos) << chart;
  // The footer says what open loop measures (not the closed-loop sentence).
  EXPECT_NE(html.find("Open loop: latency is measured from each request's intended send time"),
            std::string::npos);
  EXPECT_EQ(html.find("Closed loop:"), std::string::npos);
  // Agents by name.
  const auto a1 = html.find(">local-1<"), a2 = html.find(">local-2<"), a3 = html.find(">local-3<");
  ASSERT_NE(a1, std::string::npos);
  EXPECT_LT(a1, a2);
  EXPECT_LT(a2, a3);
  // p50 = p99 = max in every interval: said, and drawn so each shows.
  EXPECT_NE(html.find("two or all of p50, p99 and max are equal"), std::string::npos);
  EXPECT_NE(html.find(">p99 (dashed)<"), std::string::npos);
  EXPECT_NE(html.find(">max (points)<"), std::string::npos);
  if (!std::getenv("HORDE_KEEP_REPORT")) fs::remove_all(dir);
}

TEST(ReportCapacity, ScreenshotInHeadlessChromium) {
  if (!fs::exists("/usr/bin/chromium")) {
    GTEST_SKIP() << "/usr/bin/chromium is missing (apt-get install chromium)";
  }
  const std::string dir = make_capacity_results();
  ASSERT_TRUE(write_report(dir).ok());
  const std::string png = dir + "/report.png";
  const auto rendered = testing::render_in_chromium(dir + "/report.html", png, 1280, 3600);
  ASSERT_TRUE(rendered.ok) << rendered.why;
  EXPECT_TRUE(rendered.page_requests.empty()) << rendered.page_requests.front();
  EXPECT_GT(fs::file_size(png), 50'000u);  // a blank page is a few kB
  if (!std::getenv("HORDE_KEEP_REPORT")) fs::remove_all(dir);
}

}  // namespace report_capacity_test
}  // namespace horde
