// Tests for the run results: totals over phases, the values thresholds look
// at (checked against figures computed directly from the raw samples), exit
// codes, and the summary.json / intervals.csv contract.
#include "controller/results.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace horde {
namespace results_test {

struct Samples {
  std::vector<int64_t> us;
  uint64_t errors = 0;
};

// A phase built from raw samples, so every figure can be recomputed from them.
PhaseResult phase_from(const Samples& s, double duration_s, std::optional<double> offered) {
  PhaseResult p;
  for (int64_t v : s.us) p.latency.record(v);
  p.counters.requests = s.us.size();
  p.counters.errors = s.errors;
  p.counters.errors_by_class[static_cast<size_t>(ErrorClass::kTimeout)] = s.errors;
  p.counters.status_codes[200] = s.us.size() - s.errors;
  p.duration_s = duration_s;
  p.offered_rps = offered;
  return p;
}

Samples random_samples(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(3000.0), 1.0);
  Samples s;
  for (size_t i = 0; i < n; ++i) s.us.push_back(1 + static_cast<int64_t>(dist(rng)));
  s.errors = n / 37;
  return s;
}

// The percentile straight from sorted samples, reported as the histogram
// reports values: the highest value equivalent to the sample's bucket, capped
// at the true maximum. Rank uses integer math: ceil(p/1000 * n) with p in tenths.
double percentile_ms(std::vector<int64_t> v, uint64_t tenths) {
  std::sort(v.begin(), v.end());
  const uint64_t n = v.size();
  const uint64_t rank = std::max<uint64_t>(1, (tenths * n + 999) / 1000);
  const int64_t sample = v[rank - 1];
  return static_cast<double>(
             std::min(Histogram::highest_equivalent(Histogram::index_for(sample)), v.back())) /
         1000.0;
}

TEST(Results, ObservedValueMatchesTheRawSamples) {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    for (size_t n : {size_t{1}, size_t{7}, size_t{1000}, size_t{12345}}) {
      const Samples s = random_samples(seed, n);
      const PhaseResult p = phase_from(s, 2.5, std::nullopt);
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kP50), percentile_ms(s.us, 500));
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kP90), percentile_ms(s.us, 900));
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kP99), percentile_ms(s.us, 990));
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kP999), percentile_ms(s.us, 999));
      const int64_t max = *std::max_element(s.us.begin(), s.us.end());
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kMax), static_cast<double>(max) / 1000.0);
      double sum = 0;
      for (int64_t v : s.us) sum += static_cast<double>(v);
      const double mean_ms = sum / static_cast<double>(n) / 1000.0;
      // The mean comes from bucket midpoints: exact to the layout's precision.
      EXPECT_NEAR(observed_value(p, Metric::kMean), mean_ms, mean_ms * 1e-3);
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kErrorRate),
                       static_cast<double>(s.errors) / static_cast<double>(n));
      EXPECT_DOUBLE_EQ(observed_value(p, Metric::kThroughput), static_cast<double>(n) / 2.5);
    }
  }
}

TEST(Results, ObservedValueOfAnEmptyPhaseIsZero) {
  PhaseResult p;
  for (Metric m : {Metric::kP50, Metric::kP90, Metric::kP99, Metric::kP999, Metric::kMax,
                   Metric::kMean, Metric::kErrorRate, Metric::kThroughput}) {
    EXPECT_EQ(observed_value(p, m), 0.0) << metric_name(m);
  }
}

