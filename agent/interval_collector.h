// Where the engine threads meet once per interval: each thread delivers its
// counters and histogram delta for interval i; when every running thread has
// delivered i (or has finished), the collector adds them up, stamps the agent's
// CPU use since the previous report and calls `on_interval`, strictly in index
// order and once per index. One mutex, taken once per interval per thread: far
// off the per-request hot path. `on_interval` never runs under that mutex: the
// thread that finds reports ready takes them out and calls back with the lock
// released; a thread that finds another one already calling back leaves its
// reports to it and returns at once, so no load thread waits on a slow
// callback of another (the agent's callback only queues the report for the
// session thread, see agent/outbox.h).
#pragma once

#include <cstdint>
#include <deque>
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
  void deliver(uint32_t index, const Counters& counters, const Histogram& latency,
               const Backends& backends = {}, const ByName& names = {});
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
  // Moves every report now complete to ready_. Then, unless another thread is
  // already emitting, emits ready_ with the lock released until it stays empty.
  void flush(std::unique_lock<std::mutex>& lock);
  void report_locked(IntervalReport report);

  const uint32_t phase_;
  const unsigned threads_;
  IntervalFn on_interval_;
  CpuClock cpu_;
  mutable std::mutex mu_;
  std::map<uint32_t, Pending> pending_;
  std::deque<IntervalReport> ready_;  // complete, in index order, not yet given to on_interval_
  bool emitting_ = false;             // a thread is calling on_interval_
  uint32_t next_ = 0;
  unsigned done_ = 0;
  double last_cpu_ = 0;
  Counters total_;
};

}  // namespace horde
