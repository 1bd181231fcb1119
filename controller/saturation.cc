#include "controller/saturation.h"

#include <fmt/format.h>

#include <algorithm>

#include "controller/reachability.h"

namespace horde {

std::vector<std::string> saturation_warnings(const SaturationInput& in, const IntervalReport& r,
                                             SaturationWarned* warned) {
  std::vector<std::string> out;
  const double usable_cores = std::max<uint32_t>(1, std::min(in.threads, in.cores));
  const double cpu = r.counters.cpu_seconds / in.interval_s / usable_cores;
  if (!warned->cpu && cpu > kCpuSaturation) {
    warned->cpu = true;
    out.push_back(
        fmt::format("agent {} used {:.0f}% of its {} core(s) in phase {} interval {}: the load "
                    "generator, not the "
                    "target, may be limiting the result; add agents or threads",
                    in.agent, 100 * cpu, usable_cores, r.phase, r.interval));
  }
  // An interval in which every request failed without any response is a target
  // that is down, not a generator at its limit: the run ends saying so
  // (reachability.h), and "raise load.max_connections" would send the user the
  // wrong way.
  if (r.counters.errors > 0 && responses(r.counters) == 0) return out;
  // More than 1% of the requests late, and at least 10 of them.
  const uint64_t sent = std::max<uint64_t>(r.counters.requests, 1);
  if (!warned->lag && in.mode == LoadMode::kOpen && r.counters.late * 100 > sent &&
      r.counters.late >= 10) {
    warned->lag = true;
    out.push_back(fmt::format(
        "agent {} sent {} of {} requests late in phase {} interval {} (schedule lag up to {:.1f} "
        "ms): it "
        "cannot keep the offered rate; {}",
        in.agent, r.counters.late, r.counters.requests, r.phase, r.interval,
        static_cast<double>(r.counters.max_schedule_lag_us) / 1000.0,
        cpu > kCpuSaturation ? "the agent is out of CPU" : "too few connections or a slow target"));
  }
  if (!warned->pool && r.counters.max_connections_hit > 0) {
    warned->pool = true;
    out.push_back(fmt::format(
        "agent {}: {} due request(s) found every connection busy in phase {} interval {} (pool at "
        "its "
        "limit); latency includes the wait; raise load.max_connections or load.connections",
        in.agent, r.counters.max_connections_hit, r.phase, r.interval));
  }
  return out;
}

}  // namespace horde
