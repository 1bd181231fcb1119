// Tests for how thresholds are judged and shown (issue 17 items 2 and 7): an
// aborted run, or one that measured no request, judges none (never a pass); the
// observed value is shown in the threshold's own unit; the summary ends with
// "2 of 3 thresholds failed" before exit code 1.
#include <gtest/gtest.h>

#include <sstream>

#include "common/threshold.h"
#include "controller/results.h"

namespace horde {
namespace thresholds_test {

Threshold threshold(const std::string& text) { return parse_threshold(text).value(); }

// 100 requests, every latency `us`, `errors` of them timeouts, over 1 s.
PhaseResult measured(int64_t us, uint64_t errors = 0) {
  PhaseResult p;
  p.latency.record_n(us, 100);
  p.counters.requests = 100;
  p.counters.errors = errors;
  p.counters.errors_by_class[static_cast<size_t>(ErrorClass::kTimeout)] = errors;
  p.counters.status_codes[200] = 100 - errors;
  p.duration_s = 1.0;
  return p;
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  return last;
}

TEST(Thresholds, ParsedUnitIsTheOneTheUserWrote) {
  EXPECT_EQ(threshold("p99 < 50us").unit, "us");
  EXPECT_EQ(threshold("p99 < 250µs").unit, "us");
  EXPECT_EQ(threshold("p50 <= 200ms").unit, "ms");
  EXPECT_EQ(threshold("max < 2s").unit, "s");
  EXPECT_EQ(threshold("mean < 1m30s").unit, "s");
  EXPECT_EQ(threshold("error_rate < 1%").unit, "%");
  EXPECT_EQ(threshold("error_rate < 0.01").unit, "");
  EXPECT_EQ(threshold("rps >= 1000").unit, "rps");
}

TEST(Thresholds, ObservedIsShownInTheThresholdsUnit) {
  // The observed value is held in ms, a fraction, requests/s; shown as the user wrote it.
  EXPECT_EQ(format_observed(threshold("p99 < 50us"), 1.989), "1989 us");
  EXPECT_EQ(format_observed(threshold("p99 < 200ms"), 1.989), "1.989 ms");
  EXPECT_EQ(format_observed(threshold("p99 < 1s"), 1500), "1.5 s");
  EXPECT_EQ(format_observed(threshold("error_rate < 1%"), 0.025), "2.5%");
  EXPECT_EQ(format_observed(threshold("error_rate < 0.01"), 0.025), "0.025");
  EXPECT_EQ(format_observed(threshold("rps >= 1000"), 950.25), "950.25 rps");
  EXPECT_DOUBLE_EQ(in_threshold_unit(threshold("p99 < 50us"), 1.989), 1989.0);
  // Compared in the same unit: 49 us < 50 us passes, 51 us does not.
  const auto t = threshold("p99 < 50us");
  EXPECT_TRUE(evaluate({t}, measured(49))[0].passed);
  EXPECT_FALSE(evaluate({t}, measured(51))[0].passed);
}

TEST(Thresholds, AnAbortedRunJudgesNone) {
  // Issue 17: with no agent joined the terminal said "observed 0.000 PASS".
  const auto ts = {threshold("p99 < 100ms"), threshold("error_rate < 1%")};
  for (const auto& o : evaluate(ts, measured(1000), true)) {
    EXPECT_FALSE(o.judged());
    EXPECT_FALSE(o.passed);
    EXPECT_FALSE(o.failed());
    EXPECT_EQ(o.not_judged, "the run was aborted");
  }
  RunResult r;
  r.aborted = true;
  r.abort_reason = "only 0 of 1 expected agents joined within 1 s";
  r.thresholds = evaluate(ts, PhaseResult{}, true);
  const std::string table = summary_table(r);
  EXPECT_EQ(table.find("PASS"), std::string::npos) << table;
  EXPECT_NE(table.find("threshold p99 < 100ms              observed            -  NOT JUDGED: the "
                       "run was aborted"),
            std::string::npos)
      << table;
  EXPECT_EQ(closing_lines(r), "run aborted: " + r.abort_reason + "\n");
  EXPECT_EQ(exit_code(r), 3);
  const auto j = summary_json(r)["thresholds"];
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["result"], "not judged");
  EXPECT_EQ(j[0]["passed"], false);
  EXPECT_TRUE(j[0]["observed"].is_null());
  EXPECT_EQ(j[0]["not_judged"], "the run was aborted");
}

TEST(Thresholds, ZeroRequestsIsNeverAPass) {
  // A latency of 0 and an error rate of 0 on no request would "pass" anything.
  RunResult r;
  r.phases.push_back(PhaseResult{});
  r.thresholds = evaluate({threshold("p99 < 100ms"), threshold("error_rate < 1%")}, PhaseResult{});
  for (const auto& o : r.thresholds) {
    EXPECT_FALSE(o.passed);
    EXPECT_EQ(o.not_judged, "no request was measured");
  }
  EXPECT_EQ(exit_code(r), 1);
  EXPECT_EQ(last_line(closing_lines(r)), "2 of 2 thresholds not judged: no request was measured");
  // Requests that all failed without a latency: error_rate is judged, p99 is not.
  PhaseResult errors_only;
  errors_only.counters.requests = 10;
  errors_only.counters.errors = 10;
  const auto o = evaluate({threshold("p99 < 100ms"), threshold("error_rate < 1%")}, errors_only);
  EXPECT_EQ(o[0].not_judged, "no latency was measured");
  EXPECT_TRUE(o[1].failed());
}

TEST(Thresholds, SummaryEndsWithHowManyFailed) {
  RunResult r;
  r.phases.push_back(measured(1989, 5));
  r.thresholds = evaluate(
      {threshold("p99 < 50us"), threshold("error_rate < 1%"), threshold("rps >= 10")}, r.phases[0]);
  const std::string table = summary_table(r);
  EXPECT_NE(table.find("threshold p99 < 50us               observed      1989 us  FAIL"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("threshold error_rate < 1%          observed           5%  FAIL"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("threshold rps >= 10                observed      100 rps  PASS"),
            std::string::npos)
      << table;
  EXPECT_EQ(last_line(closing_lines(r)), "2 of 3 thresholds failed");
  EXPECT_EQ(table.find("thresholds failed"), std::string::npos) << "said once, at the very end";
  r.scalability_passed = false;
  EXPECT_EQ(closing_lines(r),
            "5 of 100 requests (5.0%) failed: timeout=5\nthe scalability verdict failed (see "
            "verdict: above)\n2 of 3 thresholds failed\n");
  EXPECT_EQ(exit_code(r), 1);
  const auto j = summary_json(r)["thresholds"];
  EXPECT_EQ(j[0]["unit"], "us");
  EXPECT_DOUBLE_EQ(j[0]["observed_in_unit"].get<double>(), 1989.0);
  EXPECT_DOUBLE_EQ(j[0]["observed"].get<double>(), 1.989);  // ms, as before
  EXPECT_EQ(j[0]["result"], "fail");
  EXPECT_EQ(j[2]["result"], "pass");
  // Every one passing: no such line.
  r.thresholds = evaluate({threshold("rps >= 10")}, r.phases[0]);
  EXPECT_EQ(thresholds_line(r), "");
}

}  // namespace thresholds_test
}  // namespace horde