TEST(Results, TotalsAddPhasesAndWeighOfferedRate) {
  const Samples a = random_samples(10, 1000);
  const Samples b = random_samples(11, 3000);
  std::vector<PhaseResult> phases = {phase_from(a, 1.0, 1000.0), phase_from(b, 3.0, 2000.0)};
  phases[0].discarded_reports = 2;
  phases[1].discarded_reports = 3;
  const PhaseResult t = totals(phases);
  EXPECT_EQ(t.name, "totals");
  EXPECT_EQ(t.counters.requests, 4000u);
  EXPECT_EQ(t.counters.errors, a.errors + b.errors);
  EXPECT_EQ(t.counters.status_codes.at(200), 4000u - a.errors - b.errors);
  EXPECT_DOUBLE_EQ(t.duration_s, 4.0);
  EXPECT_EQ(t.discarded_reports, 5u);
  Histogram all;
  for (int64_t v : a.us) all.record(v);
  for (int64_t v : b.us) all.record(v);
  EXPECT_EQ(t.latency, all);
  ASSERT_TRUE(t.offered_rps.has_value());
  EXPECT_DOUBLE_EQ(*t.offered_rps, (1000.0 * 1 + 2000.0 * 3) / 4.0);
  EXPECT_DOUBLE_EQ(observed_value(t, Metric::kThroughput), 1000.0);

  phases.push_back(phase_from(random_samples(12, 10), 1.0, std::nullopt));  // closed loop
  EXPECT_FALSE(totals(phases).offered_rps.has_value());
  EXPECT_FALSE(totals({}).offered_rps.has_value());
  EXPECT_EQ(totals({}).counters.requests, 0u);
}

Threshold threshold(const std::string& text) { return parse_threshold(text).value(); }

TEST(Results, EvaluateAndExitCode) {
  Samples s;
  for (int i = 1; i <= 100; ++i) s.us.push_back(i * 1000);  // 1..100 ms
  s.errors = 2;
  const PhaseResult p = phase_from(s, 10.0, std::nullopt);
  const auto outcomes = evaluate({threshold("p99 < 200ms"), threshold("error_rate < 1%"),
                                  threshold("rps >= 10"), threshold("max <= 100ms")},
                                 p);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_TRUE(outcomes[0].passed);
  EXPECT_NEAR(outcomes[0].observed, 99.0, 0.1);
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_DOUBLE_EQ(outcomes[1].observed, 0.02);
  EXPECT_TRUE(outcomes[2].passed);
  EXPECT_DOUBLE_EQ(outcomes[2].observed, 10.0);
  EXPECT_TRUE(outcomes[3].passed);
  EXPECT_EQ(outcomes[3].threshold.text, "max <= 100ms");

  RunResult r;
  EXPECT_EQ(exit_code(r), 0);
  r.thresholds = {outcomes[0], outcomes[2]};
  EXPECT_EQ(exit_code(r), 0);
  r.thresholds = outcomes;
  EXPECT_EQ(exit_code(r), 1);
  r.aborted = true;
  EXPECT_EQ(exit_code(r), 3);  // an aborted run says nothing about thresholds
  r.thresholds.clear();
  EXPECT_EQ(exit_code(r), 3);
}

