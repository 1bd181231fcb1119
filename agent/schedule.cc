#include "agent/schedule.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace horde {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double segment_integral(const Ramp::Segment& s, double tau) {
  const double slope = s.seconds > 0 ? (s.to - s.from) / s.seconds : 0;
  return s.from * tau + slope * tau * tau / 2;
}

}  // namespace

Ramp Ramp::constant(double level, double seconds) {
  Ramp r;
  r.segments.push_back(Segment{seconds, level, level});
  return r;
}

Ramp Ramp::rate_stages(const std::vector<Stage>& stages, double share) {
  Ramp r;
  double previous = 0;  // k6: the first stage ramps up from zero
  for (const Stage& s : stages) {
    const double to = s.rate * share;
    r.segments.push_back(Segment{std::chrono::duration<double>(s.duration).count(), previous, to});
    previous = to;
  }
  return r;
}

Ramp Ramp::connection_stages(const std::vector<Stage>& stages) {
  Ramp r;
  double previous = 0;
  for (const Stage& s : stages) {
    const double to = s.connections;
    r.segments.push_back(Segment{std::chrono::duration<double>(s.duration).count(), previous, to});
    previous = to;
  }
  return r;
}

double Ramp::level_at(double t) const {
  double start = 0;
  for (const Segment& s : segments) {
    if (t < start + s.seconds) {
      const double tau = std::max(0.0, t - start);
      return s.from + (s.to - s.from) * (tau / s.seconds);
    }
    start += s.seconds;
  }
  return 0;
}

double Ramp::integral_to(double t) const {
  double start = 0;
  double sum = 0;
  for (const Segment& s : segments) {
    if (t < start + s.seconds) return sum + segment_integral(s, std::max(0.0, t - start));
    sum += segment_integral(s, s.seconds);
    start += s.seconds;
  }
  return sum;
}

double Ramp::total_seconds() const {
  double sum = 0;
  for (const Segment& s : segments) sum += s.seconds;
  return sum;
}

Schedule::Schedule(Ramp rate, Arrival arrival, uint64_t seed)
    : ramp_(std::move(rate)), arrival_(arrival), rng_(splitmix64(seed)) {}

double Schedule::next() {
  if (arrival_ == Arrival::kPoisson) {
    // Gaps of a unit-rate Poisson process in "integral space"; mapping them
    // through the inverse integral gives a Poisson process of the ramped rate.
    const double u = static_cast<double>((rng_.next() >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    target_ += -std::log(u);
    return time_of(target_);
  }
  const double t = time_of(target_);
  target_ += 1;
  return t;
}

uint64_t Schedule::skip_to(double t) {
  const double due = ramp_.integral_to(t);  // the integral value of the first request at t
  if (arrival_ == Arrival::kPoisson) {
    if (due <= target_) return 0;
    const auto dropped = static_cast<uint64_t>(std::llround(due - target_));
    target_ = due;
    return dropped;
  }
  const double first = std::ceil(due);  // request k is due where the integral reaches k
  if (first <= target_) return 0;
  const auto dropped = static_cast<uint64_t>(first - target_);
  target_ = first;
  return dropped;
}

double Schedule::time_of(double y) {
  while (segment_ < ramp_.segments.size()) {
    const Ramp::Segment& s = ramp_.segments[segment_];
    const double whole = segment_integral(s, s.seconds);
    const double rest = y - integral_before_;
    if (rest < whole) {
      // Solve from*tau + slope*tau^2/2 = rest for tau in [0, seconds]; this
      // form stays exact when the slope is 0 and when `from` is 0.
      const double slope = (s.to - s.from) / s.seconds;
      const double root = std::sqrt(std::max(0.0, s.from * s.from + 2 * slope * rest));
      const double denominator = s.from + root;
      const double tau = denominator > 0 ? 2 * rest / denominator : 0;
      return segment_start_ + std::min(tau, s.seconds);
    }
    integral_before_ += whole;
    segment_start_ += s.seconds;
    ++segment_;
  }
  return kNever;
}

}  // namespace horde
