// The load engine: runs one phase of a WorkloadSlice on T threads, each with its
// own io_context and its own connections (nothing shared on the hot path).
// Closed loop: each connection sends its next request when the previous one
// answers. Open loop: a per-thread schedule gives every request an intended send
// time; latency is measured from that time, so a stalled target shows in the
// tail (no coordinated omission). Every interval each thread hands its counters
// and histogram delta to a collector, which calls `on_interval` once per
// interval with the sum over threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "agent/limits.h"
#include "common/report.h"
#include "common/workload.h"

namespace horde {

class TokenBucket;

struct EngineOptions {
  WorkloadSlice slice;  // connections and rate are this agent's whole share
  unsigned threads = 1;
  uint32_t phase = 0;
  // When interval 0 begins (system clock, already corrected to this machine).
  std::chrono::system_clock::time_point start;
  // Seeds the open-loop arrival schedule (Poisson gaps) of thread i with
  // seed + i, so a run can be repeated exactly; 0 draws a random seed. Give
  // each agent a different one, or their Poisson arrivals coincide.
  uint64_t seed = 0;
  // Host name -> the addresses to connect to instead of resolving it again:
  // those check_limits already checked against --allow-target (never refreshed).
  std::map<std::string, std::vector<IpAddress>> pinned_addresses;
  // How other names are resolved, at the start and every slice.spread.dns_refresh
  // (a fake in tests).
  Resolve resolve = resolve_host;
  // Open loop: requests due before this time are dropped and counted as
  // skipped instead of sent at once. The phase runner sets it to when an
  // assignment arrived whose start had already passed; an engine that is
  // merely slow to start still catches up.
  std::chrono::system_clock::time_point skip_before{};
  // Open loop: --max-rate, enforced on every send whatever the slice says; it
  // outlives the engine (one bucket per agent: a new phase cannot refill it).
  TokenBucket* rate_limit = nullptr;
};

class Engine {
 public:
  // Called from an engine thread, once per interval in index order, with the
  // counters and latency of all threads for that interval.
  using IntervalFn = std::function<void(IntervalReport)>;

  Engine(EngineOptions options, IntervalFn on_interval);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs until warmup + duration has passed since `start`, or stop(). Blocks.
  // Returns the sum of every interval it reported.
  Counters run();
  // Thread-safe; makes run() return promptly (the current interval is still reported).
  void stop();
  // Thread-safe: a lost agent's share handed to this one from `from` on. Open
  // loop: every thread's rate (each remaining stage too) is the assigned one
  // times `rate_factor`, its schedule continuing without a gap. Closed loop
  // with constant connections: the agent keeps `connections` requests in
  // flight, opening connections or parking them after their answer. Relative
  // to the assignment, so a repeated order changes nothing; 0 leaves a level
  // as it is. An order before run() started is applied when the threads start.
  void rebalance(double rate_factor, uint32_t connections,
                 std::chrono::system_clock::time_point from);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace horde
