// Tests for report.html: rendered from a results directory written by hand (an
// instance sweep with 4 phases, errors by class, a scalability block made by the
// analysis itself: capacity intervals, both fits, the verdict) and checked for every chart, the
// figures of the summary, no external resources, balanced markup; an aborted run gets its banner;
// and headless Chromium renders the page to a non-trivial screenshot.
#include "controller/report_html.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/histogram.h"
#include "controller/sweep_result.h"
#include "controller/verdict.h"
#include "tests/controller/chromium.h"

namespace horde {
namespace report_html_test {

namespace fs = std::filesystem;
using nlohmann::json;

std::string fmt_name(uint32_t i, double n) {
  return "phase " + std::to_string(i) + " (" + std::to_string(int(n)) + " instance" +
         (n == 1 ? "" : "s") + ")";
}

json spectrum(const Histogram& h) {
  json out = json::array();
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0}) {
    out.push_back(
        {{"percentile", p}, {"ms", double(p == 0 ? h.min() : h.value_at_percentile(p)) / 1000.0}});
  }
  return out;
}

json phase(uint32_t index, const std::string& name, double rps, double offered, int64_t base_us,
           uint64_t errors) {
  Histogram h;
  for (int i = 0; i < 5000; ++i)
    h.record(base_us + (i % 100) * base_us / 40 + (i % 997 == 0) * 40 * base_us);
  const double ms = 1000.0;
  return {{"index", index},
          {"name", name},
          {"requests", uint64_t(rps * 10)},
          {"errors", errors},
          {"error_rate", double(errors) / (rps * 10)},
          {"duration_s", 10.0},
          {"throughput_rps", rps},
          {"offered_rps", offered},
          {"latency_ms",
           {{"mean", h.mean() / ms},
            {"p50", h.value_at_percentile(50) / ms},
            {"p90", h.value_at_percentile(90) / ms},
            {"p99", h.value_at_percentile(99) / ms},
            {"p999", h.value_at_percentile(99.9) / ms},
            {"max", h.max() / ms}}},
          {"latency_spectrum", spectrum(h)}};
}

