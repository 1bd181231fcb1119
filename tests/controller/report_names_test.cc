// report.html's "Requests by name": from a results directory written the way a
// run writes it (PhaseAccumulator, write_results, IntervalLog), each name's
// p50/p99 per interval is checked against its histogram computed here, the
// names past kMostNames against their histograms added, the gaps and warm-up
// against NaN, and the page for the charts, the table and no external resource.
#include "controller/report_names.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "controller/interval_log.h"
#include "controller/phase_accumulator.h"
#include "controller/report_html.h"
#include "controller/result_figures.h"
#include "controller/results.h"

namespace horde {
namespace report_names_test {

namespace fs = std::filesystem;
using nlohmann::json;

using Key = std::tuple<uint32_t, uint32_t, uint32_t>;  // phase, interval, name

struct Written {
  std::string dir;
  std::vector<std::string> names;
  std::map<Key, Histogram> truth;  // each name's histogram per interval
};

// Two phases of 6 intervals (the first a warm-up); name k sends 10 (n - k) requests an
// interval, (k + 1) times slower than name 0; name 0 sends nothing in interval 3 of phase 1.
Written write_named_results(size_t n, const std::string& tag) {
  Written w;
  w.dir = (fs::temp_directory_path() / ("horde_report_names_" + std::to_string(::getpid()) + tag))
              .string();
  fs::remove_all(w.dir);
  fs::create_directories(w.dir);
  json requests = json::array();
  for (size_t k = 0; k < n; ++k) {
    w.names.push_back("name-" + std::to_string(k));
    requests.push_back({{"name", w.names.back()}, {"path", "/" + std::to_string(k)}});
  }
  RunResult r;
  r.run_id = "names" + tag;
  r.workload = {{"name", "named <demo>"}, {"requests", requests}};
  IntervalLog log;
  EXPECT_TRUE(log.open(w.dir + "/intervals.jsonl").ok());
  PhaseTiming timing;
  timing.interval_s = 1;
  timing.total_s = 6;
  timing.intervals = 6;
  timing.warmup_intervals = 1;
  for (uint32_t p = 0; p < 2; ++p) {
    PhaseAccumulator acc(p, "phase" + std::to_string(p), std::nullopt);
    for (uint32_t i = 0; i < timing.intervals; ++i) {
      Counters counters;
      Histogram latency;
      ByName names;
      for (uint32_t k = 0; k < n; ++k) {
        if (k == 0 && p == 1 && i == 3) continue;
        NameStats& s = names[k];
        const uint64_t count = 10 * (n - k);
        for (uint64_t j = 0; j < count; ++j) {
          s.latency.record(static_cast<int64_t>((k + 1) * (1000 + 37 * j + 100 * i + 500 * p)));
        }
        s.counters.requests = count;
        counters.requests += count;
        latency.add(s.latency);
        w.truth[{p, i, k}] = s.latency;
      }
      const bool warmup = i < timing.warmup_intervals;
      IntervalRow row = acc.row(timing, i, warmup, 1, counters, latency, 0);
      log.append(row, latency, r.run_id, {}, names);
      acc.add(std::move(row), latency, {}, names);
    }
    r.phases.push_back(acc.finish(timing.planned_measured_s(), false));
  }
  EXPECT_TRUE(write_results(r, w.dir).ok());
  return w;
}

size_t count(const std::string& s, const std::string& what) {
  size_t k = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++k;
  return k;
}

TEST(ReportNames, EachNamesPercentilesPerIntervalAreItsOwnHistograms) {
  const auto w = write_named_results(3, "_three");
  auto in = load_report_input(w.dir);
  ASSERT_TRUE(in.ok()) << in.error().message;
  ASSERT_EQ(in->intervals.size(), 12u);
  const auto tl = name_timeline(*in, w.dir);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_EQ(tl->series, w.names);  // name 0 sends the most, name 2 the least
  size_t checked = 0, gaps = 0;
  for (size_t row = 0; row < in->intervals.size(); ++row) {
    const auto& r = in->intervals[row];
    for (uint32_t k = 0; k < 3; ++k) {
      const double p99 = tl->p99_ms[k][row], p50 = tl->p50_ms[k][row];
      const auto it = w.truth.find({r.phase, r.interval, k});
      if (r.warmup || it == w.truth.end()) {
        EXPECT_TRUE(std::isnan(p99) && std::isnan(p50)) << row << " " << k;
        gaps += r.warmup ? 0 : 1;
        continue;
      }
      EXPECT_DOUBLE_EQ(p99, ms(it->second.value_at_percentile(99))) << row << " " << k;
      EXPECT_DOUBLE_EQ(p50, ms(it->second.value_at_percentile(50))) << row << " " << k;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2u * 5 * 3 - 1);
  EXPECT_EQ(gaps, 1u);

  auto page = render_report(w.dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  EXPECT_NE(html.find("<h2>Requests by name</h2>"), std::string::npos);
  EXPECT_NE(html.find(">p99 per request name, per interval</text>"), std::string::npos);
  EXPECT_NE(html.find(">p50 per request name, per interval</text>"), std::string::npos);
  // The table: every name with its requests over both measured phases, 10 (3 - k) x 5 x 2
  // (name 0 less the 30 of the interval it sat out).
  EXPECT_NE(html.find("<tr><td>name-0</td><td>270</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>name-1</td><td>200</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>name-2</td><td>100</td>"), std::string::npos);
  EXPECT_EQ(html.find("the other"), std::string::npos);
  for (const char* banned : {"<script", "<link", "src=", "href=", "url(", "http://", "https://"}) {
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  }
  EXPECT_EQ(count(html, "<svg"), count(html, "</svg>"));
  EXPECT_EQ(count(html, "<section"), count(html, "</section>"));
  if (!std::getenv("HORDE_KEEP_REPORT")) {
    fs::remove_all(w.dir);
  } else {
    ASSERT_TRUE(write_report(w.dir).ok());
  }
}

TEST(ReportNames, NamesPastTheCapAreOneLineOfTheirHistogramsAdded) {
  const size_t n = kMostNames + 3;
  const auto w = write_named_results(n, "_many");
  auto in = load_report_input(w.dir);
  ASSERT_TRUE(in.ok()) << in.error().message;
  const auto tl = name_timeline(*in, w.dir);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  ASSERT_EQ(tl->series.size(), kMostNames + 1);
  EXPECT_EQ(tl->series.back(), "the other 3 names");
  for (size_t row = 0; row < in->intervals.size(); ++row) {
    const auto& r = in->intervals[row];
    if (r.warmup) continue;
    Histogram rest;
    for (uint32_t k = kMostNames; k < n; ++k) rest.add(w.truth.at({r.phase, r.interval, k}));
    EXPECT_DOUBLE_EQ(tl->p99_ms.back()[row], ms(rest.value_at_percentile(99))) << row;
  }
  auto page = render_report(w.dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_NE(page->find("the other 3 names"), std::string::npos);
  // The table still lists every name.
  EXPECT_NE(page->find("<tr><td>name-10</td>"), std::string::npos);
  fs::remove_all(w.dir);
}

TEST(ReportNames, OneNameHasNoSectionAndABadLogIsANote) {
  const auto one = write_named_results(1, "_one");
  auto page = render_report(one.dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->find("Requests by name"), std::string::npos);
  fs::remove_all(one.dir);

  const auto two = write_named_results(2, "_bad");
  {
    std::ofstream f(two.dir + "/intervals.jsonl", std::ios::app);
    f << "{\"phase\": 0, \"interval\": \"x\"}\n{\"torn\":";  // a bad line, then a torn one
  }
  page = render_report(two.dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_NE(page->find("Latency per name over time is left out: "), std::string::npos);
  EXPECT_NE(page->find("intervals.jsonl:13: "), std::string::npos) << *page;
  EXPECT_NE(page->find("<tr><td>name-1</td>"), std::string::npos);  // the table from summary.json
  fs::remove_all(two.dir);
}

}  // namespace report_names_test
}  // namespace horde
