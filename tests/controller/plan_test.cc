// Tests for the run plan: how a workload's connections and rate are divided
// among agents, and how many intervals a phase has.
#include "controller/plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

namespace horde {
namespace plan_test {

uint64_t sum(const std::vector<uint32_t>& v) {
  return std::accumulate(v.begin(), v.end(), uint64_t{0});
}

// Weights as split_proportional reads them (0 counts as 1).
std::vector<double> effective(const std::vector<uint32_t>& weights) {
  std::vector<double> out;
  for (uint32_t w : weights) out.push_back(w == 0 ? 1.0 : static_cast<double>(w));
  return out;
}

TEST(SplitProportional, PartsAlwaysAddUpAndStayWithinOneOfTheIdealShare) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 5000; ++trial) {
    const size_t n = 1 + rng() % 16;
    std::vector<uint32_t> weights(n);
    for (auto& w : weights) w = static_cast<uint32_t>(rng() % (trial % 3 == 0 ? 4 : 256));
    const uint32_t total = static_cast<uint32_t>(
        trial % 5 == 0 ? rng() % 8 : (trial % 7 == 0 ? rng() % 4'000'000'000u : rng() % 10'000));
    const auto parts = split_proportional(total, weights);
    ASSERT_EQ(parts.size(), n);
    ASSERT_EQ(sum(parts), total) << "trial " << trial;
    const auto eff = effective(weights);
    const double wsum = std::accumulate(eff.begin(), eff.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double ideal = static_cast<double>(total) * eff[i] / wsum;
      EXPECT_LT(std::abs(static_cast<double>(parts[i]) - ideal), 1.0 + 1e-6)
          << "trial " << trial << " part " << i;
    }
  }
}

TEST(SplitProportional, ExactWhenDivisible) {
  EXPECT_EQ(split_proportional(12, {1, 2, 3}), (std::vector<uint32_t>{2, 4, 6}));
  EXPECT_EQ(split_proportional(10, {1, 1}), (std::vector<uint32_t>{5, 5}));
}

TEST(SplitProportional, IsDeterministicAndTiesGoToEarlierAgents) {
  const std::vector<uint32_t> weights = {1, 1, 1, 1};
  const auto a = split_proportional(6, weights);
  EXPECT_EQ(a, (std::vector<uint32_t>{2, 2, 1, 1}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(split_proportional(6, weights), a);
}

TEST(SplitProportional, ZeroWeightsCountAsOne) {
  EXPECT_EQ(split_proportional(4, {0, 0}), (std::vector<uint32_t>{2, 2}));
  EXPECT_EQ(split_proportional(3, {0, 2}), (std::vector<uint32_t>{1, 2}));
}

TEST(SplitProportional, EmptyAndZeroTotal) {
  EXPECT_TRUE(split_proportional(10, {}).empty());
  EXPECT_EQ(split_proportional(0, {3, 5}), (std::vector<uint32_t>{0, 0}));
}

Workload base_workload() {
  Workload w;
  w.name = "plan";
  w.targets.push_back(parse_url("http://127.0.0.1:8080/x").value());
  w.requests.push_back(RequestSpec{});
  return w;
}

TEST(SplitLoad, ClosedLoopConnectionsAddUpAndFollowCores) {
  Workload w = base_workload();
  w.load.mode = LoadMode::kClosed;
  w.load.connections = 70;
  auto slices = split_load(w, {4, 2, 1});
  ASSERT_TRUE(slices.ok()) << slices.error().message;
  ASSERT_EQ(slices->size(), 3u);
  EXPECT_EQ((*slices)[0].load.connections, 40u);
  EXPECT_EQ((*slices)[1].load.connections, 20u);
  EXPECT_EQ((*slices)[2].load.connections, 10u);
  for (const auto& s : *slices) {
    EXPECT_EQ(s.targets, w.targets);
    EXPECT_EQ(s.requests, w.requests);
    EXPECT_EQ(s.load.mode, LoadMode::kClosed);
    EXPECT_EQ(s.load.rate, 0.0);
    EXPECT_EQ(s.load.duration, w.load.duration);
    EXPECT_EQ(s.load.interval, w.load.interval);
  }
}

TEST(SplitLoad, ClosedLoopRandomCoresEveryAgentGetsOneAndTheSumIsExact) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    Workload w = base_workload();
    const size_t n = 1 + rng() % 12;
    std::vector<uint32_t> cores(n);
    // Very uneven cores on purpose: a small agent's ideal share can be below one.
    for (auto& c : cores) c = static_cast<uint32_t>(rng() % 2 ? 1 + rng() % 4 : rng() % 200);
    w.load.connections = static_cast<uint32_t>(n + rng() % (trial % 2 ? 10 : 1000));
    auto slices = split_load(w, cores);
    ASSERT_TRUE(slices.ok()) << slices.error().message;
    uint64_t total = 0;
    const auto eff = effective(cores);
    const double csum = std::accumulate(eff.begin(), eff.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t c = (*slices)[i].load.connections;
      EXPECT_GE(c, 1u);
      total += c;
      // Proportional: within one of the ideal share, or the minimum of one when
      // other agents had to give up a connection to it.
      const double ideal = w.load.connections * eff[i] / csum;
      EXPECT_LE(static_cast<double>(c), std::max(ideal + 1.0, 1.0) + 1e-9)
          << "trial " << trial << " agent " << i;
    }
    EXPECT_EQ(total, w.load.connections) << "trial " << trial;
  }
}

