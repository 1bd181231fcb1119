// The scalability model of the sample target: how long one request holds its worker, given how
// many instances are serving at that moment, so that a sweep over instances follows the Universal
// Scalability Law with known parameters. With base service time S, contention F (--contention),
// crosstalk K (--crosstalk) and A active instances (instances with at least one request in
// service, this request's own included), a request starting now holds its worker for
//
//   S(A) = S x (1 + F (A - 1) + K A (A - 1)).
//
// Contention: each request spends (1 - F) S on its own worker and F S on a resource shared by all
// instances (think a cluster-wide lock or one database leader). The shared resource is granted
// round-robin, in fine slices, to the active instances, and while an instance holds it all of that
// instance's workers may use it; so each active instance gets 1/A of it and a request's F S of
// shared work takes F S A of wall time: (1 - F) S + F S A = S (1 + F (A - 1)). Crosstalk: before
// answering, a request waits K S for each ordered pair of active instances, K S A (A - 1) in all:
// the pairwise coherency exchange that USL's kappa term counts. (A delay of K S (A - 1) per
// request would only add K to sigma, which is why the pairs are counted.)
// Under load that keeps every one of N instances busy (A = N), each instance of W workers serves
// W / S(N) requests per second, so the total is exactly
//
//   X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1)),  lambda = W / S, sigma = F, kappa = K.
//
// Why not a FIFO mutex held for F S per request: then the shared part of one instance overlaps the
// private part of the others, and throughput is min(N W / S, 1 / (F S)), a hard knee, not the
// USL curve a fit can be checked against. A is sampled when a request starts service (its worker
// is granted), so a request's time does not change while it is served; with load on every
// instance A is constant and the law is exact, below saturation it is an approximation.
//
// One ScalingModel is shared by every instance on every thread: the count of active instances is
// the only mutable state, an atomic touched only when an instance goes from idle to busy or back.
// With F = K = 0 nothing is shared and S(A) = S.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace horde::target {

class ScalingModel {
 public:
  ScalingModel(std::chrono::microseconds service_time, double contention, double crosstalk);
  ScalingModel(const ScalingModel&) = delete;
  ScalingModel& operator=(const ScalingModel&) = delete;

  // S(A) for A active instances, rounded to the nanosecond (A = 0 is read as 1).
  std::chrono::nanoseconds ServiceTimeAt(uint32_t active) const;
  // S(A) for the instances active now; what a request starting service now gets.
  std::chrono::nanoseconds ServiceTimeNow() const;

  // An instance got its first request in service / finished its last one. Any thread.
  void InstanceBusy();
  void InstanceIdle();
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  std::chrono::microseconds service_time() const { return service_time_; }
  double contention() const { return contention_; }
  double crosstalk() const { return crosstalk_; }

 private:
  const std::chrono::microseconds service_time_;
  const double contention_;
  const double crosstalk_;
  const bool shared_;  // contention or crosstalk set: the active count matters
  std::atomic<uint32_t> active_{0};
};

}  // namespace horde::target
