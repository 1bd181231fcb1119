// When requests are due (open loop) and how many connections should be busy
// (closed loop), as functions of time since the phase start. The load over time
// is a piecewise-linear `Ramp` (one constant segment without stages, k6-style
// linear ramps with them). The open-loop `Schedule` integrates the ramp: the
// k-th request is due where the integral of the rate reaches k (uniform) or
// the k-th point of a unit-rate Poisson process (exponential gaps from a
// per-thread PRNG), so the achieved count follows the ramp exactly. Pure
// arithmetic on doubles: no clock, no allocation after construction, unit-tested
// without timing.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "agent/request_table.h"
#include "common/workload.h"

namespace horde {

// The load level over time: segments back to back from t = 0, each linear from
// `from` to `to`. After the last segment the level is 0.
struct Ramp {
  struct Segment {
    double seconds = 0;
    double from = 0;
    double to = 0;
  };
  std::vector<Segment> segments;

  // Constant `level` for `seconds`, or the stages (rate or connections, times
  // `share`) ramping from 0.
  static Ramp constant(double level, double seconds);
  static Ramp rate_stages(const std::vector<Stage>& stages, double share);
  static Ramp connection_stages(const std::vector<Stage>& stages);

  double level_at(double t) const;
  // The integral of the level from 0 to t (requests, for a rate ramp).
  double integral_to(double t) const;
  double total_seconds() const;
};

class Schedule {
 public:
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  // The seed is mixed (splitmix64) so neighbouring seeds give unrelated streams.
  Schedule(Ramp rate, Arrival arrival, uint64_t seed);
  // Seconds since the phase start of the next request, non-decreasing;
  // kNever once the ramp has ended.
  double next();
  // Drops every request due before `t` seconds, so next() returns >= t; how
  // many were dropped (for Poisson arrivals the expected number: the process
  // is memoryless, so starting it afresh at t changes nothing after t). O(1)
  // in the number dropped, whatever the rate.
  uint64_t skip_to(double t);

 private:
  // The time where the rate's integral reaches `y`, searching forward from the
  // current segment (y never decreases).
  double time_of(double y);

  Ramp ramp_;
  Arrival arrival_;
  FastRandom rng_;
  double target_ = 0;  // integral value of the next request
  size_t segment_ = 0;
  double segment_start_ = 0;    // time at which segment_ begins
  double integral_before_ = 0;  // integral of the segments before segment_
};

}  // namespace horde
