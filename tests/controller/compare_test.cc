// horde compare on synthetic runs whose truth is known: identical
// distributions pass (seeded, 200 pairs, default tolerances), a slower median,
// a higher error rate and a lower throughput are named in the last lines,
// phases are matched by name and the unmatched reported, sweeps compare
// capacity per N, a partial run is refused, compare.html loads nothing and
// renders in headless Chromium, and each request name is compared like a phase.
#include "controller/compare.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/file.h"
#include "common/text.h"
#include "tests/controller/chromium.h"

namespace horde {
namespace compare_test {

namespace fs = std::filesystem;
using nlohmann::json;

struct PhaseSpec {
  std::string name;
  double median_us = 2000;
  uint64_t per_interval = 300;
  double error_rate = 0;
  int intervals = 10;
  double rps_jitter = 0;  // spread of requests per interval (closed loop varies)
};

// A run as `horde compare` reads it: summary.json's phases plus intervals.jsonl rows.
RunData make_run(const std::vector<PhaseSpec>& phases, uint64_t seed, json workload = {}) {
  std::mt19937_64 rng(seed);
  RunData r;
  r.dir = "synthetic-" + std::to_string(seed);
  r.summary = {{"run_id", r.dir},
               {"workload", workload.is_null() ? json{{"name", "w"}} : workload},
               {"phases", json::array()}};
  for (uint32_t pi = 0; pi < phases.size(); ++pi) {
    const auto& p = phases[pi];
    std::lognormal_distribution<double> latency(std::log(p.median_us), 0.5);
    std::normal_distribution<double> jitter(0, p.rps_jitter);
    std::bernoulli_distribution error(p.error_rate);
    uint64_t requests = 0, errors = 0;
    for (int i = 0; i < p.intervals; ++i) {
      LoggedInterval li;
      li.row.phase = pi;
      li.row.interval = i;
      li.row.time_s = i + 1;
      li.row.duration_s = 1;
      const auto n = static_cast<uint64_t>(
          std::max(1.0, static_cast<double>(p.per_interval) + (p.rps_jitter ? jitter(rng) : 0)));
      for (uint64_t k = 0; k < n; ++k) {
        li.latency.record(static_cast<int64_t>(latency(rng)));
        li.row.counters.errors += error(rng) ? 1 : 0;
      }
      li.row.counters.requests = n;
      requests += n;
      errors += li.row.counters.errors;
      r.intervals.push_back(std::move(li));
    }
    r.summary["phases"].push_back({{"name", p.name},
                                   {"index", pi},
                                   {"requests", requests},
                                   {"errors", errors},
                                   {"throughput_rps", double(requests) / p.intervals}});
  }
  return r;
}

CompareOptions fast() {
  CompareOptions o;
  o.resamples = 1000;
  return o;
}

const MetricComparison* row(const RunComparison& c, const std::string& scope,
                            const std::string& metric) {
  for (const auto& r : c.rows) {
    if (r.scope == scope && r.metric == metric) return &r;
  }
  return nullptr;
}

TEST(Compare, IdenticalDistributionsPassAtDefaultTolerances) {
  int failed = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const auto c =
        compare_runs(make_run({{"run"}}, seed), make_run({{"run"}}, seed + 1000), fast());
    failed += c.exit_code() != 0;
  }
  std::printf("identical runs that failed the gate: %d of 200\n", failed);
  EXPECT_LE(failed, 4);  // <= 2%
}

TEST(Compare, TwentyPercentSlowerMedianIsARegressionNamedInTheLastLines) {
  int flagged = 0;
  std::string last;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    PhaseSpec slow{"run"};
    slow.median_us = 2400;
    const auto c = compare_runs(make_run({{"run"}}, seed), make_run({slow}, seed + 1000), fast());
    const auto* p50 = row(c, "phase run", "p50");
    ASSERT_NE(p50, nullptr);
    flagged += c.exit_code() == 1 && p50->regression;
    if (seed == 1) last = comparison_text(c);
  }
  std::printf("20%% slower median flagged (p50 named): %d of 200\n", flagged);
  EXPECT_GE(flagged, 190);  // >= 95%
  EXPECT_NE(last.find("regression(s):\n"), std::string::npos) << last;
  EXPECT_NE(last.find("p50 of phase run: "), std::string::npos) << last;
  EXPECT_NE(last.find("ms (+"), std::string::npos) << last;
  // 1000 resamples: the smallest p is 2 / 1001.
  EXPECT_NE(last.find("p = 0.002, tolerance 10%)"), std::string::npos) << last;
}

