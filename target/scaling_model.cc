#include "target/scaling_model.h"

#include <cmath>

namespace horde::target {

ScalingModel::ScalingModel(std::chrono::microseconds service_time, double contention,
                           double crosstalk)
    : service_time_(service_time),
      contention_(contention),
      crosstalk_(crosstalk),
      shared_(contention != 0 || crosstalk != 0) {}

std::chrono::nanoseconds ScalingModel::ServiceTimeAt(uint32_t active) const {
  const std::chrono::nanoseconds base = service_time_;
  if (!shared_ || active <= 1) return base;
  const double a = active;
  const double factor = 1 + contention_ * (a - 1) + crosstalk_ * a * (a - 1);
  return std::chrono::nanoseconds(std::llround(static_cast<double>(base.count()) * factor));
}

std::chrono::nanoseconds ScalingModel::ServiceTimeNow() const {
  if (!shared_) return service_time_;
  return ServiceTimeAt(active());
}

void ScalingModel::InstanceBusy() {
  if (shared_) active_.fetch_add(1, std::memory_order_relaxed);
}

void ScalingModel::InstanceIdle() {
  if (shared_) active_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace horde::target
