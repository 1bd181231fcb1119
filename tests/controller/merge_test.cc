// Tests for PhaseMerger: intervals close in order, only when complete (or
// forced), late reports are discarded and counted, and merging deltas of any
// split of the samples gives the same result as recording them all at once.
#include "controller/merge.h"

#include <gtest/gtest.h>

#include <random>

namespace horde {
namespace merge_test {

IntervalReport report(uint32_t interval, uint64_t requests, int64_t latency_us = 1000) {
  IntervalReport r;
  r.interval = interval;
  r.counters.requests = requests;
  r.counters.status_codes[200] = requests;
  for (uint64_t i = 0; i < requests; ++i) r.latency.record(latency_us);
  return r;
}

std::vector<uint32_t> indexes(const std::vector<MergedInterval>& v) {
  std::vector<uint32_t> out;
  for (const auto& m : v) out.push_back(m.index);
  return out;
}

TEST(PhaseMerger, ClosesOnlyWhenEveryAgentReported) {
  PhaseMerger m(3, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(0, 5)).ok());
  EXPECT_TRUE(m.take_ready(0).empty());
  ASSERT_TRUE(m.add(1, report(1, 5)).ok());
  EXPECT_TRUE(m.take_ready(0).empty());
  ASSERT_TRUE(m.add(2, report(0, 7)).ok());
  auto ready = m.take_ready(0);
  ASSERT_EQ(indexes(ready), (std::vector<uint32_t>{0}));
  EXPECT_EQ(ready[0].agents, 2u);
  EXPECT_EQ(ready[0].counters.requests, 12u);
  EXPECT_EQ(ready[0].latency.total_count(), 12u);
  EXPECT_EQ(m.next_interval(), 1u);
  ASSERT_TRUE(m.add(2, report(1, 1)).ok());
  ASSERT_TRUE(m.add(2, report(2, 1)).ok());
  ASSERT_TRUE(m.add(1, report(2, 1)).ok());
  EXPECT_EQ(indexes(m.take_ready(0)), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(m.done());
  EXPECT_TRUE(m.take_ready(100).empty());
}

TEST(PhaseMerger, NextReadyAgreesWithTakeReady) {
  PhaseMerger m(2, 0, {1, 2, 3});
  EXPECT_FALSE(m.next_ready());
  ASSERT_TRUE(m.add(1, report(0, 1)).ok());
  ASSERT_TRUE(m.add(2, report(0, 1)).ok());
  ASSERT_TRUE(m.add(1, report(1, 1)).ok());
  EXPECT_FALSE(m.next_ready());
  m.agent_finished(3);  // lost: interval 0 no longer waits for it
  EXPECT_TRUE(m.next_ready());
  EXPECT_EQ(indexes(m.take_ready(0)), (std::vector<uint32_t>{0}));
  EXPECT_FALSE(m.next_ready());  // interval 1 still waits for agent 2
  ASSERT_TRUE(m.add(2, report(1, 1)).ok());
  EXPECT_TRUE(m.next_ready());
  m.take_ready(0);
  EXPECT_FALSE(m.next_ready());  // done
}

TEST(PhaseMerger, ClosesInOrderEvenWhenLaterIntervalsAreComplete) {
  PhaseMerger m(3, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(1, 1)).ok());  // agent 1 skipped interval 0
  ASSERT_TRUE(m.add(1, report(2, 1)).ok());
  EXPECT_TRUE(m.take_ready(0).empty());
  ASSERT_TRUE(m.add(2, report(0, 1)).ok());
  ASSERT_TRUE(m.add(2, report(1, 1)).ok());
  ASSERT_TRUE(m.add(2, report(2, 1)).ok());
  EXPECT_TRUE(m.take_ready(0).empty());  // interval 0 still lacks agent 1
  auto ready = m.take_ready(1);
  EXPECT_EQ(indexes(ready), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(ready[0].agents, 1u);
  EXPECT_EQ(ready[2].agents, 2u);
}

TEST(PhaseMerger, ForceBeforeClosesIncompleteIntervals) {
  PhaseMerger m(4, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(0, 3)).ok());
  ASSERT_TRUE(m.add(1, report(1, 3)).ok());
  auto ready = m.take_ready(2);
  ASSERT_EQ(indexes(ready), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(ready[0].agents, 1u);
  EXPECT_EQ(ready[0].counters.requests, 3u);
  // An interval nobody reported still closes, empty.
  ready = m.take_ready(3);
  ASSERT_EQ(indexes(ready), (std::vector<uint32_t>{2}));
  EXPECT_EQ(ready[0].agents, 0u);
  EXPECT_EQ(ready[0].counters, Counters{});
  EXPECT_TRUE(ready[0].latency.empty());
  EXPECT_EQ(m.next_interval(), 3u);
  EXPECT_FALSE(m.done());
}

TEST(PhaseMerger, AgentFinishedStopsWaitingForIt) {
  PhaseMerger m(3, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(0, 1)).ok());
  EXPECT_TRUE(m.take_ready(0).empty());
  m.agent_finished(2);
  EXPECT_EQ(indexes(m.take_ready(0)), (std::vector<uint32_t>{0}));
  ASSERT_TRUE(m.add(1, report(1, 1)).ok());
  EXPECT_EQ(indexes(m.take_ready(0)), (std::vector<uint32_t>{1}));
  m.agent_finished(1);
  // Nobody left to wait for: the rest closes.
  EXPECT_EQ(indexes(m.take_ready(0)), (std::vector<uint32_t>{2}));
  EXPECT_TRUE(m.done());
}

TEST(PhaseMerger, LateReportIsDiscardedCountedAndNeverLandsLater) {
  PhaseMerger m(3, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(0, 4)).ok());
  ASSERT_EQ(indexes(m.take_ready(1)), (std::vector<uint32_t>{0}));  // grace passed
  auto late = m.add(2, report(0, 100));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);
  EXPECT_EQ(m.discarded_reports(), 1u);
  ASSERT_TRUE(m.add(1, report(1, 4)).ok());
  auto on_time = m.add(2, report(1, 6));
  ASSERT_TRUE(on_time.ok());
  EXPECT_TRUE(*on_time);
  auto ready = m.take_ready(0);
  ASSERT_EQ(indexes(ready), (std::vector<uint32_t>{1}));
  EXPECT_EQ(ready[0].counters.requests, 10u);
  EXPECT_EQ(m.measured_counters().requests, 14u);
  EXPECT_EQ(m.measured_latency().total_count(), 14u);
  EXPECT_EQ(m.per_agent().at(2).requests, 6u);
  EXPECT_EQ(m.discarded_reports(), 1u);
}

