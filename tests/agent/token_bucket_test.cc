// The --max-rate bucket checked against a count made another way: every grant
// time is kept, and a sliding one-second window over them never holds more
// than rate + burst, whatever the pattern of asks.
#include "agent/token_bucket.h"

#include <gtest/gtest.h>

#include <deque>
#include <thread>
#include <vector>

namespace horde {
namespace token_bucket_test {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

// The most grants inside any window of length `w` (times sorted).
size_t max_in_window(const std::vector<Clock::time_point>& times, Clock::duration w) {
  size_t best = 0;
  size_t lo = 0;
  for (size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= w) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

TEST(TokenBucket, StartsFullWithTheBurstThenRefillsAtTheRate) {
  const auto t0 = Clock::time_point{} + 1000s;
  TokenBucket bucket(100, 5, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_take(t0)) << i;
  Clock::time_point retry;
  EXPECT_FALSE(bucket.try_take(t0, &retry));
  EXPECT_EQ(retry, t0 + 10ms);  // one token per 1/100 s
  EXPECT_FALSE(bucket.try_take(t0 + 9999us));
  EXPECT_TRUE(bucket.try_take(t0 + 10ms));
  EXPECT_FALSE(bucket.try_take(t0 + 10ms));
  // Idle for long: full again, never more than the burst.
  int granted = 0;
  while (bucket.try_take(t0 + 60s)) ++granted;
  EXPECT_EQ(granted, 5);
}

TEST(TokenBucket, AScheduleAtExactlyTheRateIsNeverHeld) {
  const auto t0 = Clock::time_point{} + 5s;
  // 1/3 s is not a whole number of nanoseconds: due times rounded to the
  // clock's nanoseconds come up to 6 ns early, which one token of slack absorbs.
  TokenBucket bucket(3, 2, t0);
  for (int k = 0; k < 3000; ++k) {
    const auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(k * 1e9 / 3)));
    ASSERT_TRUE(bucket.try_take(due)) << k;
  }
}

TEST(TokenBucket, AnyOneSecondHoldsAtMostRatePlusBurst) {
  const auto t0 = Clock::time_point{} + 1s;
  const double rate = 100;
  const uint64_t burst = TokenBucket::burst_for(rate);
  EXPECT_EQ(burst, 8u);
  TokenBucket bucket(rate, burst, t0);
  std::vector<Clock::time_point> granted;
  // A hostile pattern: asks as fast as possible in bursts, then pauses that let it fill.
  auto t = t0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 5000; ++i) {
      if (bucket.try_take(t)) granted.push_back(t);
      t += 20us;
    }
    t += std::chrono::milliseconds(37 * (round % 4));
  }
  ASSERT_GT(granted.size(), 100u);
  EXPECT_LE(max_in_window(granted, 1s), static_cast<size_t>(rate) + burst);
  // And over the whole span the rate holds.
  const double span = std::chrono::duration<double>(granted.back() - granted.front()).count();
  EXPECT_LE(static_cast<double>(granted.size()), rate * span + burst + 1);
}

TEST(TokenBucket, ThreadsShareOneBucket) {
  // Real time, four threads asking without pause for 300 ms: together they get
  // what one would (the bound is the arithmetic's, not the machine's speed).
  const auto t0 = Clock::now();
  TokenBucket bucket(1000, 10, t0);
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (Clock::now() - t0 < 300ms) {
        if (bucket.try_take(Clock::now())) ++total;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LE(static_cast<double>(total.load()), 1000 * elapsed + 10 + 1);
  EXPECT_GE(total.load(), 10u);
}

TEST(TokenBucket, AnAbsurdRateStillWorks) {
  const auto t0 = Clock::time_point{} + 1s;
  TokenBucket bucket(1e12, TokenBucket::burst_for(1e12), t0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.try_take(t0 + std::chrono::nanoseconds(i)));
}

}  // namespace token_bucket_test
}  // namespace horde
