// Tests for plan_rebalance: a lost agent's share handed to the survivors adds
// back up to the workload's whole load, checked against the split the
// survivors would have got had they been the only agents from the start.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "controller/plan.h"

namespace horde {
namespace rebalance_plan_test {

Workload workload(LoadMode mode) {
  Workload w;
  w.name = "rebalance";
  w.targets.push_back(parse_url("http://127.0.0.1:8080/x").value());
  w.requests.push_back(RequestSpec{});
  w.load.mode = mode;
  w.load.connections = 30;
  w.load.rate = mode == LoadMode::kOpen ? 3000 : 0;
  return w;
}

TEST(PlanRebalance, OpenLoopFactorGivesTheSurvivorsTheWholeRate) {
  const Workload w = workload(LoadMode::kOpen);
  auto plan = plan_rebalance(w, {4, 4, 4}, {4, 4});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_DOUBLE_EQ(plan->rate_factor, 1.5);
  EXPECT_TRUE(plan->connections.empty());
  // The factor is relative to the assignment: after a second loss it covers both.
  plan = plan_rebalance(w, {4, 4, 4}, {4});
  ASSERT_TRUE(plan.ok());
  EXPECT_DOUBLE_EQ(plan->rate_factor, 3.0);
}

TEST(PlanRebalance, OpenLoopSurvivorRatesAddUpToTheTotalWithUnequalCores) {
  const Workload w = workload(LoadMode::kOpen);
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const size_t n = 2 + rng() % 10;
    std::vector<uint32_t> members(n);
    for (auto& c : members) c = static_cast<uint32_t>(rng() % 17);  // 0 counts as 1
    std::vector<uint32_t> survivors;
    std::vector<size_t> kept;
    for (size_t i = 0; i < n; ++i) {
      if (i == 0 || rng() % 2) {
        survivors.push_back(members[i]);
        kept.push_back(i);
      }
    }
    auto slices = split_load(w, members);
    ASSERT_TRUE(slices.ok());
    auto plan = plan_rebalance(w, members, survivors);
    ASSERT_TRUE(plan.ok());
    double total = 0;
    for (size_t i : kept) total += (*slices)[i].load.rate * plan->rate_factor;
    EXPECT_NEAR(total, w.load.rate, 1e-6) << "trial " << trial;
  }
}

TEST(PlanRebalance, ClosedLoopConnectionsAddUpToTheTotal) {
  Workload w = workload(LoadMode::kClosed);
  w.load.connections = 31;
  auto plan = plan_rebalance(w, {4, 2, 1}, {2, 1});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->rate_factor, 0);
  EXPECT_EQ(plan->connections, (std::vector<uint32_t>{21, 10}));
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<uint32_t> survivors(1 + rng() % 8);
    for (auto& c : survivors) c = static_cast<uint32_t>(1 + rng() % 64);
    w.load.connections = static_cast<uint32_t>(survivors.size() + rng() % 1000);
    plan = plan_rebalance(w, survivors, survivors);
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->connections.size(), survivors.size());
    EXPECT_EQ(std::accumulate(plan->connections.begin(), plan->connections.end(), 0u),
              w.load.connections);
    for (uint32_t c : plan->connections) EXPECT_GE(c, 1u);
  }
}

TEST(PlanRebalance, RefusesWhatItCannotDo) {
  Workload w = workload(LoadMode::kClosed);
  EXPECT_FALSE(plan_rebalance(w, {1, 1}, {}).ok());
  w.load.connections = 2;
  EXPECT_FALSE(plan_rebalance(w, {1, 1, 1}, {1, 1, 1}).ok());  // fewer connections than agents
  w.load.connections = 10;
  w.load.stages = {Stage{std::chrono::milliseconds(1000), 0, 10}};
  EXPECT_FALSE(plan_rebalance(w, {1, 1}, {1}).ok());
}

}  // namespace rebalance_plan_test
}  // namespace horde
