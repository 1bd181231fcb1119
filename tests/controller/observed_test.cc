// Tests for what the `observe:` sources add to the results: one intervals.csv
// column per source (empty where no value was read), summary.json's
// `observed` per phase and over the run (warm-up and nulls left out, never
// counted as 0), and a sweep point's observed CPU and requests per core-second.
#include "controller/observed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/results.h"

namespace horde {
namespace observed_test {

using ::testing::HasSubstr;

std::vector<ObserveSource> two_sources() {
  ObserveSource cpu;
  cpu.name = "web_cpu";
  cpu.unit = ObserveUnit::kCores;
  ObserveSource rss;
  rss.name = "web_rss";
  rss.unit = ObserveUnit::kBytes;
  return {cpu, rss};
}

IntervalRow row(uint32_t phase, uint32_t i, bool warmup, std::vector<std::optional<double>> v) {
  IntervalRow r;
  r.phase = phase;
  r.interval = i;
  r.warmup = warmup;
  r.duration_s = 1;
  r.time_s = i;
  r.observed = std::move(v);
  return r;
}

RunResult run_with_two_phases() {
  RunResult r;
  r.observe = two_sources();
  PhaseResult a;
  a.index = 0;
  a.intervals = {row(0, 0, true, {9.0, 9.0}),  // warm-up: left out
                 row(0, 1, false, {1.0, 100.0}), row(0, 2, false, {std::nullopt, 300.0}),
                 row(0, 3, false, {2.0, std::nullopt})};
  PhaseResult b;
  b.index = 1;
  b.intervals = {row(1, 0, false, {std::nullopt, std::nullopt}), row(1, 1, false, {})};
  r.phases = {a, b};
  return r;
}

TEST(Observed, StatsLeaveOutWarmupAndNulls) {
  const RunResult r = run_with_two_phases();
  const auto s = observed_stats(r.observe, {&r.phases[0]});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].samples, 2u);
  EXPECT_EQ(s[0].mean, 1.5);
  EXPECT_EQ(s[0].max, 2.0);
  EXPECT_EQ(s[1].mean, 200.0);
  const auto none = observed_stats(r.observe, {&r.phases[1]});
  EXPECT_EQ(none[0].samples, 0u);
  EXPECT_FALSE(none[0].mean.has_value());
  ASSERT_NE(cores_stat(s), nullptr);
  EXPECT_EQ(cores_stat(s)->name, "web_cpu");
  EXPECT_EQ(cores_stat(none), nullptr);  // no mean: nothing to divide by
}

TEST(Observed, SummaryPerPhaseAndTotals) {
  const auto j = summary_json(run_with_two_phases());
  const auto& p0 = j["phases"][0]["observed"];
  EXPECT_EQ(p0["web_cpu"]["mean"], 1.5);
  EXPECT_EQ(p0["web_cpu"]["max"], 2.0);
  EXPECT_EQ(p0["web_cpu"]["unit"], "cores");
  EXPECT_EQ(p0["web_cpu"]["samples"], 2);
  EXPECT_EQ(p0["web_rss"]["unit"], "bytes");
  const auto& p1 = j["phases"][1]["observed"];
  EXPECT_TRUE(p1["web_cpu"]["mean"].is_null());
  EXPECT_EQ(p1["web_cpu"]["samples"], 0);
  const auto& t = j["totals"]["observed"];
  EXPECT_EQ(t["web_cpu"]["samples"], 2);
  EXPECT_EQ(t["web_rss"]["max"], 300.0);
}

TEST(Observed, NoSourcesNoKey) {
  RunResult r;
  r.phases.push_back(PhaseResult{});
  const auto j = summary_json(r);
  EXPECT_FALSE(j["phases"][0].contains("observed"));
  EXPECT_FALSE(j["totals"].contains("observed"));
  EXPECT_THAT(intervals_csv(r), HasSubstr("p99_ms,max_ms\n"));
}

TEST(Observed, OneCsvColumnPerSourceEmptyWhereNull) {
  const std::string csv = intervals_csv(run_with_two_phases());
  EXPECT_THAT(csv, HasSubstr("p50_ms,p99_ms,max_ms,web_cpu,web_rss\n"));
  EXPECT_THAT(csv, HasSubstr(",1,100\n"));
  EXPECT_THAT(csv, HasSubstr(",,300\n"));
  EXPECT_THAT(csv, HasSubstr(",2,\n"));
  EXPECT_THAT(csv, HasSubstr("\n1,1,1.000,0,0,0,0,0.0,0.000,0.000,0.000,,\n"));
}

TEST(Observed, SweepPointJson) {
  Scalability s;
  s.kind = "instances";
  ScalabilityPoint p;
  p.n = 2;
  p.capacity_rps = 1000;
  p.observed = {ObservedStat{"web_cpu", ObserveUnit::kCores, 5, 1.6, 1.9}};
  p.requests_per_core_second = 625;
  s.points = {p, ScalabilityPoint{}};
  const auto j = s.to_json();
  EXPECT_EQ(j["points"][0]["observed"]["web_cpu"]["mean"], 1.6);
  EXPECT_EQ(j["points"][0]["requests_per_core_second"], 625.0);
  EXPECT_FALSE(j["points"][1].contains("observed"));
}

}  // namespace observed_test
}  // namespace horde