TEST(Compare, RegressionLineReadsAsDocumented) {
  PhaseSpec slow{"run"};
  slow.median_us = 3000;
  const auto c = compare_runs(make_run({{"run"}}, 3), make_run({slow}, 4), CompareOptions{});
  const auto lines = c.regression_lines();
  ASSERT_FALSE(lines.empty());
  const auto* p99 = row(c, "phase run", "p99");
  ASSERT_TRUE(p99 && p99->regression);
  const std::string expected =
      fmt::format("p99 of phase run: {:.4g} ms -> {:.4g} ms (+{:.0f}%, p < 0.001, tolerance 10%)",
                  p99->baseline, p99->candidate, 100 * p99->change);
  EXPECT_NE(std::find(lines.begin(), lines.end(), expected), lines.end()) << expected;
}

TEST(Compare, ErrorRateAndThroughputRegressions) {
  PhaseSpec errors{"run"};
  errors.error_rate = 0.02;
  auto c = compare_runs(make_run({{"run"}}, 5), make_run({errors}, 6), fast());
  const auto* e = row(c, "phase run", "error_rate");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->regression);
  EXPECT_NEAR(e->candidate, 2.0, 0.6);
  EXPECT_EQ(c.exit_code(), 1);

  PhaseSpec a{"run"}, b{"run"};
  a.per_interval = 1000;
  a.rps_jitter = 20;
  b.per_interval = 800;
  b.rps_jitter = 20;
  c = compare_runs(make_run({a}, 7), make_run({b}, 8), fast());
  const auto* t = row(c, "phase run", "throughput");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->regression);
  EXPECT_EQ(t->test, "welch t");
  EXPECT_NEAR(t->change, -0.2, 0.02);
  // More throughput is never a regression, however significant.
  c = compare_runs(make_run({b}, 9), make_run({a}, 10), fast());
  EXPECT_EQ(row(c, "phase run", "throughput")->verdict, "improved");
}

TEST(Compare, PhasesMatchByNameAndTheOthersAreReported) {
  const auto c =
      compare_runs(make_run({{"warm"}, {"run"}}, 11), make_run({{"run"}, {"extra"}}, 12), fast());
  EXPECT_EQ(c.matched_phases, 1u);
  EXPECT_NE(row(c, "phase run", "p99"), nullptr);
  const std::string text = comparison_text(c);
  EXPECT_NE(text.find("phase warm: only in the baseline"), std::string::npos) << text;
  EXPECT_NE(text.find("phase extra: only in the candidate"), std::string::npos) << text;
  // Nothing in common: bad input.
  const auto none = compare_runs(make_run({{"a"}}, 1), make_run({{"b"}}, 2), fast());
  EXPECT_EQ(none.exit_code(), 2);
}

TEST(Compare, WorkloadDifferencesComeFirst) {
  const json wa = {{"name", "w"}, {"load", {{"rate", 1000}, {"duration", "10s"}}}};
  const json wb = {{"name", "w"}, {"load", {{"rate", 2000}, {"duration", "10s"}}}, {"x", 1}};
  const auto c = compare_runs(make_run({{"run"}}, 1, wa), make_run({{"run"}}, 2, wb), fast());
  ASSERT_EQ(c.workload_differences.size(), 2u);
  EXPECT_EQ(c.workload_differences[0], "load.rate: 1000 -> 2000");
  EXPECT_EQ(c.workload_differences[1], "x: (absent) -> 1");
  const std::string text = comparison_text(c);
  EXPECT_LT(text.find("load.rate: 1000 -> 2000"), text.find("phase run"));
}

