// Where the engine threads meet once per interval: each thread delivers its
// counters and histogram delta for interval i; when every running thread has
// delivered i (or has finished), the collector adds them up, stamps the agent's
// CPU use since the previous report and calls `on_interval`, strictly in index
// order and once per index. One mutex, taken once per interval per thread: far
// off the per-request hot path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "common/report.h"

namespace horde {

class IntervalCollector {
 public:
  using IntervalFn = std::function<void(IntervalReport)>;
  // Seconds of CPU this process has used so far; injectable for tests.
  using CpuClock = std::function<double()>;

  IntervalCollector(uint32_t phase, unsigned threads, IntervalFn on_interval,
                    CpuClock cpu = &process_cpu_seconds);

  // Interval `index` of one thread. A thread delivers 0, 1, 2, ... in order.
  void deliver(uint32_t index, const Counters& counters, const Histogram& latency);
  // The thread delivers nothing more; intervals it did not reach are reported
  // with what the other threads gave once every thread has finished.
  void thread_done();
  // Sum of the counters of every interval reported so far.
  Counters total() const;
  uint32_t reported() const;

  static double process_cpu_seconds();

 private:
  struct Pending {
    IntervalReport report;
    unsigned delivered = 0;
  };
  void flush_locked();
  void report_locked(IntervalReport report);

  const uint32_t phase_;
  const unsigned threads_;
  IntervalFn on_interval_;
  CpuClock cpu_;
  mutable std::mutex mu_;
  std::map<uint32_t, Pending> pending_;
  uint32_t next_ = 0;
  unsigned done_ = 0;
  double last_cpu_ = 0;
  Counters total_;
};

}  // namespace horde