TEST(SplitLoad, ClosedLoopProportionalWithinOneForBalancedCores) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 1000; ++trial) {
    Workload w = base_workload();
    const size_t n = 1 + rng() % 8;
    std::vector<uint32_t> cores(n);
    for (auto& c : cores) c = static_cast<uint32_t>(1 + rng() % 64);
    w.load.connections = static_cast<uint32_t>(64 * n + rng() % 5000);
    auto slices = split_load(w, cores);
    ASSERT_TRUE(slices.ok());
    const double csum = std::accumulate(cores.begin(), cores.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double ideal = w.load.connections * cores[i] / csum;
      EXPECT_LT(std::abs((*slices)[i].load.connections - ideal), 1.0 + 1e-9);
    }
  }
}

TEST(SplitLoad, FewerConnectionsThanAgentsIsAnErrorNamingTheField) {
  Workload w = base_workload();
  w.load.connections = 2;
  auto slices = split_load(w, {1, 1, 1});
  ASSERT_FALSE(slices.ok());
  EXPECT_NE(slices.error().message.find("load.connections"), std::string::npos)
      << slices.error().message;
  EXPECT_NE(slices.error().message.find("3 agents"), std::string::npos) << slices.error().message;
}

TEST(SplitLoad, NoAgentsIsAnError) { EXPECT_FALSE(split_load(base_workload(), {}).ok()); }

TEST(SplitLoad, OpenLoopRatesFollowCoresAndAddUp) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    Workload w = base_workload();
    w.load.mode = LoadMode::kOpen;
    w.load.rate = 0.5 + static_cast<double>(rng() % 1'000'000) / 7.0;
    // Open loop accepts fewer connections than agents: the ones opened in
    // advance add up to load.connections, and each agent may open at least one.
    w.load.connections = static_cast<uint32_t>(1 + rng() % 40);
    const size_t n = 1 + rng() % 12;
    std::vector<uint32_t> cores(n);
    for (auto& c : cores) c = static_cast<uint32_t>(rng() % 33);
    auto slices = split_load(w, cores);
    ASSERT_TRUE(slices.ok()) << slices.error().message;
    const auto eff = effective(cores);
    const double csum = std::accumulate(eff.begin(), eff.end(), 0.0);
    double rate_sum = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& s = (*slices)[i];
      EXPECT_EQ(s.load.mode, LoadMode::kOpen);
      EXPECT_GE(s.load.max_connections, std::max(s.load.connections, 1u));
      EXPECT_NEAR(s.load.rate, w.load.rate * eff[i] / csum, 1e-9 * w.load.rate);
      EXPECT_GT(s.load.rate, 0.0);
      rate_sum += s.load.rate;
    }
    EXPECT_NEAR(rate_sum, w.load.rate, 1e-9 * w.load.rate) << "trial " << trial;
  }
}

TEST(SplitLoad, OpenLoopFewConnectionsStillOnePerAgent) {
  Workload w = base_workload();
  w.load.mode = LoadMode::kOpen;
  w.load.rate = 300;
  w.load.connections = 1;
  auto slices = split_load(w, {1, 1, 1});
  ASSERT_TRUE(slices.ok());
  uint32_t in_advance = 0;
  for (const auto& s : *slices) {
    in_advance += s.load.connections;
    EXPECT_EQ(s.load.max_connections, 1u);  // each may open one when a request is due
    EXPECT_DOUBLE_EQ(s.load.rate, 100.0);
  }
  EXPECT_EQ(in_advance, 1u);
}

