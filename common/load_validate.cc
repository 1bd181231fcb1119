#include "common/load_validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace horde {

namespace {

constexpr uint32_t kMaxConnections = 1'000'000;

Error at(const std::string& path, const std::string& what) { return Error{path + ": " + what}; }

std::string stage_path(size_t i) { return "load.stages[" + std::to_string(i) + "]"; }

Result<bool> validate_stages(const LoadSpec& l, LoadCheck how) {
  Millis sum{0};
  uint32_t most_connections = 0;
  double most_rate = 0;
  for (size_t i = 0; i < l.stages.size(); ++i) {
    const Stage& s = l.stages[i];
    const std::string p = stage_path(i);
    if (!std::isfinite(s.rate) || s.rate < 0 || s.rate > kMaxRate) {
      return at(p + ".rate", fmt::format("expected a number from 0 to {:.0f} (requests/s over all "
                                         "agents)",
                                         kMaxRate));
    }
    if (s.duration.count() < 0 || s.duration > kMaxPhaseTime) {
      return at(p + ".duration", "expected a duration from 0s to 24h");
    }
    if (l.mode == LoadMode::kOpen && s.connections != 0) {
      return at(p + ".connections",
                "not allowed in open mode (stages set the rate); use rate: N requests/s");
    }
    if (l.mode == LoadMode::kClosed && s.rate != 0) {
      return at(p + ".rate",
                "not allowed in closed mode (stages set connections); use connections: N, "
                "or set load.mode: open");
    }
    sum += s.duration;
    most_connections = std::max(most_connections, s.connections);
    most_rate = std::max(most_rate, s.rate);
  }
  if (sum.count() <= 0) return at("load.stages", "the durations add up to 0; expected > 0");
  if (l.duration != sum) {
    return at("load.duration", "got " + format_duration(l.duration) +
                                   " but load.stages add up to " + format_duration(sum) +
                                   "; leave duration out or make them equal");
  }
  if (l.warmup.count() != 0) {
    return at("load.warmup",
              "not allowed with load.stages (the stages are the whole phase, their ramp-up "
              "included); remove it");
  }
  // An agent's share of a small ramp can be nothing at all (1 connection over 2 agents).
  if (l.mode == LoadMode::kOpen && !(most_rate > 0) && !how.agent_share) {
    return at("load.stages", "every stage has rate 0; expected some rate > 0");
  }
  if (l.mode == LoadMode::kClosed) {
    if (most_connections == 0 && !how.agent_share) {
      return at("load.stages", "every stage has 0 connections; expected some connections > 0");
    }
    if (l.connections < most_connections) {
      return at("load.connections",
                "got " + std::to_string(l.connections) + " but a stage wants " +
                    std::to_string(most_connections) +
                    "; with stages it is the pool size, leave it out or make it larger");
    }
  }
  return true;
}

// connection_max_requests, connection_max_age and keep_alive: in range, and
// keep_alive: false (one request per connection) with nothing that contradicts it.
Result<bool> validate_connection_policy(const LoadSpec& l) {
  if (l.connection_max_requests > kMaxConnectionRequests) {
    return at("load.connection_max_requests",
              "got " + std::to_string(l.connection_max_requests) +
                  "; expected an integer from 1 to 1000000000 (requests per connection)");
  }
  if (l.connection_max_age.count() < 0 || l.connection_max_age > kMaxPhaseTime) {
    return at("load.connection_max_age", "expected a duration > 0 and at most 24h");
  }
  if (l.keep_alive) return true;
  if (l.connection_max_requests != 0) {
    return at("load.connection_max_requests",
              "not with load.keep_alive: false (that is one request per connection already); "
              "remove one of them");
  }
  if (l.connection_max_age.count() != 0) {
    return at("load.connection_max_age",
              "not with load.keep_alive: false (every connection closes after its one "
              "request); remove one of them");
  }
  if (l.streams_per_connection > 1) {
    return at("load.keep_alive",
              "false sends one request per connection, so load.streams_per_connection: " +
                  std::to_string(l.streams_per_connection) +
                  " would never be used; remove one of them");
  }
  return true;
}

}  // namespace

