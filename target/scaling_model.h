// What the instances of the sample target share, and so how its capacity scales over instances.
// Three knobs, each a different mechanism; with all three at 0 nothing is shared and a request
// holds its worker for exactly the service time S. A is the number of active instances (with at
// least one request in service, this request's own included), read when a request is granted
// its worker; the request's time is fixed then and never revisited in flight.
//
// Contention F (--contention): a formula built to follow the USL. The request's private part is
// stretched to S (1 + F (A - 1)): F S of it runs on a resource granted round-robin, in fine
// slices, to the A active instances, so it takes F S A of wall time. Saturated, N instances of W
// workers serve exactly X(N) = (W / S) N / (1 + F (N - 1)): Amdahl's law with sigma = F. It is
// the truth a fit can be checked against, and for that very reason no test of the analysis.
//
// Lock L (--lock): a real serialised section, not a formula. One FIFO lock is shared by every
// instance; each request runs (1 - L) S on its own worker and then holds the lock for L S, still
// holding its worker. Requests queue for it in the order they reach it (their grant order), so
// one instance's lock time overlaps the others' private work: throughput approaches
// min(N W / S, 1 / (L S)) with the queueing a real hot row or leader adds on the way.
//
// Crosstalk C (--crosstalk): a real coherency exchange, not a formula. After its work a request
// sends one update to each of the A - 1 other active instances over one channel shared by all
// (a bus, a replication link), FIFO; each message holds the channel for C S. The channel's load
// per request grows with the number of peers, so its capacity 1 / (C S (N - 1)) falls as
// instances are added: throughput rises with N while the workers are the limit and then falls,
// a retrograde curve whose exact shape no model was fitted to.
//
// The lock and the channel are simulated in the same virtual time as the service timers: each
// keeps the time it is next free, and a request's turn is max(arrival, free), under one mutex
// since instances run on several threads. One ScalingModel is shared by every instance; the
// count of active instances is an atomic touched only when an instance turns busy or idle.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace horde::target {

class ScalingModel {
 public:
  using Clock = std::chrono::steady_clock;

  ScalingModel(std::chrono::microseconds service_time, double contention, double crosstalk,
               double lock = 0);
  ScalingModel(const ScalingModel&) = delete;
  ScalingModel& operator=(const ScalingModel&) = delete;

  // The contention formula alone, S (1 + F (A - 1)), rounded to the nanosecond (A = 0 is read
  // as 1): the time of a request that neither waits for the lock nor sends updates.
  std::chrono::nanoseconds ServiceTimeAt(uint32_t active) const;

  // When a request granted its worker at `start`, with the instances active now, is answered:
  // its private part, then its turn at the lock, then its updates over the channel. Reserves
  // the lock and the channel for it. Calls in the order workers are granted.
  Clock::time_point Serve(Clock::time_point start);

  // An instance got its first request in service / finished its last one. Any thread.
  void InstanceBusy();
  void InstanceIdle();
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  std::chrono::microseconds service_time() const { return service_time_; }
  double contention() const { return contention_; }
  double crosstalk() const { return crosstalk_; }
  double lock() const { return lock_; }

 private:
  const std::chrono::microseconds service_time_;
  const double contention_;
  const double crosstalk_;
  const double lock_;
  const bool shared_;                            // anything set: the active count matters
  const std::chrono::nanoseconds lock_hold_;     // L S
  const std::chrono::nanoseconds message_hold_;  // C S
  std::atomic<uint32_t> active_{0};
  std::mutex mutex_;  // guards the two free times
  Clock::time_point lock_free_{};
  Clock::time_point channel_free_{};
};

}  // namespace horde::target
