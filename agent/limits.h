// What this agent will do whatever its controller asks: a ceiling on the rate
// and on the connections of one assignment, and the targets it may aim at
// (`--allow-target 127.0.0.0/8,example.internal`). A controller that is
// misconfigured or taken over must not turn the agents into a flood at someone
// else's service, so the agent checks every assignment before it sends a byte
// and refuses (PhaseDone with the reason) one that is out of bounds.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/workload.h"

namespace horde {

// An IPv4 or IPv6 address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as IPv4
// so that it matches IPv4 networks (otherwise it would be a way around them).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

// A comma-separated list of CIDRs (10.0.0.0/8, fd00::/8; a bare address is /32
// or /128) and host names (matched whole, case-insensitively).
class TargetAllowList {
 public:
  static Result<TargetAllowList> parse(std::string_view list);

  bool empty() const { return networks_.empty() && names_.empty(); }
  bool allows_name(std::string_view host) const;
  bool allows_address(const IpAddress& a) const;
  const std::string& text() const { return text_; }

 private:
  struct Network {
    IpAddress base;
    unsigned prefix = 0;
  };
  std::vector<Network> networks_;
  std::vector<std::string> names_;  // lower case
  std::string text_;
};

struct AgentLimits {
  double max_rate = 0;           // requests/s of one assignment (open loop); 0: no limit
  uint32_t max_connections = 0;  // connections of one assignment, growth included; 0: no limit
  TargetAllowList allow;         // empty: any target
  bool any() const { return max_rate > 0 || max_connections > 0 || !allow.empty(); }
};

// Host name -> its addresses (getaddrinfo by default; a fake in tests).
using Resolve = std::function<Result<std::vector<IpAddress>>(const std::string& host)>;
Result<std::vector<IpAddress>> resolve_host(const std::string& host);

// Empty when the slice is within the limits, else why not (for PhaseDone.error).
// A target passes when its host is a listed name, or when it resolves and every
// address it resolves to lies in a listed network. `pinned` (optional) gets, for
// each host name checked by its addresses, every address checked: the engine
// uses those and no others, since a second lookup could answer differently (DNS
// rebinding) and aim the load outside the list.
std::optional<std::string> check_limits(
    const AgentLimits& limits, const WorkloadSlice& slice, const Resolve& resolve = resolve_host,
    std::map<std::string, std::vector<IpAddress>>* pinned = nullptr);

}  // namespace horde
