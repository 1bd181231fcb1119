// Tests for the saturation warnings: each kind (CPU, schedule lag, pool at its
// limit) is said once per agent, and the thresholds hold exactly at the edge.
#include "controller/saturation.h"

#include <gtest/gtest.h>

namespace horde {
namespace saturation_test {

SaturationInput input(LoadMode mode = LoadMode::kOpen) {
  SaturationInput in;
  in.agent = "a1";
  in.cores = 4;
  in.threads = 2;  // usable cores: 2
  in.interval_s = 0.5;
  in.mode = mode;
  return in;
}

IntervalReport figures(double cpu_seconds, uint64_t requests, uint64_t late,
                       uint64_t pool_hits = 0) {
  IntervalReport r;
  r.phase = 1;
  r.interval = 7;
  r.counters.cpu_seconds = cpu_seconds;
  r.counters.requests = requests;
  r.counters.late = late;
  r.counters.max_schedule_lag_us = 12'345;
  r.counters.max_connections_hit = pool_hits;
  return r;
}

TEST(Saturation, QuietAgentGivesNoWarning) {
  SaturationWarned w;
  EXPECT_TRUE(saturation_warnings(input(), figures(0.1, 1000, 0), &w).empty());
  EXPECT_FALSE(w.cpu || w.lag || w.pool);
}

TEST(Saturation, CpuOverEightyFivePercentOfUsableCoresOnce) {
  // 2 usable cores x 0.5 s = 1 CPU second available; 0.85 is exactly the edge.
  SaturationWarned w;
  EXPECT_TRUE(saturation_warnings(input(), figures(0.85, 100, 0), &w).empty());
  auto out = saturation_warnings(input(), figures(0.86, 100, 0), &w);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0],
            "agent a1 used 86% of its 2 core(s) in phase 1 interval 7: the load generator, not "
            "the target, may be limiting the result; add agents or threads");
  EXPECT_TRUE(w.cpu);
  EXPECT_TRUE(saturation_warnings(input(), figures(0.99, 100, 0), &w).empty());  // said once
  // Threads above cores: the cores bound it; threads 0 and cores 0 count as one core.
  SaturationInput few = input();
  few.cores = 1;
  few.threads = 8;
  SaturationWarned w2;
  EXPECT_EQ(saturation_warnings(few, figures(0.45, 1, 0), &w2).size(), 1u);
  few.cores = 0;
  few.threads = 0;
  SaturationWarned w3;
  EXPECT_TRUE(saturation_warnings(few, figures(0.425, 1, 0), &w3).empty());
  EXPECT_EQ(saturation_warnings(few, figures(0.43, 1, 0), &w3).size(), 1u);
}

TEST(Saturation, LagOverOnePercentAndAtLeastTenLateOnceInOpenLoopOnly) {
  SaturationWarned w;
  EXPECT_TRUE(saturation_warnings(input(), figures(0, 1000, 10), &w).empty());  // exactly 1%
  EXPECT_TRUE(saturation_warnings(input(), figures(0, 500, 9), &w).empty());    // under 10
  auto out = saturation_warnings(input(), figures(0, 999, 10), &w);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0],
            "agent a1 sent 10 of 999 requests late in phase 1 interval 7 (schedule lag up to "
            "12.3 ms): it cannot keep the offered rate; too few connections or a slow target");
  EXPECT_TRUE(w.lag);
  EXPECT_TRUE(saturation_warnings(input(), figures(0, 100, 50), &w).empty());  // said once
  // With the CPU hot as well, both are said and the lag names the CPU.
  SaturationWarned both;
  out = saturation_warnings(input(), figures(0.9, 100, 50), &both);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].find("used 90%"), std::string::npos);
  EXPECT_NE(out[1].find("the agent is out of CPU"), std::string::npos);
  // Closed loop has no schedule to keep.
  SaturationWarned closed;
  EXPECT_TRUE(saturation_warnings(input(LoadMode::kClosed), figures(0, 100, 50), &closed).empty());
  EXPECT_FALSE(closed.lag);
}

TEST(Saturation, PoolAtItsLimitOnce) {
  SaturationWarned w;
  EXPECT_TRUE(saturation_warnings(input(), figures(0, 100, 0, 0), &w).empty());
  auto out = saturation_warnings(input(LoadMode::kClosed), figures(0, 100, 0, 1), &w);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0],
            "agent a1: 1 due request(s) found every connection busy in phase 1 interval 7 (pool "
            "at its limit); latency includes the wait; raise load.max_connections or "
            "load.connections");
  EXPECT_TRUE(w.pool);
  EXPECT_TRUE(saturation_warnings(input(), figures(0, 100, 0, 5), &w).empty());
}

TEST(Saturation, ATargetThatAnswersNothingIsNotAGeneratorLimit) {
  // Issue 17: against a dead target every due request finds the pool full of
  // failing connects; "raise load.max_connections" would send the user the wrong way.
  SaturationWarned w;
  IntervalReport dead = figures(0.1, 100, 100, 40);
  dead.counters.errors = 100;
  EXPECT_TRUE(saturation_warnings(input(), dead, &w).empty());
  EXPECT_FALSE(w.lag || w.pool);
  // The same figures with one response are a pool at its limit.
  dead.counters.status_codes[200] = 1;
  EXPECT_EQ(saturation_warnings(input(), dead, &w).size(), 2u);
}

}  // namespace saturation_test
}  // namespace horde
