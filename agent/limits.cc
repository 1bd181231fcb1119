#include "agent/limits.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/load_validate.h"

namespace horde {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A host name as DNS allows it (letters, digits, '-', '.', '_'), or nothing.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

bool in_network(const IpAddress& a, const IpAddress& base, unsigned prefix) {
  if (a.v6 != base.v6) return false;
  const unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
    return a;
  }
  a.v6 = true;
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<TargetAllowList> TargetAllowList::parse(std::string_view list) {
  TargetAllowList out;
  out.text_ = std::string(trim(list));
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    const auto slash = item.find('/');
    const auto addr = IpAddress::parse(item.substr(0, slash));
    if (addr) {
      const unsigned width = addr->v6 ? 128 : 32;
      unsigned prefix = width;
      if (slash != std::string_view::npos) {
        const std::string bits(item.substr(slash + 1));
        if (bits.empty() || bits.size() > 3 ||
            !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoul(bits) > width) {
          return Error{fmt::format("--allow-target: {}: prefix length must be 0..{}", item, width)};
        }
        prefix = static_cast<unsigned>(std::stoul(bits));
      }
      out.networks_.push_back({*addr, prefix});
    } else if (slash == std::string_view::npos && valid_name(item)) {
      std::string name = lower(item);
      if (name.back() == '.') name.pop_back();  // "host." is the same name
      out.names_.push_back(std::move(name));
    } else {
      return Error{fmt::format(
          "--allow-target: {}: expected a host name or a CIDR such as 10.0.0.0/8 or fd00::/8",
          item)};
    }
  }
  if (out.empty() && !out.text_.empty()) return Error{"--allow-target: the list is empty"};
  return out;
}

bool TargetAllowList::allows_name(std::string_view host) const {
  std::string name = lower(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

bool TargetAllowList::allows_address(const IpAddress& a) const {
  return std::any_of(networks_.begin(), networks_.end(),
                     [&](const Network& n) { return in_network(a, n.base, n.prefix); });
}

Result<std::vector<IpAddress>> resolve_host(const std::string& host) {
  if (auto literal = IpAddress::parse(host)) return std::vector<IpAddress>{*literal};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    return Error{fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc))};
  }
  std::vector<IpAddress> out;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, buf,
                  sizeof buf);
    } else if (ai->ai_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                  sizeof buf);
    } else {
      continue;
    }
    if (auto a = IpAddress::parse(buf)) out.push_back(*a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Error{fmt::format("cannot resolve {}: no addresses", host)};
  return out;
}

std::optional<std::string> check_limits(const AgentLimits& limits, const WorkloadSlice& slice,
                                        const Resolve& resolve,
                                        std::map<std::string, std::vector<IpAddress>>* pinned) {
  const LoadSpec& load = slice.load;
  if (limits.max_connections > 0) {
    uint32_t most = load.mode == LoadMode::kOpen ? open_pool_bound(load)
                                                 : std::max(load.connections, load.max_connections);
    for (const Stage& s : load.stages) most = std::max(most, s.connections);
    if (most > limits.max_connections) {
      return fmt::format(
          "refused: the assignment asks for {} connections, this agent allows at "
          "most {} (--max-connections)",
          most, limits.max_connections);
    }
  }
  if (limits.max_rate > 0) {
    if (load.mode != LoadMode::kOpen) {
      return fmt::format(
          "refused: closed loop has no rate bound and this agent allows at most "
          "{} requests/s (--max-rate); use an open-loop workload",
          limits.max_rate);
    }
    double most = load.rate;
    for (const Stage& s : load.stages) most = std::max(most, s.rate);
    if (most > limits.max_rate * (1 + 1e-9)) {
      return fmt::format(
          "refused: the assignment asks for {:.1f} requests/s, this agent allows "
          "at most {} (--max-rate)",
          most, limits.max_rate);
    }
  }
  if (limits.allow.empty()) return std::nullopt;
  for (const Url& t : slice.targets) {
    if (limits.allow.allows_name(t.host)) continue;
    auto addresses = resolve(t.host);
    if (!addresses) {
      return fmt::format("refused: target {} is not in --allow-target {} ({})", t.text,
                         limits.allow.text(), addresses.error().message);
    }
    for (const IpAddress& a : *addresses) {
      if (!limits.allow.allows_address(a)) {
        return fmt::format("refused: target {} ({}) is not in --allow-target {}", t.text,
                           a.to_string(), limits.allow.text());
      }
    }
    if (pinned != nullptr && !addresses->empty()) (*pinned)[t.host] = *addresses;
  }
  return std::nullopt;
}

}  // namespace horde
