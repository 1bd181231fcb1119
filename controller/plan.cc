#include "controller/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "common/load_validate.h"

namespace horde {

std::vector<uint32_t> split_proportional(uint32_t total, const std::vector<uint32_t>& weights) {
  std::vector<uint32_t> parts(weights.size(), 0);
  if (weights.empty()) return parts;
  std::vector<uint64_t> w(weights.begin(), weights.end());
  for (auto& x : w) x = std::max<uint64_t>(x, 1);
  const uint64_t sum = std::accumulate(w.begin(), w.end(), uint64_t{0});
  std::vector<std::pair<uint64_t, size_t>> remainders;  // (remainder, index)
  uint64_t given = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const uint64_t scaled = uint64_t{total} * w[i];
    parts[i] = static_cast<uint32_t>(scaled / sum);
    given += parts[i];
    remainders.emplace_back(scaled % sum, i);
  }
  // Largest remainders first; ties go to the earlier agent so the split is deterministic.
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total; ++k, ++given) ++parts[remainders[k % w.size()].second];
  return parts;
}

Result<std::vector<WorkloadSlice>> split_load(const Workload& w,
                                              const std::vector<uint32_t>& agent_cores) {
  if (agent_cores.empty()) return Error{"no agents to run the workload"};
  const size_t n = agent_cores.size();
  if (w.load.mode == LoadMode::kClosed && w.load.connections < n) {
    return Error{fmt::format(
        "load.connections: {} connections cannot be split over {} agents; use at least {} "
        "connections or fewer agents",
        w.load.connections, n, n)};
  }
  auto connections = split_proportional(w.load.connections, agent_cores);
  if (w.load.mode == LoadMode::kClosed) {
    // An agent with few cores beside big ones can get a share below one; it
    // still needs a connection, taken from the largest part so the parts keep
    // adding up to load.connections (connections >= agents makes that possible).
    for (auto& c : connections) {
      if (c != 0) continue;
      c = 1;
      --*std::max_element(connections.begin(), connections.end());
    }
  }
  const double core_sum = std::accumulate(agent_cores.begin(), agent_cores.end(), 0.0,
                                          [](double s, uint32_t c) { return s + std::max(c, 1u); });
  std::vector<WorkloadSlice> slices;
  for (size_t i = 0; i < n; ++i) {
    WorkloadSlice s;
    s.targets = w.targets;
    s.spread = w.spread;
    s.tls = w.tls;
    s.protocol = w.protocol;
    s.requests = w.requests;
    s.load = w.load;
    // Open loop may open none in advance; closed loop has at least one (above).
    s.load.connections = connections[i];
    s.load.rate = w.load.mode == LoadMode::kOpen
                      ? w.load.rate * std::max(agent_cores[i], 1u) / core_sum
                      : 0.0;
    slices.push_back(std::move(s));
  }
  // Stages split like the rest: each stage's rate in proportion to cores, each
  // stage's connections by largest remainder (an agent's pool is its largest part).
  for (size_t k = 0; k < w.load.stages.size(); ++k) {
    const Stage& stage = w.load.stages[k];
    const auto parts = split_proportional(stage.connections, agent_cores);
    for (size_t i = 0; i < n; ++i) {
      Stage& mine = slices[i].load.stages[k];
      mine.rate = stage.rate * std::max(agent_cores[i], 1u) / core_sum;
      mine.connections = parts[i];
    }
  }
  if (w.load.mode == LoadMode::kClosed && !w.load.stages.empty()) {
    for (auto& s : slices) {
      uint32_t most = 1;
      for (const Stage& st : s.load.stages) most = std::max(most, st.connections);
      s.load.connections = most;
    }
  }
  if (w.load.mode == LoadMode::kOpen) {
    // Every agent may open at least one connection, so its share of the rate
    // is sent whatever the bound (many agents may then hold a few more in all).
    const auto parts = split_proportional(open_pool_bound(w.load), agent_cores);
    for (size_t i = 0; i < n; ++i) {
      slices[i].load.max_connections = std::max({parts[i], slices[i].load.connections, 1u});
    }
  } else if (w.load.max_connections != 0) {
    const auto parts = split_proportional(w.load.max_connections, agent_cores);
    for (size_t i = 0; i < n; ++i) {
      slices[i].load.max_connections = std::max(parts[i], slices[i].load.connections);
    }
  }
  // The run-wide numbering of connections, agent after agent (its pool in open
  // loop): the agents' first connections take consecutive addresses of a name.
  uint32_t first_connection = 0;
  for (auto& s : slices) {
    s.first_connection = first_connection;
    first_connection += w.load.mode == LoadMode::kOpen
                            ? std::max(s.load.max_connections, s.load.connections)
                            : s.load.connections;
  }
  return slices;
}