TEST(Results, StdevAndDistributionMatchTheRawSamples) {
  // Issue 17 item 6: stdev and p75/p99.99 as wrk --latency shows them.
  const Samples s = random_samples(9, 20'000);
  const PhaseResult p = phase_from(s, 2.0, std::nullopt);
  double mean = 0;
  for (int64_t v : s.us) mean += static_cast<double>(v);
  mean /= static_cast<double>(s.us.size());
  double var = 0;
  for (int64_t v : s.us) var += (static_cast<double>(v) - mean) * (static_cast<double>(v) - mean);
  const double stdev_ms = std::sqrt(var / static_cast<double>(s.us.size())) / 1000.0;
  const auto j = phase_json(p)["latency_ms"];
  // Buckets hold 3 significant digits: the stdev from them is within 0.5% of the samples'.
  EXPECT_NEAR(j["stdev"].get<double>(), stdev_ms, stdev_ms * 0.005);
  EXPECT_DOUBLE_EQ(j["p75"].get<double>(), percentile_ms(s.us, 750));
  EXPECT_DOUBLE_EQ(j["p9999"].get<double>(),
                   static_cast<double>(p.latency.value_at_percentile(99.99)) / 1000.0);
  RunResult r;
  r.phases.push_back(p);
  r.phases[0].counters.bytes_received = 3'000'000;
  r.phases[0].counters.bytes_sent = 500;
  const std::string table = summary_table(r);
  EXPECT_NE(table.find(fmt::format("stdev {:.3f} ms", j["stdev"].get<double>())), std::string::npos)
      << table;
  EXPECT_NE(table.find(fmt::format("latency distribution: 50% {:.3f} ms  75% {:.3f} ms",
                                   j["p50"].get<double>(), j["p75"].get<double>())),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("transfer/s: 1.50 MB/s read, 250 B/s written (3.00 MB read, 500 B "
                       "written)"),
            std::string::npos)
      << table;
}

RunResult sample_run() {
  RunResult r;
  r.run_id = "run-1";
  r.workload = {{"name", "w"}};
  for (uint32_t i = 0; i < 2; ++i) {
    PhaseResult p = phase_from(random_samples(20 + i, 500), 2.0, std::nullopt);
    p.index = i;
    p.name = "phase" + std::to_string(i);
    for (uint32_t k = 0; k < 3; ++k) {
      IntervalRow row;
      row.phase = i;
      row.interval = k;
      row.time_s = k + 1.0;
      row.warmup = k == 0;
      row.agents = 2;
      row.counters.requests = 100 * (k + 1);
      row.counters.errors = k;
      row.duration_s = 1.0;
      row.p50_us = 1500;
      row.p99_us = 9000;
      row.max_us = 12345;
      p.intervals.push_back(row);
    }
    r.phases.push_back(std::move(p));
  }
  r.agents.push_back({"agent-0", "host-a", 4, 4, 600, 10, false, ""});
  r.agents.push_back({"agent-1", "host-b", 2, 2, 400, 6, true, "lease expired"});
  r.thresholds = evaluate({threshold("p99 < 1h")}, totals(r.phases));
  return r;
}

TEST(Results, SummaryJsonHasEveryContractKey) {
  const RunResult r = sample_run();
  const nlohmann::json j = summary_json(r);
  for (const char* key : {"schema", "run_id", "workload", "phases", "totals", "agents",
                          "thresholds", "warnings", "aborted", "abort_reason", "exit_code"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["run_id"], "run-1");
  EXPECT_EQ(j["workload"]["name"], "w");
  EXPECT_EQ(j["exit_code"], 0);
  ASSERT_EQ(j["phases"].size(), 2u);
  std::vector<nlohmann::json> phase_like = {j["phases"][0], j["phases"][1], j["totals"]};
  for (const auto& p : phase_like) {
    for (const char* key :
         {"name", "requests", "errors", "error_rate", "duration_s", "throughput_rps", "offered_rps",
          "latency_ms", "status_codes", "errors_by_class", "bytes_sent", "bytes_received", "late",
          "max_schedule_lag_ms", "agent_cpu_seconds", "discarded_reports"}) {
      EXPECT_TRUE(p.contains(key)) << key;
    }
    for (const char* key : {"mean", "p50", "p90", "p99", "p999", "max"}) {
      EXPECT_TRUE(p["latency_ms"].contains(key)) << key;
      EXPECT_TRUE(p["latency_ms"][key].is_number()) << key;
    }
    EXPECT_TRUE(p["offered_rps"].is_null());  // closed loop
    for (size_t i = 0; i < kErrorClassCount; ++i) {
      EXPECT_TRUE(p["errors_by_class"].contains(error_class_name(static_cast<ErrorClass>(i))));
    }
  }
  EXPECT_EQ(j["phases"][1]["index"], 1);
  const PhaseResult& p0 = r.phases[0];
  const auto& jp0 = j["phases"][0];
  EXPECT_EQ(jp0["requests"], p0.counters.requests);
  EXPECT_EQ(jp0["errors"], p0.counters.errors);
  EXPECT_DOUBLE_EQ(jp0["error_rate"].get<double>(),
                   static_cast<double>(p0.counters.errors) / p0.counters.requests);
  EXPECT_DOUBLE_EQ(jp0["throughput_rps"].get<double>(), 250.0);
  EXPECT_DOUBLE_EQ(jp0["latency_ms"]["p99"].get<double>(), observed_value(p0, Metric::kP99));
  EXPECT_DOUBLE_EQ(jp0["latency_ms"]["max"].get<double>(), observed_value(p0, Metric::kMax));
  EXPECT_EQ(jp0["status_codes"]["200"], p0.counters.status_codes.at(200));
  EXPECT_EQ(jp0["errors_by_class"]["timeout"], p0.counters.errors);
  EXPECT_EQ(j["totals"]["requests"], 1000);
  EXPECT_DOUBLE_EQ(j["totals"]["duration_s"].get<double>(), 4.0);

  ASSERT_EQ(j["agents"].size(), 2u);
  for (const char* key :
       {"name", "host", "cores", "threads", "requests", "errors", "lost", "lost_reason"}) {
    EXPECT_TRUE(j["agents"][0].contains(key)) << key;
  }
  EXPECT_EQ(j["agents"][1]["lost"], true);
  EXPECT_EQ(j["agents"][1]["lost_reason"], "lease expired");
  ASSERT_EQ(j["thresholds"].size(), 1u);
  EXPECT_EQ(j["thresholds"][0]["threshold"], "p99 < 1h");
  EXPECT_EQ(j["thresholds"][0]["passed"], true);
}

TEST(Results, SummaryJsonOfferedRateWhenOpen) {
  RunResult r;
  r.phases.push_back(phase_from(random_samples(5, 100), 1.0, 150.0));
  const auto j = summary_json(r);
  EXPECT_DOUBLE_EQ(j["phases"][0]["offered_rps"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(j["totals"]["offered_rps"].get<double>(), 150.0);
  r.aborted = true;
  r.abort_reason = "agent lost";
  EXPECT_EQ(summary_json(r)["exit_code"], 3);
  EXPECT_EQ(summary_json(r)["abort_reason"], "agent lost");
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Results, IntervalsCsvHeaderAndRows) {
  const auto rows = lines(intervals_csv(sample_run()));
  ASSERT_EQ(rows.size(), 1u + 6u);
  EXPECT_EQ(rows[0],
            "phase,interval,time_s,warmup,agents,requests,errors,rps,p50_ms,p99_ms,max_ms");
  EXPECT_EQ(rows[1], "0,0,1.000,1,2,100,0,100.0,1.500,9.000,12.345");
  EXPECT_EQ(rows[3], "0,2,3.000,0,2,300,2,300.0,1.500,9.000,12.345");
  EXPECT_EQ(rows[4], "1,0,1.000,1,2,100,0,100.0,1.500,9.000,12.345");
  EXPECT_EQ(intervals_csv(RunResult{}),
            "phase,interval,time_s,warmup,agents,requests,errors,rps,p50_ms,p99_ms,max_ms\n");
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Results, WriteResultsWritesBothFiles) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("horde_results_test_" + std::to_string(::getpid())) / "nested";
  const RunResult r = sample_run();
  auto ok = write_results(r, dir.string());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const auto summary = nlohmann::json::parse(slurp(dir / "summary.json"));
  EXPECT_EQ(summary, summary_json(r));
  EXPECT_EQ(slurp(dir / "intervals.csv"), intervals_csv(r));
  std::filesystem::remove_all(dir.parent_path());
}

TEST(Results, WriteResultsReportsAnUnwritableDirectory) {
  const auto file =
      std::filesystem::temp_directory_path() / ("horde_results_file_" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  auto ok = write_results(sample_run(), (file / "sub").string());
  EXPECT_FALSE(ok.ok());
  std::filesystem::remove(file);
}

}  // namespace results_test
}  // namespace horde

namespace horde {
namespace results_test {

TEST(CapacityLines, NameTheCapacityAndTheBracket) {
  const nlohmann::json searches = nlohmann::json::array({{{"instances", 2},
                                                          {"agents", 1},
                                                          {"steps", 7},
                                                          {"highest_good_rate", 800.0},
                                                          {"lowest_bad_rate", 850.0},
                                                          {"capacity_rps", 799.5},
                                                          {"p99_ms", 12.5},
                                                          {"phase", 4}},
                                                         {{"instances", nullptr},
                                                          {"agents", 1},
                                                          {"steps", 3},
                                                          {"highest_good_rate", nullptr},
                                                          {"lowest_bad_rate", 100.0},
                                                          {"capacity_rps", 0.0},
                                                          {"p99_ms", nullptr},
                                                          {"phase", nullptr}}});
  const std::string out = capacity_lines(searches);
  EXPECT_NE(out.find("capacity at 2 instance(s): 799.5 rps (p99 12.500 ms)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("within the SLO 800 rps, lowest beyond it 850 rps, 7 steps"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("capacity: 0.0 rps (p99 -) - highest offered rate within the SLO none"),
            std::string::npos)
      << out;
}

}  // namespace results_test
}  // namespace horde
