#include "target/scaling_model.h"

#include <algorithm>
#include <cmath>

namespace horde::target {

namespace {

std::chrono::nanoseconds Scaled(std::chrono::nanoseconds t, double factor) {
  return std::chrono::nanoseconds(std::llround(static_cast<double>(t.count()) * factor));
}

}  // namespace

ScalingModel::ScalingModel(std::chrono::microseconds service_time, double contention,
                           double crosstalk, double lock)
    : service_time_(service_time),
      contention_(contention),
      crosstalk_(crosstalk),
      lock_(lock),
      shared_(contention != 0 || crosstalk != 0 || lock != 0),
      lock_hold_(Scaled(service_time, lock)),
      message_hold_(Scaled(service_time, crosstalk)) {}

std::chrono::nanoseconds ScalingModel::ServiceTimeAt(uint32_t active) const {
  const std::chrono::nanoseconds base = service_time_;
  if (contention_ == 0 || active <= 1) return base;
  return Scaled(base, 1 + contention_ * (static_cast<double>(active) - 1));
}

ScalingModel::Clock::time_point ScalingModel::Serve(Clock::time_point start) {
  if (!shared_) return start + service_time_;
  const uint32_t a = std::max<uint32_t>(active(), 1);
  // The lock's share of the work is not on the worker's own part.
  Clock::time_point t = start + Scaled(ServiceTimeAt(a), 1 - lock_);
  if (lock_hold_.count() == 0 && (message_hold_.count() == 0 || a == 1)) return t;
  std::lock_guard guard(mutex_);
  if (lock_hold_.count() > 0) {
    lock_free_ = std::max(t, lock_free_) + lock_hold_;
    t = lock_free_;
  }
  if (message_hold_.count() > 0 && a > 1) {
    channel_free_ = std::max(t, channel_free_) + message_hold_ * (a - 1);
    t = channel_free_;
  }
  return t;
}

void ScalingModel::InstanceBusy() {
  if (shared_) active_.fetch_add(1, std::memory_order_relaxed);
}

void ScalingModel::InstanceIdle() {
  if (shared_) active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace horde::target