TEST(PhaseMerger, OutOfRangeAndNonIncreasingIndexesAreErrors) {
  PhaseMerger m(3, 0, {1});
  auto out = m.add(1, report(3, 1));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("interval 3"), std::string::npos) << out.error().message;
  ASSERT_TRUE(m.add(1, report(1, 1)).ok());
  EXPECT_FALSE(m.add(1, report(1, 1)).ok());  // repeated
  EXPECT_FALSE(m.add(1, report(0, 1)).ok());  // goes back
  EXPECT_FALSE(m.add(9, report(2, 1)).ok());  // not in this phase
  ASSERT_TRUE(m.add(1, report(2, 1)).ok());
  EXPECT_EQ(m.discarded_reports(), 0u);
}

TEST(PhaseMerger, WarmupIntervalsAreExcludedFromMeasuredResults) {
  PhaseMerger m(4, 2, {1});
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(m.add(1, report(i, 10 + i, 1000 * (i + 1))).ok());
  auto ready = m.take_ready(0);
  ASSERT_EQ(ready.size(), 4u);
  EXPECT_TRUE(ready[0].warmup);
  EXPECT_TRUE(ready[1].warmup);
  EXPECT_FALSE(ready[2].warmup);
  EXPECT_FALSE(ready[3].warmup);
  EXPECT_EQ(m.measured_counters().requests, 12u + 13u);
  EXPECT_EQ(m.measured_latency().total_count(), 25u);
  EXPECT_EQ(m.measured_latency().min(), 3000);
  EXPECT_EQ(m.measured_latency().max(), 4000);
  EXPECT_EQ(m.per_agent().at(1).requests, 25u);
}

