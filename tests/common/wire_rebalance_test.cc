// Tests for the Rebalance order on the wire: a round trip keeps it, a hostile
// or inconsistent order is rejected before the agent acts on it, and
// `rebalanced` applies a good one to the assigned slice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "common/wire.h"

namespace horde {
namespace wire_rebalance_test {

using ::testing::HasSubstr;

Rebalance open_order() { return Rebalance{"run-1", 2, 1.5, 0, 1'700'000'000'000'000'000}; }

Result<Rebalance> through_wire(const Rebalance& r) {
  v1::Rebalance w;
  to_wire(r, &w);
  return from_wire(w);
}

TEST(WireRebalance, RoundTrip) {
  auto back = through_wire(open_order());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, open_order());
  Rebalance closed{"run-1", 0, 0, 42, 5};
  back = through_wire(closed);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, closed);
}

TEST(WireRebalance, RejectsBadFactors) {
  for (double f : {-1.0, 1000.5, 1e308, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(f);
    Rebalance r = open_order();
    r.rate_factor = f;
    auto back = through_wire(r);
    ASSERT_FALSE(back.ok());
    EXPECT_THAT(back.error().message, HasSubstr("rate_factor"));
  }
  Rebalance r = open_order();
  r.rate_factor = 1000;  // the bound itself is allowed
  EXPECT_TRUE(through_wire(r).ok());
}

TEST(WireRebalance, RejectsTooManyConnectionsNoChangeAndBadTime) {
  Rebalance r{"run", 0, 0, kMaxConnectionsPerAgent + 1, 5};
  EXPECT_THAT(through_wire(r).error().message, HasSubstr("connections"));
  r.connections = kMaxConnectionsPerAgent;
  EXPECT_TRUE(through_wire(r).ok());
  r.connections = 0;
  EXPECT_THAT(through_wire(r).error().message, HasSubstr("neither"));
  r = open_order();
  r.from_unix_ns = 0;
  EXPECT_THAT(through_wire(r).error().message, HasSubstr("from_unix_ns"));
  r = open_order();
  r.run_id.assign(kMaxNameLength + 1, 'x');
  EXPECT_THAT(through_wire(r).error().message, HasSubstr("run_id"));
}

WorkloadSlice slice(LoadMode mode) {
  WorkloadSlice s;
  s.targets.push_back(parse_url("http://127.0.0.1:8080/").value());
  s.requests.push_back(RequestSpec{});
  s.load.mode = mode;
  s.load.connections = 10;
  s.load.rate = mode == LoadMode::kOpen ? 1000 : 0;
  return s;
}

TEST(Rebalanced, OpenLoopScalesTheRateAndEveryStage) {
  auto s = rebalanced(slice(LoadMode::kOpen), open_order());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_DOUBLE_EQ(s->load.rate, 1500);
  EXPECT_EQ(s->load.connections, 10u);  // the pool stays as assigned
  WorkloadSlice staged = slice(LoadMode::kOpen);
  staged.load.rate = 0;
  staged.load.stages = {Stage{Millis(1000), 100, 0}, Stage{Millis(1000), 300, 0}};
  s = rebalanced(staged, open_order());
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->load.stages[0].rate, 150);
  EXPECT_DOUBLE_EQ(s->load.stages[1].rate, 450);
  // Relative to the assignment, not compounding: applying it to the assigned slice again is equal.
  EXPECT_EQ(*rebalanced(staged, open_order()), *s);
}

TEST(Rebalanced, ClosedLoopReplacesTheConnectionCount) {
  auto s = rebalanced(slice(LoadMode::kClosed), Rebalance{"r", 0, 0, 15, 5});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->load.connections, 15u);
}

TEST(Rebalanced, RefusesAnOrderForTheOtherMode) {
  EXPECT_FALSE(rebalanced(slice(LoadMode::kClosed), open_order()).ok());
  EXPECT_FALSE(rebalanced(slice(LoadMode::kOpen), Rebalance{"r", 0, 0, 15, 5}).ok());
  WorkloadSlice staged = slice(LoadMode::kClosed);
  staged.load.stages = {Stage{Millis(1000), 0, 10}};
  EXPECT_FALSE(rebalanced(staged, Rebalance{"r", 0, 0, 15, 5}).ok());
}

}  // namespace wire_rebalance_test
}  // namespace horde
