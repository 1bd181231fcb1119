// What the target's observed CPU says about where an instances sweep stops scaling
// (docs/scalability.md, "Utilization beside throughput"). The fit can only say that the
// capacity flattens; the CPU beside each step says whether the machine is full (more instances
// cannot help here) or idle (the limit is something they share: a lock, the database, the
// balancer). Pure: the same points give the same finding and words.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controller/sweep_result.h"

namespace horde {

// Busy within this fraction of sweep.cores_available is "the CPU is full".
inline constexpr double kCpuFullFraction = 0.9;
// Without cores_available: the CPU is "flat" when from the step where the capacity stops
// growing it rises by less than this fraction while the instances grow.
inline constexpr double kCpuFlatGrowth = 0.1;

enum class CpuBound {
  kCpu,           // the capacity stops growing where the CPU is full
  kNotCpu,        // the capacity stops growing with the CPU well short of full
  kFlat,          // both stop growing together; how many cores there are is not given
  kOverhead,      // the CPU keeps growing while the capacity does not (no cores_available)
  kFullAtEnd,     // still scaling, but the CPU is full at the largest step
  kRoom,          // still scaling with CPU to spare, or nothing to conclude
  kUndetermined,  // a cores source, but fewer than 2 steps with a value
};
const char* cpu_bound_name(CpuBound b);

struct CpuFinding {
  CpuBound bound = CpuBound::kUndetermined;
  std::string source;                     // the observe: source (unit cores) it is read from
  std::optional<double> busy;             // mean cores busy at the step from_n
  std::optional<double> busy_max;         // the most busy over the steps with a value
  std::optional<double> cores_available;  // sweep.cores_available
  uint32_t from_n = 0;                    // the step the finding is about (0: none)
  std::string text;                       // sentences for the verdict ("" for nothing to say)
  nlohmann::json to_json() const;
};

// For an instances sweep whose points carry observed stats: nullopt when no source has unit
// cores (the verdict then says nothing about causes beyond the fit). `shape` is the
// Scalability's shape name (none: fewer than 2 distinct n). The capacity has stopped growing
// when the shape is plateau or retrograde, or sublinear with efficiency under min_efficiency.
std::optional<CpuFinding> cpu_evidence(const Scalability& s, std::optional<double> cores_available);

}  // namespace horde
