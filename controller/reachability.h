// A target that never answered: a phase whose requests all ended without any
// response (every one a connect error, a timeout, ...) measured nothing about
// the target, so the run failed (exit 3) instead of passing with an error count.
// The reason names each target and what a TCP connect from the controller to
// it says ("connection refused"), the way wrk says "unable to connect".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/url.h"
#include "controller/results.h"

namespace horde {

// Responses of any status (HTTP status codes and gRPC statuses counted).
uint64_t responses(const Counters& c);

// What a TCP connect to the target's host:port says within `timeout_ms`:
// "connection refused", "no answer within 1 s", ..., or "" when it connects.
std::string probe_connect(const Url& target, int timeout_ms = 1000);

// nullopt when every phase that sent requests got at least one response; else
// "target unreachable: 127.0.0.1:18999: connection refused" (each target named).
std::optional<std::string> unreachable_reason(const std::vector<PhaseResult>& phases,
                                              const std::vector<Url>& targets);

// The summary's last plain line when requests failed: "30 of 30 requests (100.0%) failed:
// connect=30", or "" when none failed.
std::string failed_share_line(const Counters& totals);

}  // namespace horde
