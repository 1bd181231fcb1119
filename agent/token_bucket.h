// The agent's own rate ceiling (--max-rate), enforced on the open-loop send
// path whatever an assignment says: in any window of W seconds at most
// rate * W + burst requests pass. The bucket is kept in GCRA form (the
// "theoretical arrival time" of the virtual-scheduling algorithm, ITU-T I.371):
// one 64-bit time instead of a token count and a refill time, so it fits in one
// atomic and every load thread of every phase of the agent shares the same
// bucket without a lock. A new phase, a second assignment, a reconnect or
// another thread therefore cannot refill it: the limit holds for the agent.
// Time is counted in 1/16 ns from the bucket's creation, so 1/rate is exact
// enough at any rate (and lasts 18 years).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace horde {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` > 0 tokens per second; `burst` >= 1 tokens at most at once (the bucket starts full).
  TokenBucket(double rate, uint64_t burst, Clock::time_point origin = Clock::now())
      : origin_(origin),
        step_(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(kTicksPerSecond / rate)))),
        tolerance_(static_cast<int64_t>(std::max<uint64_t>(burst, 1) - 1) * step_),
        tat_(0) {}

  // The burst horde uses for --max-rate R: 20 ms worth, at least 8 (so the
  // threads of an agent running at exactly R, and Poisson arrivals at R, are
  // rarely held), i.e. at most R + max(8, R/50) requests in any second.
  static uint64_t burst_for(double rate) {
    return std::max<uint64_t>(8, static_cast<uint64_t>(std::ceil(rate / 50)));
  }

  // Takes one token if there is one. Else false and, if `retry` is given, the
  // time the next token will be there.
  bool try_take(Clock::time_point now, Clock::time_point* retry = nullptr) {
    const int64_t t = ticks(now);
    int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t base = std::max(tat, t);
      if (base - t > tolerance_) {
        if (retry != nullptr) *retry = time_of(base - tolerance_);
        return false;
      }
      if (tat_.compare_exchange_weak(tat, base + step_, std::memory_order_relaxed)) return true;
    }
  }

 private:
  static constexpr double kTicksPerSecond = 16e9;  // 1/16 ns

  int64_t ticks(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count() * 16;
  }
  Clock::time_point time_of(int64_t ticks) const {
    return origin_ + std::chrono::nanoseconds((ticks + 15) / 16);  // rounded up: a token is there
  }

  const Clock::time_point origin_;
  const int64_t step_;       // 1/rate
  const int64_t tolerance_;  // (burst - 1) steps: how far ahead of now the bucket may run
  std::atomic<int64_t> tat_;
};

}  // namespace horde