// A 4-step instance sweep: 1, 2, 4, 8 instances of a target with contention.
std::string make_results(bool aborted) {
  const std::string dir =
      (fs::temp_directory_path() /
       ("horde_report_" + std::to_string(::getpid()) + (aborted ? "_aborted" : "")))
          .string();
  fs::create_directories(dir);
  const std::vector<double> ns = {1, 2, 4, 8};
  std::vector<CapacitySample> points;
  json phases = json::array();
  std::string csv =
      "phase,interval,time_s,warmup,agents,requests,errors,rps,p50_ms,p99_ms,max_ms\n";
  std::string jsonl;
  for (uint32_t i = 0; i < ns.size(); ++i) {
    const double n = ns[i];
    const double rps = 1000 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1));
    points.push_back({n, rps, {}, {rps * 0.97, rps * 1.03}});
    const uint64_t errors = i == 2 ? 42 : 0;
    phases.push_back(phase(i, fmt_name(i, n), std::round(rps * 10) / 10, std::round(rps * 1.05),
                           2000 + 500 * i, errors));
    for (uint32_t k = 0; k < 12; ++k) {
      const bool warm = k < 2;
      const uint64_t errs = i == 2 && k == 6 ? 30 : (i == 2 && k == 7 ? 12 : 0);
      const double r = rps * (warm ? 0.7 : 1.0) * (1 + 0.02 * std::sin(k));
      csv += std::to_string(i) + "," + std::to_string(k) + "," + std::to_string(double(k)) + "," +
             (warm ? "1" : "0") + ",2," + std::to_string(int64_t(r)) + "," + std::to_string(errs) +
             "," + std::to_string(r) + "," + std::to_string(2.0 + 0.5 * i) + "," +
             std::to_string(6.0 + i + 0.3 * k) + "," + std::to_string(20.0 + 5 * k) + "\n";
      json cls = json::array();
      if (errs)
        cls.push_back(
            {{"errorClass", k == 6 ? "timeout" : "http_5xx"}, {"count", std::to_string(errs)}});
      jsonl +=
          json{{"phase", i}, {"interval", k}, {"counters", {{"errorsByClass", cls}}}}.dump() + "\n";
    }
  }
  const ScalingAnalysis analysis = analyse_scaling(points, 50);
  EXPECT_TRUE(analysis.choice.has_value());
  const auto verdict = judge_scalability(analysis, 0.8, "instances");
  Scalability scal;
  scal.kind = "instances";
  for (size_t i = 0; i < points.size(); ++i) {
    ScalabilityPoint p;
    p.n = static_cast<uint32_t>(points[i].n);
    p.capacity_rps = points[i].capacity;
    p.efficiency = verdict.efficiency[i];
    p.p99_ms = phases[i]["latency_ms"]["p99"].get<double>();
    p.phase = i;
    p.capacity_ci = points[i].ci;
    scal.points.push_back(p);
  }
  scal.shape = shape_name(analysis.shape->shape);
  scal.usl = analysis.shown_fit();
  scal.choice = analysis.choice;
  scal.min_efficiency = 0.8;
  scal.verdict = verdict.text;
  scal.passed = verdict.passed;
  json totals = phase(0, "totals", 5046.2, NAN, 2600, 42);
  totals["offered_rps"] = nullptr;
  const json summary = {
      {"schema", 1},
      {"run_id", "20260101-120000-test"},
      {"workload",
       {{"name", "sweep <demo>"},
        {"targets", {"http://127.0.0.1:8081/", "http://127.0.0.1:8082/"}},
        {"load", {{"mode", "open"}, {"rate", 1000}, {"connections", 64}}}}},
      {"phases", phases},
      {"totals", totals},
      {"agents",
       {{{"name", "agent-a"}, {"requests", 123456}, {"errors", 20}, {"lost", false}},
        {{"name", "agent-b"}, {"requests", 120001}, {"errors", 22}, {"lost", aborted}}}},
      {"thresholds",
       {{{"threshold", "p99 < 200ms"}, {"observed", 12.5}, {"passed", true}},
        {{"threshold", "error_rate < 1%"}, {"observed", 0.0001}, {"passed", true}}}},
      {"warnings", {"agent CPU above 90% in phase 4"}},
      {"aborted", aborted},
      {"abort_reason", aborted ? "interrupted by SIGINT" : ""},
      {"exit_code", aborted ? 3 : 1},
      {"scalability", scal.to_json()}};
  std::ofstream(dir + "/summary.json") << summary.dump(2);
  std::ofstream(dir + "/intervals.csv") << csv;
  std::ofstream(dir + "/intervals.jsonl") << jsonl;
  return dir;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(ReportHtml, RendersEveryChartFromAResultsDirectory) {
  const std::string dir = make_results(false);
  auto page = render_report(dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  for (const char* title : {"Capacity vs instances", "Latency vs throughput",
                            "Throughput per interval", "Latency per interval",
                            "Errors per interval", "Latency by percentile", "Requests per agent"}) {
    EXPECT_NE(html.find(std::string("class=\"title\" x=\"78\" y=\"22\">") + title),
              std::string::npos)
        << title;
  }
  EXPECT_EQ(count(html, "<svg"), 7u);
  EXPECT_EQ(count(html, "<svg"), count(html, "</svg>"));
  // Figures from the summary appear: run id, thresholds, verdict, totals, agents.
  for (const char* text : {"20260101-120000-test", "sweep &lt;demo&gt;", "p99 &lt; 200ms", "12.500",
                           "5046.2", "instances handle", "agent-a", "timeout", "http_5xx",
                           "agent CPU above 90% in phase 4", "phase 2 (4 instances)"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
  // Every capacity has its error bar; four points cannot choose the USL, so Amdahl is drawn
  // solid and the (different) full USL dashed beside it.
  EXPECT_EQ(count(html, "class=\"errorbar\""), 4u);
  EXPECT_NE(html.find("95% interval"), std::string::npos);
  EXPECT_NE(html.find("observed shape: <b>sublinear</b>"), std::string::npos);
  EXPECT_NE(html.find("Amdahl fit, chosen"), std::string::npos);
  EXPECT_NE(html.find("USL fit, not chosen"), std::string::npos);
  EXPECT_EQ(html.find("predicted peak"), std::string::npos);
  EXPECT_EQ(html.find("<demo>"), std::string::npos);  // escaped
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("Aborted run"), std::string::npos);
  // No external resources: the only URLs are the target URLs shown as text.
  std::string rest = html;
  for (const char* target : {"http://127.0.0.1:8081/", "http://127.0.0.1:8082/"}) {
    for (size_t p; (p = rest.find(target)) != std::string::npos;) rest.erase(p, strlen(target));
  }
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  EXPECT_EQ(rest.find("https://"), std::string::npos);
  EXPECT_EQ(rest.find("url("), std::string::npos);
  // Balanced markup: every element opened inside the SVGs is closed.
  for (const char* tag : {"svg", "text"}) {
    EXPECT_EQ(count(html, std::string("<") + tag + " ") + count(html, std::string("<") + tag + ">"),
              count(html, std::string("</") + tag + ">"))
        << tag;
  }
  for (const char* tag : {"section", "table", "tr", "div", "main", "html", "body", "head"}) {
    const std::regex open(std::string("<") + tag + "[ >]"), close(std::string("</") + tag + ">");
    auto n = [&](const std::regex& r) {
      return std::distance(std::sregex_iterator(html.begin(), html.end(), r),
                           std::sregex_iterator());
    };
    EXPECT_EQ(n(open), n(close)) << tag;
  }
  ASSERT_TRUE(write_report(dir).ok());
  EXPECT_TRUE(fs::exists(dir + "/report.html"));
  if (!std::getenv("HORDE_KEEP_REPORT")) fs::remove_all(dir);
}

TEST(ReportHtml, AbortedRunGetsABanner) {
  const std::string dir = make_results(true);
  auto page = render_report(dir);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_NE(page->find("Aborted run: interrupted by SIGINT"), std::string::npos);
  EXPECT_NE(page->find("agent-b (lost)"), std::string::npos);
  // Issue 17: it said "PASS: every check holds - exit code 3" under this banner.
  EXPECT_EQ(page->find("PASS: every check holds"), std::string::npos);
  EXPECT_EQ(page->find(">PASS<"), std::string::npos);
  EXPECT_NE(page->find("NOT JUDGED: the run did not complete, no check is passed or failed "
                       "&mdash; exit code 3"),
            std::string::npos);
  EXPECT_NE(page->find("not judged: the run did not complete"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ReportHtml, MissingSummaryIsAClearError) {
  const auto r = render_report("/nonexistent/horde-results");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("summary.json"), std::string::npos);
}

TEST(ReportHtml, ThePageRequestCheckSeesWhatAPageLoads) {
  // The check above can fail: a page that loads an image is caught, and no
  // request leaves the machine (the proxy at 127.0.0.1:9 refuses it).
  if (!fs::exists(testing::kChromium)) GTEST_SKIP() << "/usr/bin/chromium is missing";
  const std::string dir = make_results(false);
  {
    std::ofstream page(dir + "/loads.html");
    page << "<html><body>x<img src=\"http://127.0.0.1:9/x.png\"></body></html>";
  }
  const auto rendered = testing::render_in_chromium(dir + "/loads.html", dir + "/l.png", 200, 200);
  ASSERT_TRUE(rendered.ok) << rendered.why;
  EXPECT_EQ(rendered.page_requests, std::vector<std::string>{"http://127.0.0.1:9/x.png"});
  if (!std::getenv("HORDE_KEEP_REPORT")) fs::remove_all(dir);
}

TEST(ReportHtml, ScreenshotInHeadlessChromium) {
  if (!fs::exists(testing::kChromium)) {
    GTEST_SKIP() << "/usr/bin/chromium is missing (apt-get install chromium)";
  }
  const std::string dir = make_results(false);
  ASSERT_TRUE(write_report(dir).ok());
  const std::string png = dir + "/report.png";
  const auto rendered = testing::render_in_chromium(dir + "/report.html", png, 1280, 2400);
  ASSERT_TRUE(rendered.ok) << rendered.why;
  EXPECT_TRUE(rendered.page_requests.empty()) << rendered.page_requests.front();
  // A blank 1280x2400 page compresses to a few kB; charts and text make it far larger.
  EXPECT_GT(fs::file_size(png), 50'000u);
  std::ifstream f(png, std::ios::binary);
  char magic[8] = {};
  f.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  if (!std::getenv("HORDE_KEEP_REPORT")) fs::remove_all(dir);
}

}  // namespace report_html_test
}  // namespace horde
