// The phase runner: what the agent does with the controller's orders for a
// phase. An Assignment is decoded and checked against the agent's own limits
// before any traffic (a refusal is a PhaseDone with the reason), then run on
// the load engine on the phase thread; a Rebalance changes the running phase
// within the same limits. Whatever the controller says, the agent stays within
// its limits: a second Assignment for the running phase is refused (logged, the
// phase runs on), a start time in the past starts the phase now and drops the
// backlog (counted as `skipped`), and --max-rate is a token bucket the engine
// takes from on every open-loop send. Reports and the PhaseDone go to the Outbox, which the
// session's writer thread encodes and writes: the load threads only queue.
// Called from the session's reader thread; stop() also from the lease watchdog.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/limits.h"
#include "agent/outbox.h"
#include "common/workload.h"

namespace horde {

namespace v1 {
class Assignment;
class Rebalance;
}  // namespace v1

class Engine;
class TokenBucket;

class PhaseRunner {
 public:
  // `agent_name` seeds the Poisson arrivals; `threads` is the agent's load
  // thread count; `rate_limit` (null without --max-rate) is the agent's own
  // bucket, shared by every phase this runner starts.
  PhaseRunner(const AgentLimits& limits, std::string agent_name, unsigned threads, Outbox& outbox,
              TokenBucket* rate_limit = nullptr);
  ~PhaseRunner();  // stop() and join()
  PhaseRunner(const PhaseRunner&) = delete;
  PhaseRunner& operator=(const PhaseRunner&) = delete;

  void assign(const v1::Assignment& a);
  void rebalance(const v1::Rebalance& in);
  // Thread-safe: the running phase ends promptly (its current interval is still reported).
  void stop();
  // Waits for the phase thread: its PhaseDone is in the outbox afterwards.
  void join();
  // An assignment was accepted (the engine ran or runs).
  bool ran_phase() const { return ran_phase_; }

 private:
  const AgentLimits& limits_;
  const std::string name_;
  const unsigned threads_;
  Outbox& outbox_;
  TokenBucket* const rate_limit_;
  std::mutex mu_;
  std::shared_ptr<Engine> engine_;  // the running phase (guarded by mu_)
  WorkloadSlice assigned_;          // its slice as assigned (guarded by mu_)
  std::string run_id_;
  uint32_t phase_ = 0;
  std::thread phase_thread_;
  std::atomic<uint32_t> intervals_{0};  // reports queued for the running phase
  bool ran_phase_ = false;
};

}  // namespace horde