TEST(Compare, SweepCapacityPerNIsJudgedTheRestShown) {
  std::vector<PhaseSpec> phases;
  for (const char* n : {"n1", "n2"}) {
    PhaseSpec p{n};
    p.per_interval = 1000;
    p.rps_jitter = 10;
    phases.push_back(p);
  }
  auto a = make_run(phases, 1);
  phases[1].per_interval = 1500;  // the candidate scales worse at n = 2
  auto b = make_run(phases, 2);
  const auto sweep = [](double c2, double eff2) {
    return json{{"kind", "instances"},
                {"points",
                 {{{"n", 1}, {"capacity_rps", 1000}, {"efficiency", 1.0}, {"phase", 0}},
                  {{"n", 2}, {"capacity_rps", c2}, {"efficiency", eff2}, {"phase", 1}}}},
                {"usl", {{"sigma", 0.1}, {"kappa", 0.0}, {"peak_n", nullptr}}}};
  };
  a.summary["scalability"] = sweep(2000, 1.0);
  b.summary["scalability"] = sweep(1500, 0.75);
  const auto c = compare_runs(a, b, fast());
  const auto* cap = row(c, "sweep n=2", "capacity");
  ASSERT_NE(cap, nullptr);
  EXPECT_TRUE(cap->regression);
  EXPECT_NEAR(cap->change, -0.25, 1e-9);
  EXPECT_FALSE(row(c, "sweep n=1", "capacity")->regression);
  const auto* eff = row(c, "sweep n=2", "efficiency");
  ASSERT_NE(eff, nullptr);
  // Without capacity intervals there is nothing to test the efficiency against.
  EXPECT_EQ(eff->verdict, "not tested");
  EXPECT_FALSE(eff->regression);
  EXPECT_NE(row(c, "sweep", "usl sigma"), nullptr);
  EXPECT_EQ(c.exit_code(), 1);
}

// An instances sweep over n = 1 and 4 with these capacities (and 95% intervals of +-ci_half),
// and USL sigma with its interval.
json sweep_of(double x1, double x4, double ci_half, double sigma, double sigma_half) {
  const auto point = [&](int n, double x, double eff, int phase) {
    return json{{"n", n},
                {"capacity_rps", x},
                {"capacity_ci", {x - ci_half, x + ci_half}},
                {"efficiency", eff},
                {"phase", phase}};
  };
  return json{{"kind", "instances"},
              {"points", {point(1, x1, 1.0, 0), point(4, x4, x4 / (4 * x1), 1)}},
              {"usl",
               {{"sigma", sigma},
                {"kappa", 0.0},
                {"sigma_ci", {sigma - sigma_half, sigma + sigma_half}},
                {"kappa_ci", {0.0, 0.001}},
                {"full", {{"kappa", 0.0002}}},
                {"peak_n", nullptr}}}};
}

TEST(Compare, LessScalableIsARegressionEvenWhenFaster) {
  std::vector<PhaseSpec> phases;
  for (const char* n : {"n1", "n4"}) phases.push_back(PhaseSpec{n});
  auto a = make_run(phases, 1);
  auto b = make_run(phases, 2);
  // The candidate is faster everywhere, but 4 instances give 2.8x one instead of 3.8x.
  a.summary["scalability"] = sweep_of(1000, 3800, 20, 0.02, 0.01);
  b.summary["scalability"] = sweep_of(1500, 4200, 20, 0.12, 0.01);
  const auto c = compare_runs(a, b, fast());
  const auto* eff = row(c, "sweep n=4", "efficiency");
  ASSERT_NE(eff, nullptr);
  EXPECT_NEAR(eff->baseline, 0.95, 1e-9);
  EXPECT_NEAR(eff->candidate, 0.7, 1e-9);
  EXPECT_EQ(eff->test, "z (95% intervals)");
  ASSERT_TRUE(eff->p_value);
  EXPECT_LT(*eff->p_value, 0.001);
  EXPECT_TRUE(eff->regression) << eff->verdict;
  EXPECT_FALSE(row(c, "sweep n=4", "capacity")->regression);
  EXPECT_EQ(row(c, "sweep n=1", "efficiency")->verdict, "shown, not judged");
  // sigma rose significantly, but it has no default tolerance: worse, not judged.
  const auto* sigma = row(c, "sweep", "usl sigma");
  ASSERT_NE(sigma, nullptr);
  EXPECT_TRUE(sigma->significant);
  EXPECT_EQ(sigma->verdict, "worse, not judged");
  // kappa of the full USL on both sides, not the chosen Amdahl's 0.
  const auto* kappa = row(c, "sweep", "usl kappa");
  ASSERT_NE(kappa, nullptr);
  EXPECT_EQ(kappa->baseline, 0.0002);
  EXPECT_FALSE(kappa->significant);
  EXPECT_EQ(c.exit_code(), 1);
  bool named = false;
  for (const auto& line : c.regression_lines()) {
    named = named || line.find("efficiency of sweep n=4") != std::string::npos;
  }
  EXPECT_TRUE(named) << comparison_text(c);

  CompareOptions with_sigma = fast();
  with_sigma.tolerance["usl_sigma"] = 0.5;
  EXPECT_TRUE(row(compare_runs(a, b, with_sigma), "sweep", "usl sigma")->regression);
}

