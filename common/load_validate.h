// The load rules, in one place: stages add up to the duration and exclude a
// warm-up, open loop needs a rate and closed loop forbids one, max_connections
// is a growth limit above connections, the interval and timeouts are in range.
// Called by the workload reader (common/workload_yaml.cc, finalize_workload)
// and by the wire decoder of a WorkloadSlice (common/wire.cc), so a file and an
// Assignment are judged by the same rules.
#pragma once

#include "common/result.h"
#include "common/workload.h"

namespace horde {

// What the LoadSpec is, which changes a few rules.
struct LoadCheck {
  // One agent's share of a phase (a WorkloadSlice): a stage may carry nothing
  // for this agent, and max_connections is taken as given in either mode.
  bool agent_share = false;
  // The workload has a `capacity:` section, which sets every step's rate (open
  // loop, whatever load.mode says): load.rate must then be absent, and
  // max_connections needs no `mode: open`.
  bool rate_searched = false;
};

// The first broken rule as `<field path>: <what is wrong>; <what is expected>`
// (e.g. `load.rate: missing; ...`); callers prefix the source.
Result<bool> validate(const LoadSpec& l, LoadCheck how = {});

// Open loop: the most connections the pool may hold (max_connections, else
// connections, else kDefaultOpenPool), never below one.
uint32_t open_pool_bound(const LoadSpec& l);

// Turns a closed-loop spec into open loop: its connection count becomes the
// pool's bound, and none is opened in advance (open loop connects on demand).
// An open-loop spec is left as it is.
void make_open_loop(LoadSpec* l);

}  // namespace horde