TEST(SplitLoad, OpenLoopSplitsTheBoundAndOpensNothingInAdvance) {
  Workload w = base_workload();
  w.load.mode = LoadMode::kOpen;
  w.load.rate = 300;
  w.load.connections = 0;
  w.load.max_connections = 0;  // the default bound: 10
  auto slices = split_load(w, {1, 1, 2});
  ASSERT_TRUE(slices.ok());
  uint32_t bound = 0;
  for (const auto& s : *slices) {
    EXPECT_EQ(s.load.connections, 0u);
    bound += s.load.max_connections;
  }
  EXPECT_EQ(bound, kDefaultOpenPool);
  EXPECT_EQ((*slices)[2].load.max_connections, 5u);
}

LoadSpec load_of(int64_t warmup_ms, int64_t duration_ms, int64_t interval_ms) {
  LoadSpec l;
  l.warmup = Millis(warmup_ms);
  l.duration = Millis(duration_ms);
  l.interval = Millis(interval_ms);
  return l;
}

TEST(IntervalCount, WholeIntervals) {
  EXPECT_EQ(interval_count(load_of(0, 10'000, 1'000)), 10u);
  EXPECT_EQ(warmup_interval_count(load_of(0, 10'000, 1'000)), 0u);
  EXPECT_EQ(interval_count(load_of(2'000, 10'000, 1'000)), 12u);
  EXPECT_EQ(warmup_interval_count(load_of(2'000, 10'000, 1'000)), 2u);
  EXPECT_EQ(interval_count(load_of(0, 3'000, 500)), 6u);
}

TEST(IntervalCount, PartialIntervalsRoundUp) {
  EXPECT_EQ(interval_count(load_of(0, 2'500, 1'000)), 3u);
  EXPECT_EQ(interval_count(load_of(0, 1, 1'000)), 1u);
  EXPECT_EQ(interval_count(load_of(1'500, 3'000, 1'000)), 5u);
  EXPECT_EQ(warmup_interval_count(load_of(1'500, 3'000, 1'000)), 2u);
}

TEST(IntervalCount, WarmupNeverExceedsTheTotal) {
  for (int64_t warm = 0; warm <= 5'000; warm += 250) {
    for (int64_t dur = 1'000; dur <= 5'000; dur += 1'000) {
      for (int64_t iv : {100, 250, 1'000, 2'000}) {
        const auto l = load_of(warm, dur, iv);
        EXPECT_LE(warmup_interval_count(l), interval_count(l));
        EXPECT_GE(interval_count(l) * iv, warm + dur);
        EXPECT_LT((interval_count(l) - 1) * iv, warm + dur);
      }
    }
  }
}

TEST(OfferedLoad, StagesOfferTheIntegralOfTheProfile) {
  // Issue 17 item 4: stages ramping to 1000 rps were reported as "0 rps" offered.
  LoadSpec l;
  l.mode = LoadMode::kOpen;
  l.stages = {{Millis(10'000), 1000, 0},
              {Millis(20'000), 1000, 0},
              {Millis(0), 200, 0},
              {Millis(10'000), 0, 0}};
  l.duration = Millis(40'000);
  // Ramp 0 -> 1000 over 10 s: 5000; hold 20 s: 20000; a step to 200; ramp 200 -> 0 over 10 s: 1000.
  EXPECT_DOUBLE_EQ(offered_requests(l).value(), 26'000.0);
  EXPECT_DOUBLE_EQ(mean_offered_rate(l).value(), 650.0);
  EXPECT_EQ(load_profile_text(l),
            "stages 0 -> 1000 -> 1000 -> 200 -> 0 rps open loop (mean 650.0 rps, 26000 requests "
            "offered)");
  LoadSpec c;  // constant open loop
  c.mode = LoadMode::kOpen;
  c.rate = 250;
  c.duration = Millis(4'000);
  EXPECT_DOUBLE_EQ(offered_requests(c).value(), 1000.0);
  EXPECT_DOUBLE_EQ(mean_offered_rate(c).value(), 250.0);
  EXPECT_EQ(load_profile_text(c), "250 rps open loop");
  LoadSpec closed;  // closed loop offers nothing by itself
  EXPECT_FALSE(offered_requests(closed).has_value());
  EXPECT_EQ(load_profile_text(closed), "10 connections closed loop");
}

}  // namespace plan_test
}  // namespace horde