TEST(Compare, EfficiencyWithinItsNoiseIsNotARegression) {
  std::vector<PhaseSpec> phases;
  for (const char* n : {"n1", "n4"}) phases.push_back(PhaseSpec{n});
  auto a = make_run(phases, 1);
  auto b = make_run(phases, 2);
  // 8% less efficient, but each capacity is known only to +-10%.
  a.summary["scalability"] = sweep_of(1000, 3800, 300, 0.02, 0.01);
  b.summary["scalability"] = sweep_of(1000, 3500, 300, 0.02, 0.01);
  const auto c = compare_runs(a, b, fast());
  const auto* eff = row(c, "sweep n=4", "efficiency");
  ASSERT_NE(eff, nullptr);
  EXPECT_TRUE(eff->beyond_tolerance);
  EXPECT_FALSE(eff->significant);
  EXPECT_FALSE(eff->regression);
}

// Splits phase 0 of `r` over backends in these shares, in summary.json and backends.csv rows,
// with `jitter` requests of spread per interval.
void add_backends(RunData* r, const std::vector<std::pair<std::string, double>>& shares,
                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> jitter(0, 3);
  json& phase = r->summary["phases"][0];
  const double total = phase["requests"].get<double>();
  phase["backends"] = json::array();
  for (const auto& [id, share] : shares) {
    double requests = 0;
    for (uint32_t i = 0; i < 10; ++i) {
      BackendCsvRow row;
      row.phase = 0;
      row.interval = i;
      row.backend = id;
      row.rps = std::max(0.0, share * total / 10 + jitter(rng));
      row.requests = row.rps;
      requests += row.rps;
      r->backends.push_back(row);
    }
    phase["backends"].push_back({{"id", id},
                                 {"requests", static_cast<uint64_t>(requests)},
                                 {"errors", 0},
                                 {"throughput_rps", requests / 10},
                                 {"latency_ms", {{"p50", 2.0}, {"p99", 5.0}}}});
  }
}

TEST(Compare, PerBackendThroughputIsJudged) {
  auto a = make_run({PhaseSpec{"run"}}, 1);
  auto b = make_run({PhaseSpec{"run"}}, 2);
  add_backends(&a, {{"web-1", 0.5}, {"web-2", 0.5}}, 3);
  // The candidate's balancer sends 80% to web-1: web-2 lost 60% of its traffic.
  add_backends(&b, {{"web-1", 0.8}, {"web-2", 0.2}, {"web-3", 0.0}}, 4);
  const auto c = compare_runs(a, b, fast());
  const auto* two = row(c, "phase run backend web-2", "throughput");
  ASSERT_NE(two, nullptr) << comparison_text(c);
  EXPECT_TRUE(two->regression);
  EXPECT_EQ(two->test, "welch t");
  const auto* one = row(c, "phase run backend web-1", "throughput");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->verdict, "improved");
  EXPECT_EQ(row(c, "phase run backend web-1", "p99")->verdict, "shown, not judged");
  EXPECT_NE(row(c, "phase run backend web-1", "error_rate"), nullptr);
  bool noted = false;
  for (const auto& n : c.notes)
    noted = noted || n == "phase run backend web-3: only in the candidate";
  EXPECT_TRUE(noted);
  EXPECT_EQ(c.exit_code(), 1);

  // One backend on each side (the same, or the same target on another port): the phase's rows
  // say it all, and no note says one backend is missing.
  auto x = make_run({PhaseSpec{"run"}}, 1);
  auto y = make_run({PhaseSpec{"run"}}, 2);
  add_backends(&x, {{"127.0.0.1:80", 1.0}}, 5);
  add_backends(&y, {{"127.0.0.1:81", 1.0}}, 6);
  const auto single = compare_runs(x, y, fast());
  EXPECT_EQ(row(single, "phase run backend 127.0.0.1:80", "throughput"), nullptr);
  EXPECT_TRUE(single.notes.empty()) << single.notes[0];
}