// The heart of exact merging: however the samples are split over agents and
// intervals, the merged measured histogram equals one histogram of all samples.
TEST(PhaseMerger, MergingTheDeltasOfAnySplitEqualsTheWhole) {
  std::mt19937_64 rng(2024);
  std::lognormal_distribution<double> latency(std::log(2000.0), 1.2);
  for (int trial = 0; trial < 40; ++trial) {
    const uint32_t agents = 1 + static_cast<uint32_t>(rng() % 6);
    const uint32_t intervals = 1 + static_cast<uint32_t>(rng() % 10);
    const uint32_t warmup = static_cast<uint32_t>(rng() % intervals);
    std::set<uint64_t> ids;
    for (uint64_t a = 0; a < agents; ++a) ids.insert(100 + a);

    // reports[agent][interval], built from random samples.
    std::vector<std::vector<IntervalReport>> reports(agents,
                                                     std::vector<IntervalReport>(intervals));
    for (uint32_t a = 0; a < agents; ++a) {
      for (uint32_t i = 0; i < intervals; ++i) reports[a][i].interval = i;
    }
    Histogram whole;
    Counters whole_counters;
    std::map<uint64_t, Counters> whole_per_agent;
    const int samples = 500 + static_cast<int>(rng() % 5000);
    for (int s = 0; s < samples; ++s) {
      const uint32_t a = static_cast<uint32_t>(rng() % agents);
      const uint32_t i = static_cast<uint32_t>(rng() % intervals);
      const auto v = static_cast<int64_t>(latency(rng));
      Counters one;
      one.requests = 1;
      if (rng() % 10 == 0) {
        one.errors = 1;
        one.errors_by_class[rng() % kErrorClassCount] = 1;
      } else {
        one.status_codes[rng() % 4 == 0 ? 404 : 200] = 1;
      }
      one.bytes_sent = 100;
      one.bytes_received = rng() % 1000;
      one.cpu_seconds = 0.25;  // binary fraction: sums are exact in any order
      one.max_schedule_lag_us = static_cast<int64_t>(rng() % 5000);
      IntervalReport& r = reports[a][i];
      r.counters.add(one);
      r.latency.record(v);
      if (i >= warmup) {
        whole.record(v);
        whole_counters.add(one);
        whole_per_agent[100 + a].add(one);
      }
    }

    PhaseMerger m(intervals, warmup, ids);
    // Deliver in a random interleaving that keeps each agent's own order.
    std::vector<uint32_t> next(agents, 0);
    std::vector<MergedInterval> closed;
    for (uint32_t left = agents * intervals; left > 0; --left) {
      uint32_t a;
      do {
        a = static_cast<uint32_t>(rng() % agents);
      } while (next[a] >= intervals);
      auto added = m.add(100 + a, reports[a][next[a]++]);
      ASSERT_TRUE(added.ok()) << added.error().message;
      ASSERT_TRUE(*added);
      for (auto& c : m.take_ready(0)) closed.push_back(std::move(c));
    }
    ASSERT_TRUE(m.done());
    ASSERT_EQ(closed.size(), intervals);
    EXPECT_EQ(m.discarded_reports(), 0u);
    EXPECT_EQ(m.measured_latency(), whole) << "trial " << trial;
    EXPECT_EQ(m.measured_counters(), whole_counters) << "trial " << trial;

    Counters from_intervals;
    Counters from_agents;
    for (const auto& c : closed) {
      EXPECT_EQ(c.agents, agents);
      if (!c.warmup) from_intervals.add(c.counters);
    }
    for (const auto& [id, c] : m.per_agent()) {
      from_agents.add(c);
      Counters expected = whole_per_agent[id];
      EXPECT_EQ(c, expected) << "agent " << id;
    }
    EXPECT_EQ(from_intervals, whole_counters);
    EXPECT_EQ(from_agents, whole_counters);
  }
}

// A report may run at most kMaxAhead intervals ahead of the phase's clock (or
// of the lowest open interval): every open interval holds a dense histogram,
// so far-future reports would otherwise cost ~188 KB each.
TEST(PhaseMerger, FarAheadReportIsRejectedAndCounted) {
  PhaseMerger m(100'000, 0, {1, 2});
  ASSERT_TRUE(m.add(1, report(PhaseMerger::kMaxAhead, 1)).ok());  // at the bound
  auto far = m.add(2, report(PhaseMerger::kMaxAhead + 1, 1));
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error().message.find("ahead"), std::string::npos) << far.error().message;
  EXPECT_EQ(m.rejected_reports(), 1u);
  // As the phase's clock moves, the bound moves with it.
  m.set_clock(1000);
  ASSERT_TRUE(m.add(2, report(1000 + PhaseMerger::kMaxAhead, 1)).ok());
  EXPECT_FALSE(m.add(1, report(1001 + PhaseMerger::kMaxAhead, 1)).ok());
  EXPECT_EQ(m.rejected_reports(), 2u);
  // The clock never goes back.
  m.set_clock(10);
  EXPECT_TRUE(m.add(1, report(1000 + PhaseMerger::kMaxAhead - 1, 1)).ok());
}

