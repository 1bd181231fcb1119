// The agent's side of the session: dial the controller (agents open no port),
// say hello, answer pings (clock offset and lease), hand each assignment to the
// phase runner (agent/phase_runner.h) and write what it reports through the
// outbox (agent/outbox.h), on the session's own writer thread. If the
// controller goes silent for the lease time, traffic stops at once; then the
// agent reconnects with backoff, or exits with --once.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "agent/limits.h"
#include "common/security.h"

namespace horde {

struct AgentOptions {
  std::string controller = "127.0.0.1:7400";
  std::string name;      // default: host name + pid
  unsigned threads = 0;  // 0: one per core
  bool once = false;     // exit after one run instead of serving runs until stopped
  std::chrono::milliseconds max_backoff{5'000};
  Security security;  // token sent as `authorization: Bearer ...`; TLS files
  // The name the controller's certificate must carry when it differs from the
  // host in `controller` (e.g. dialing 127.0.0.1, certificate for "horde-controller").
  std::string tls_server_name;
  // Checked on every assignment (one out of bounds is refused); max_rate is
  // also a token bucket on every open-loop send (agent/token_bucket.h).
  AgentLimits limits;
};

// The longest lease an agent accepts: a controller's Welcome.lease_ms above it
// is cut to it (0 is the default, 5 s), so no controller can switch the lease off.
inline constexpr std::chrono::milliseconds kMaxLease{30'000};

// Blocks; returns the process exit code. `stop` (may be null) ends it from a signal thread.
int run_agent(const AgentOptions& options, const std::atomic<bool>* stop);

}  // namespace horde