// A results directory on disk, written the way the controller writes it.
std::string write_dir(const RunData& r, const std::string& name, bool incomplete) {
  const std::string dir =
      (fs::temp_directory_path() / ("horde-compare-" + std::to_string(::getpid()) + "-" + name))
          .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    IntervalLog log;
    EXPECT_TRUE(log.open(dir + "/intervals.jsonl").ok());
    for (const auto& li : r.intervals) log.append(li.row, li.latency, r.dir, li.backends, li.names);
  }
  json s = r.summary;
  s["incomplete"] = incomplete;
  s["aborted"] = incomplete;
  EXPECT_TRUE(write_file_atomic(dir + "/summary.json", s.dump()).ok());
  return dir;
}

struct NameSpec {
  std::string name;
  double median_us = 2000;
  uint64_t per_interval = 100;
};

// One phase "run" of named requests as the controller writes it: per interval each name's
// histogram and counts (by its index in the workload's request list), the totals their sum,
// and summary.json's requests_by_name.
RunData make_named_run(const std::vector<NameSpec>& names, uint64_t seed, int intervals = 10) {
  std::mt19937_64 rng(seed);
  RunData r;
  r.dir = "named-" + std::to_string(seed);
  json requests = json::array();
  for (const auto& n : names) requests.push_back({{"name", n.name}, {"path", "/" + n.name}});
  r.summary = {{"run_id", r.dir},
               {"workload", {{"name", "w"}, {"requests", requests}}},
               {"phases", json::array()}};
  std::vector<std::lognormal_distribution<double>> latency;
  for (const auto& n : names) latency.emplace_back(std::log(n.median_us), 0.5);
  std::vector<uint64_t> per_name(names.size(), 0);
  uint64_t total = 0;
  for (int i = 0; i < intervals; ++i) {
    LoggedInterval li;
    li.row.phase = 0;
    li.row.interval = i;
    li.row.time_s = i + 1;
    li.row.duration_s = 1;
    for (uint32_t k = 0; k < names.size(); ++k) {
      NameStats s;
      for (uint64_t j = 0; j < names[k].per_interval; ++j) {
        const auto v = static_cast<int64_t>(latency[k](rng));
        s.latency.record(v);
        li.latency.record(v);
      }
      s.counters.requests = names[k].per_interval;
      li.row.counters.requests += s.counters.requests;
      per_name[k] += s.counters.requests;
      total += s.counters.requests;
      if (names.size() > 1) li.names[k] = std::move(s);
    }
    r.intervals.push_back(std::move(li));
  }
  json by_name = json::object();
  for (uint32_t k = 0; k < names.size(); ++k) {
    by_name[names[k].name] = {{"requests", per_name[k]},
                              {"errors", 0},
                              {"throughput_rps", double(per_name[k]) / intervals}};
  }
  r.summary["phases"].push_back({{"name", "run"},
                                 {"index", 0},
                                 {"requests", total},
                                 {"errors", 0},
                                 {"throughput_rps", double(total) / intervals},
                                 {"requests_by_name", by_name}});
  return r;
}

bool has_note(const RunComparison& c, const std::string& note) {
  return std::find(c.notes.begin(), c.notes.end(), note) != c.notes.end();
}

