// Per-backend counts merged over agents and intervals exactly like the totals:
// the sum over backends of every merged interval and of the phase is the
// totals, histograms included, whatever the split of the samples.
#include <gtest/gtest.h>

#include <random>

#include "controller/backend_results.h"
#include "controller/merge.h"
#include "controller/phase_accumulator.h"

namespace horde {
namespace backend_merge_test {

// One agent's interval: `n` requests spread over backends at random, each
// recorded in the totals and in its backend.
IntervalReport random_report(std::mt19937& rng, uint32_t interval, int n) {
  IntervalReport r;
  r.interval = interval;
  std::uniform_int_distribution<int> backend(0, 4);
  std::uniform_int_distribution<int64_t> latency(50, 50'000);
  std::bernoulli_distribution failed(0.1);
  for (int i = 0; i < n; ++i) {
    const std::string id = "10.0.0." + std::to_string(backend(rng)) + ":80";
    BackendStats one;
    one.requests = 1;
    ++r.counters.requests;
    if (failed(rng)) {
      one.errors = 1;
      ++r.counters.errors;
      ++r.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)];
    } else {
      const int64_t us = latency(rng);
      one.status_codes[200] = 1;
      ++r.counters.status_codes[200];
      one.latency.record(us);
      r.latency.record(us);
    }
    r.backends.add(id, one);
  }
  return r;
}

TEST(BackendMerge, SumOfBackendsIsTheTotalsOverAgentsAndIntervals) {
  std::mt19937 rng(7);
  constexpr uint32_t kIntervals = 4;
  PhaseMerger m(kIntervals, 1, {1, 2, 3});
  Backends truth;  // every measured report's backends, added directly
  for (uint32_t i = 0; i < kIntervals; ++i) {
    for (uint64_t agent : {1, 2, 3}) {
      const IntervalReport r = random_report(rng, i, 200 + static_cast<int>(agent) * 17);
      if (i >= 1) truth.add(r.backends);
      ASSERT_TRUE(m.add(agent, r).ok());
    }
  }
  PhaseAccumulator acc(0, "p", std::nullopt);
  PhaseTiming timing;
  timing.intervals = kIntervals;
  timing.warmup_intervals = 1;
  timing.total_s = kIntervals;
  m.close_ready(kIntervals, [&](ClosedMerge& c) {
    EXPECT_EQ(c.backends.requests(), c.counters.requests);
    EXPECT_EQ(c.backends.errors(), c.counters.errors);
    Histogram sum;
    for (const auto& [id, s] : c.backends.by_id) sum.add(s.latency);
    EXPECT_EQ(sum, c.latency);
    IntervalRow row = acc.row(timing, c.index, c.warmup, c.agents, c.counters, c.latency, 0);
    acc.add(row, c.latency, c.backends);
  });
  const PhaseResult p = acc.finish(std::nullopt, false);
  EXPECT_EQ(p.backends, truth);
  EXPECT_EQ(p.backends.requests(), p.counters.requests);
  EXPECT_EQ(p.backends.errors(), p.counters.errors);
  Histogram sum;
  for (const auto& [id, s] : p.backends.by_id) sum.add(s.latency);
  EXPECT_EQ(sum, p.latency);
  // The JSON shares add up to 1 and the spread names 5 backends.
  const auto j = backends_json(p);
  ASSERT_EQ(j.size(), 5u);
  double shares = 0;
  uint64_t requests = 0;
  for (const auto& b : j) {
    shares += b["share"].get<double>();
    requests += b["requests"].get<uint64_t>();
  }
  EXPECT_NEAR(shares, 1.0, 1e-3);
  EXPECT_EQ(requests, p.counters.requests);
  EXPECT_EQ(spread_json(p)["backends"], 5);
  // backends.csv: one row per measured and warm-up interval x backend seen.
  RunResult run;
  run.phases.push_back(p);
  size_t rows = 0;
  for (const auto& row : p.intervals) rows += row.backends.size();
  const std::string csv = backends_csv(run);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), rows + 1);
}

TEST(BackendResults, UnevenSpreadWarningNamesTheHeaviest) {
  PhaseResult p;
  p.name = "phase0";
  BackendStats s;
  s.requests = 80;
  p.backends.add("a:80", s);
  s.requests = 10;
  p.backends.add("b:80", s);
  p.backends.add("c:80", s);
  const auto w = uneven_spread_warning(p, 1.2);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->rfind("uneven_spread: ", 0), 0u) << *w;
  EXPECT_NE(w->find("a:80 took 80%"), std::string::npos) << *w;
  EXPECT_FALSE(uneven_spread_warning(p, 2.5));  // imbalance 2.4
  PhaseResult one;
  s.requests = 100;
  one.backends.add("only:80", s);
  EXPECT_FALSE(uneven_spread_warning(one, 1.2));
  EXPECT_EQ(shares_text(p), "80% / 10% / 10%");
}

}  // namespace backend_merge_test
}  // namespace horde