// Merged counts never wrap: a report that would overflow the run's counts, or
// that counts more in one interval than any agent can, is rejected.
TEST(PhaseMerger, ReportThatWouldWrapACountIsRejected) {
  Counters before;
  before.requests = UINT64_MAX - 5;
  PhaseMerger m(10, 0, {1}, before, 0);
  auto wraps = m.add(1, report(0, 10));
  ASSERT_FALSE(wraps.ok());
  EXPECT_NE(wraps.error().message.find("overflow"), std::string::npos) << wraps.error().message;
  EXPECT_EQ(m.rejected_reports(), 1u);
  ASSERT_TRUE(m.add(1, report(1, 5)).ok());  // exactly to the top
  EXPECT_FALSE(m.add(1, report(2, 1)).ok());
  EXPECT_EQ(m.rejected_reports(), 2u);

  // The repro: 2^64-1 requests from one agent, then 10 requests / 10 errors
  // from another used to merge into requests 9, error rate 1.111.
  PhaseMerger m2(10, 0, {1, 2});
  IntervalReport huge = report(0, 0);
  huge.counters.requests = UINT64_MAX;
  auto rejected = m2.add(1, huge);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.error().message.find("overflow"), std::string::npos);
  IntervalReport ten = report(0, 10);
  ten.counters.errors = 10;
  ASSERT_TRUE(m2.add(2, ten).ok());
  m2.agent_finished(1);
  auto closed = m2.take_ready(0);
  ASSERT_FALSE(closed.empty());
  EXPECT_EQ(closed[0].counters.requests, 10u);
  EXPECT_EQ(closed[0].counters.errors, 10u);
  // Other counts and the histogram are bounded the same way.
  PhaseMerger m3(10, 0, {1});
  IntervalReport bytes = report(0, 1);
  bytes.counters.bytes_received = PhaseMerger::kMaxReportCount + 1;
  EXPECT_FALSE(m3.add(1, bytes).ok());
  IntervalReport codes = report(1, 1);
  codes.counters.status_codes[200] = UINT64_MAX;
  EXPECT_FALSE(m3.add(1, codes).ok());
  EXPECT_EQ(m3.rejected_reports(), 2u);
  PhaseMerger m4(10, 0, {1}, Counters{}, UINT64_MAX - 1);
  EXPECT_FALSE(m4.add(1, report(0, 2)).ok());  // latency samples would wrap
}

TEST(Counters, CanAddAndMaxCount) {
  Counters a;
  a.requests = UINT64_MAX - 1;
  a.status_codes[200] = 7;
  Counters b;
  b.requests = 1;
  EXPECT_TRUE(a.can_add(b));
  b.requests = 2;
  EXPECT_FALSE(a.can_add(b));
  b.requests = 0;
  b.status_codes[200] = UINT64_MAX - 7;
  EXPECT_TRUE(a.can_add(b));
  b.status_codes[200] = UINT64_MAX - 6;
  EXPECT_FALSE(a.can_add(b));
  b.status_codes.clear();
  b.errors_by_class[3] = UINT64_MAX;
  EXPECT_TRUE(a.can_add(b));  // a's count there is 0
  a.errors_by_class[3] = 1;
  EXPECT_FALSE(a.can_add(b));
  EXPECT_EQ(b.max_count(), UINT64_MAX);
  EXPECT_EQ(Counters{}.max_count(), 0u);
}

// A phase every agent left closes what was reported and nothing after it:
// the rest of a long phase is not invented (and costs nothing).
TEST(PhaseMerger, PhaseEveryoneLeftClosesOnlyWhatWasReported) {
  PhaseMerger m(10'000'000, 0, {1, 2});  // e.g. 24 h at 100 ms intervals, and more
  ASSERT_TRUE(m.add(1, report(0, 3)).ok());
  ASSERT_TRUE(m.add(2, report(0, 4)).ok());
  ASSERT_TRUE(m.add(1, report(2, 3)).ok());  // agent 1 skipped interval 1
  m.agent_finished(1);
  m.agent_finished(2);
  std::vector<uint32_t> closed;
  EXPECT_EQ(m.close_ready(0, [&](ClosedMerge& c) { closed.push_back(c.index); }), 3u);
  EXPECT_EQ(closed, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_TRUE(m.settled());
  EXPECT_FALSE(m.done());
  EXPECT_EQ(m.reported_end(), 3u);
  EXPECT_FALSE(m.next_ready());
  EXPECT_EQ(m.close_ready(0, [&](ClosedMerge&) { FAIL(); }), 0u);
  // Forced (time passed), the past closes empty, and only the past.
  EXPECT_EQ(m.close_ready(5,
                          [&](ClosedMerge& c) {
                            EXPECT_EQ(c.agents, 0u);
                            EXPECT_TRUE(c.latency.empty());
                          }),
            2u);
  EXPECT_EQ(m.next_interval(), 5u);
}

TEST(PhaseMerger, NobodyReportedAndEveryoneLeftIsSettledAtOnce) {
  PhaseMerger m(10'000'000, 0, {1});
  EXPECT_FALSE(m.settled());
  m.agent_finished(1);  // refused the phase
  EXPECT_TRUE(m.settled());
  EXPECT_EQ(m.close_ready(0, [](ClosedMerge&) { FAIL(); }), 0u);
  EXPECT_EQ(m.reported_end(), 0u);
}

}  // namespace merge_test
}  // namespace horde