TEST(Compare, ANamesRegressionIsFlaggedWhileTheTotalsAreWithinTolerance) {
  // profile is 5% of the traffic and twice as slow in the candidate: the phase's figures move
  // by under 3% (within the 10% tolerance), profile's own by +100%.
  const std::vector<NameSpec> base = {{"home", 2000, 950}, {"profile", 1000, 50}};
  const std::vector<NameSpec> slow = {{"home", 2000, 950}, {"profile", 2000, 50}};
  int flagged = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const auto c =
        compare_runs(make_named_run(base, seed), make_named_run(slow, seed + 100), fast());
    bool total_regressed = false;
    for (const auto& r : c.rows)
      total_regressed = total_regressed || (r.scope == "phase run" && r.regression);
    const auto* p99 = row(c, "phase run name profile", "p99");
    ASSERT_NE(p99, nullptr) << comparison_text(c);
    EXPECT_FALSE(total_regressed) << comparison_text(c);
    flagged += p99->regression && c.exit_code() == 1;
    // Twice the median; p99 is 5 samples deep in 500, so only its direction is firm.
    EXPECT_NEAR(row(c, "phase run name profile", "p50")->change, 1.0, 0.15);
    EXPECT_GT(p99->change, 0.3);
    for (const auto& r : c.rows) {
      if (r.scope == "phase run name home") {
        EXPECT_FALSE(r.regression) << r.metric;
      }
    }
  }
  EXPECT_GE(flagged, 9);

  const auto c = compare_runs(make_named_run(base, 1), make_named_run(slow, 101), fast());
  const auto* p99 = row(c, "phase run name profile", "p99");
  ASSERT_TRUE(p99 && p99->regression);
  EXPECT_EQ(p99->test, "bootstrap");
  const auto lines = c.regression_lines();
  const std::string expected =
      fmt::format("p99 of phase run name profile: {:.4g} ms -> {:.4g} ms (+{:.0f}%, ",
                  p99->baseline, p99->candidate, 100 * p99->change);
  bool named = false;
  for (const auto& l : lines) named = named || l.rfind(expected, 0) == 0;
  EXPECT_TRUE(named) << comparison_text(c);
  // The name's figures are its own part of the run: throughput 50 rps, tested per interval.
  const auto* rps = row(c, "phase run name profile", "throughput");
  ASSERT_NE(rps, nullptr);
  EXPECT_DOUBLE_EQ(rps->baseline, 50);
  EXPECT_EQ(rps->test, "welch t");
  EXPECT_NE(row(c, "phase run name profile", "error_rate"), nullptr);
  EXPECT_NE(row(c, "phase run name profile", "distribution"), nullptr);
  EXPECT_EQ(row(c, "phase run name home", "throughput")->baseline, 950);
  EXPECT_TRUE(c.notes.empty()) << c.notes[0];

  // Through results directories on disk, into compare.json and compare.html.
  const auto a = write_dir(make_named_run(base, 1), "named-a", false);
  const auto b = write_dir(make_named_run(slow, 101), "named-b", false);
  auto d = compare_dirs(a, b, fast());
  ASSERT_TRUE(d.ok()) << d.error().message;
  // The files give what the values give.
  EXPECT_EQ(comparison_json(*d)["rows"].dump(), comparison_json(c)["rows"].dump());
  ASSERT_TRUE(write_comparison(*d, b).ok());
  const json j = json::parse(std::ifstream(b + "/compare.json"));
  bool in_json = false;
  for (const auto& r : j["rows"]) {
    in_json = in_json || (r["scope"] == "phase run name profile" && r["metric"] == "p99" &&
                          r["regression"] == true);
  }
  EXPECT_TRUE(in_json);
  std::ifstream html(b + "/compare.html");
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  EXPECT_NE(page.find("<td>phase run name profile</td><td>p99</td>"), std::string::npos);
  for (const auto& dir : {a, b}) fs::remove_all(dir);
}