Result<RebalancePlan> plan_rebalance(const Workload& w, const std::vector<uint32_t>& member_cores,
                                     const std::vector<uint32_t>& survivor_cores) {
  if (survivor_cores.empty()) return Error{"no surviving agents to take the load"};
  RebalancePlan plan;
  if (w.load.mode == LoadMode::kOpen) {
    auto sum = [](const std::vector<uint32_t>& cores) {
      return std::accumulate(cores.begin(), cores.end(), 0.0,
                             [](double s, uint32_t c) { return s + std::max(c, 1u); });
    };
    plan.rate_factor = sum(member_cores) / sum(survivor_cores);
    return plan;
  }
  if (!w.load.stages.empty()) {
    return Error{"rebalance: not supported for closed loop with load.stages"};
  }
  auto slices = split_load(w, survivor_cores);
  if (!slices) return slices.error();
  for (const auto& s : *slices) plan.connections.push_back(s.load.connections);
  return plan;
}

std::optional<double> offered_requests(const LoadSpec& load) {
  if (load.mode != LoadMode::kOpen) return std::nullopt;
  const auto seconds = [](Millis d) { return static_cast<double>(d.count()) / 1000.0; };
  if (load.stages.empty()) return load.rate * seconds(load.duration);
  double total = 0, before = 0;
  for (const Stage& st : load.stages) {
    total += (before + st.rate) / 2.0 * seconds(st.duration);
    before = st.rate;
  }
  return total;
}

std::optional<double> mean_offered_rate(const LoadSpec& load) {
  auto n = offered_requests(load);
  if (!n) return std::nullopt;
  if (load.stages.empty()) return load.rate;
  const double s = static_cast<double>(load.duration.count()) / 1000.0;
  return s > 0 ? *n / s : 0.0;
}

std::string load_profile_text(const LoadSpec& load) {
  if (load.mode != LoadMode::kOpen) {
    if (load.stages.empty()) return fmt::format("{} connections closed loop", load.connections);
    std::string steps = "0";
    for (const Stage& st : load.stages) steps += fmt::format(" -> {}", st.connections);
    return fmt::format("stages {} connections closed loop", steps);
  }
  if (load.stages.empty()) return fmt::format("{} rps open loop", load.rate);
  std::string steps = "0";
  for (const Stage& st : load.stages) steps += fmt::format(" -> {}", st.rate);
  return fmt::format("stages {} rps open loop (mean {:.1f} rps, {:.0f} requests offered)", steps,
                     mean_offered_rate(load).value_or(0), offered_requests(load).value_or(0));
}

uint32_t interval_count(const LoadSpec& load) {
  const auto total = load.warmup + load.duration;
  return static_cast<uint32_t>((total.count() + load.interval.count() - 1) / load.interval.count());
}

uint32_t warmup_interval_count(const LoadSpec& load) {
  return static_cast<uint32_t>((load.warmup.count() + load.interval.count() - 1) /
                               load.interval.count());
}

}  // namespace horde