uint32_t open_pool_bound(const LoadSpec& l) {
  if (l.max_connections != 0) return std::max(l.max_connections, l.connections);
  return l.connections != 0 ? l.connections : kDefaultOpenPool;
}

void make_open_loop(LoadSpec* l) {
  if (l->mode == LoadMode::kOpen) return;
  l->mode = LoadMode::kOpen;
  l->max_connections = std::max(l->max_connections, l->connections);
  l->connections = 0;
}

Result<bool> validate(const LoadSpec& l, LoadCheck how) {
  // Open loop connects on demand: connections opened in advance may be none.
  const uint32_t least = l.mode == LoadMode::kOpen || how.rate_searched ? 0 : 1;
  if (l.connections < least || l.connections > kMaxConnections) {
    return at("load.connections", "got " + std::to_string(l.connections) +
                                      "; expected an integer from " + std::to_string(least) +
                                      " to 1000000");
  }
  if (!l.stages.empty()) {
    if (auto ok = validate_stages(l, how); !ok) return ok;
  }
  if (l.max_connections != 0) {
    if (l.mode != LoadMode::kOpen && !how.agent_share && !how.rate_searched) {
      return at("load.max_connections",
                "only for open mode (a due request that finds no idle connection opens one, "
                "up to this many); remove it, or set load.mode: open");
    }
    if (l.max_connections > kMaxConnections) {
      return at("load.max_connections", "got " + std::to_string(l.max_connections) +
                                            "; expected an integer from 1 to 1000000");
    }
    if (l.max_connections < l.connections) {
      return at("load.max_connections", "got " + std::to_string(l.max_connections) +
                                            "; expected at least load.connections (" +
                                            std::to_string(l.connections) + ")");
    }
  }
  if (how.rate_searched && l.rate != 0) {
    return at("load.rate",
              "not used with capacity: (the search sets every step's rate, from "
              "capacity.start_rate up to capacity.max_rate); remove it");
  }
  if (l.mode == LoadMode::kOpen && l.stages.empty() && !how.rate_searched &&
      !(l.rate > 0 && std::isfinite(l.rate))) {
    return at("load.rate", "missing; open mode needs a rate > 0 in requests/s, like rate: 1000");
  }
  if (l.mode == LoadMode::kOpen && !l.stages.empty() && l.rate != 0) {
    return at("load.rate",
              "not allowed with load.stages (each stage sets its rate; the first ramps up "
              "from 0); remove it, or add a first stage {duration: 0s, rate: ...}");
  }
  if (l.mode == LoadMode::kClosed && l.rate != 0) {
    return at("load.rate",
              "not allowed in closed mode (closed mode keeps load.connections requests in "
              "flight); remove it, or set load.mode: open");
  }
  if (l.rate > kMaxRate) {
    return at("load.rate",
              fmt::format("got {:g}; expected at most {:.0f} requests/s over all agents", l.rate,
                          kMaxRate));
  }
  if (l.duration.count() <= 0) return at("load.duration", "expected a duration > 0");
  // Agents refuse a longer phase; say so here, at validation, not at the start of the run.
  if (l.duration > kMaxPhaseTime) {
    return at("load.duration", "got " + format_duration(l.duration) +
                                   "; expected at most 24h (an agent refuses a longer phase); "
                                   "use a shorter duration or several runs");
  }
  if (l.warmup.count() < 0) return at("load.warmup", "expected a duration >= 0");
  if (l.warmup > kMaxPhaseTime) {
    return at("load.warmup", "got " + format_duration(l.warmup) + "; expected at most 24h");
  }
  if (l.interval < Millis(100) || l.interval > Millis(60'000)) {
    return at("load.interval",
              "got " + format_duration(l.interval) + "; expected a duration from 100ms to 60s");
  }
  if (l.connect_timeout.count() <= 0 || l.connect_timeout > kMaxPhaseTime) {
    return at("load.connect_timeout", "expected a duration > 0 and at most 24h");
  }
  if (l.request_timeout.count() <= 0 || l.request_timeout > kMaxPhaseTime) {
    return at("load.request_timeout", "expected a duration > 0 and at most 24h");
  }
  return validate_connection_policy(l);
}

}  // namespace horde