TEST(Compare, ANameInOneRunOnlyIsANoteAndTheOthersStillMatchByName) {
  // The candidate dropped profile, added order, and lists order first: home is index 0 in
  // the baseline and 1 in the candidate.
  const auto c =
      compare_runs(make_named_run({{"home", 2000, 300}, {"profile", 2000, 30}}, 1),
                   make_named_run({{"order", 5000, 30}, {"home", 2000, 300}}, 2), fast());
  EXPECT_TRUE(has_note(c, "phase run name profile: only in the baseline")) << comparison_text(c);
  EXPECT_TRUE(has_note(c, "phase run name order: only in the candidate")) << comparison_text(c);
  EXPECT_EQ(row(c, "phase run name profile", "p99"), nullptr);
  EXPECT_EQ(row(c, "phase run name order", "p99"), nullptr);
  const auto* home = row(c, "phase run name home", "throughput");
  ASSERT_NE(home, nullptr);
  EXPECT_DOUBLE_EQ(home->baseline, 300);
  EXPECT_DOUBLE_EQ(home->candidate, 300);
  // Read from index 1 of the candidate's intervals: home's median, not order's 5 ms.
  EXPECT_NEAR(row(c, "phase run name home", "p50")->candidate, 2.0, 0.2);
  const std::string text = comparison_text(c);
  EXPECT_NE(text.find("note: phase run name order: only in the candidate"), std::string::npos);

  // One name a side, the same one: the phase's rows are that name's; no rows, no note.
  const auto one =
      compare_runs(make_named_run({{"home"}}, 3), make_named_run({{"home"}}, 4), fast());
  EXPECT_EQ(row(one, "phase run name home", "p99"), nullptr);
  EXPECT_TRUE(one.notes.empty()) << one.notes[0];
  // One name against two: the names are compared (the single name's intervals are its own).
  const auto grown =
      compare_runs(make_named_run({{"home", 2000, 300}}, 5),
                   make_named_run({{"home", 2000, 300}, {"order", 2000, 30}}, 6), fast());
  ASSERT_NE(row(grown, "phase run name home", "p99"), nullptr);
  EXPECT_DOUBLE_EQ(row(grown, "phase run name home", "throughput")->baseline, 300);
  EXPECT_EQ(row(grown, "phase run name home", "p99")->test, "bootstrap");
  EXPECT_TRUE(row(grown, "phase run name home", "p99")->p_value.has_value());
  EXPECT_TRUE(has_note(grown, "phase run name order: only in the candidate"));
  // A run without requests_by_name (before named requests) against one with them: a note.
  const auto old =
      compare_runs(make_run({{"run"}}, 7), make_named_run({{"home"}, {"order"}}, 8), fast());
  EXPECT_TRUE(
      has_note(old, "phase run: requests by name only in the candidate, names not compared"))
      << comparison_text(old);
}

TEST(Compare, ReadsResultsDirectoriesAndRefusesAPartialRun) {
  PhaseSpec slow{"run"};
  slow.median_us = 3000;
  const auto a = write_dir(make_run({{"run"}}, 1), "a", false);
  const auto b = write_dir(make_run({slow}, 2), "b", false);
  const auto partial = write_dir(make_run({{"run"}}, 3), "partial", true);
  auto c = compare_dirs(a, b, fast());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->exit_code(), 1);
  auto refused = compare_dirs(a, partial, fast());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--allow-incomplete"), std::string::npos);
  auto o = fast();
  o.allow_incomplete = true;
  EXPECT_TRUE(compare_dirs(a, partial, o).ok());
  EXPECT_FALSE(compare_dirs(a, "/nonexistent/horde", o).ok());
  // Same inputs, same seed: the same verdict and figures.
  auto again = compare_dirs(a, b, fast());
  EXPECT_EQ(comparison_json(*c).dump(), comparison_json(*again).dump());

  ASSERT_TRUE(write_comparison(*c, b).ok());
  const json j = json::parse(std::ifstream(b + "/compare.json"));
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_FALSE(j["regressions"].empty());
  std::ifstream html(b + "/compare.html");
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  // Self-contained: no script, no link, no external reference of any kind.
  for (const char* banned :
       {"<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"}) {
    EXPECT_EQ(page.find(banned), std::string::npos) << banned;
  }
  size_t charts = 0;
  for (size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 2u);  // spectrum and throughput of the one phase
  EXPECT_NE(page.find("class=\"regression\""), std::string::npos);

  if (fs::exists(testing::kChromium)) {
    // Rendered, and it asked the network for nothing (seen in Chromium's net log).
    const std::string png = b + "/compare.png";
    const auto rendered = testing::render_in_chromium(b + "/compare.html", png, 1280, 2000);
    ASSERT_TRUE(rendered.ok) << rendered.why;
    EXPECT_TRUE(rendered.page_requests.empty()) << rendered.page_requests.front();
    EXPECT_GT(fs::file_size(png), 50'000u);  // a blank page is a few kB
  }
  if (!std::getenv("HORDE_KEEP_REPORT")) {
    for (const auto& d : {a, b, partial}) fs::remove_all(d);
  }
}

}  // namespace compare_test
}  // namespace horde
