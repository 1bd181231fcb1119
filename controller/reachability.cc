#include "controller/reachability.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace horde {

uint64_t responses(const Counters& c) {
  uint64_t n = 0;
  for (const auto& [code, count] : c.status_codes) n += count;
  for (const auto& [code, count] : c.grpc_status) n += count;
  return n;
}

namespace {

std::string lower_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// One non-blocking connect to one address; "" when it connected.
std::string connect_once(const addrinfo* ai, int timeout_ms) {
  const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return lower_first(std::strerror(errno));
  std::string why;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      why = lower_first(std::strerror(errno));
    } else {
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, timeout_ms);
      int err = 0;
      socklen_t len = sizeof err;
      if (n == 0) {
        why = fmt::format("no answer within {} ms", timeout_ms);
      } else if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        why = lower_first(std::strerror(errno));
      } else if (err != 0) {
        why = lower_first(std::strerror(err));
      }
    }
  }
  ::close(fd);
  return why;
}

}  // namespace

std::string probe_connect(const Url& target, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  if (const int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve: ") + ::gai_strerror(rc);
  }
  std::string why = "no address";
  for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
    why = connect_once(ai, timeout_ms);
    if (why.empty()) break;
  }
  ::freeaddrinfo(found);
  return why;
}

std::optional<std::string> unreachable_reason(const std::vector<PhaseResult>& phases,
                                              const std::vector<Url>& targets) {
  bool dead = false;
  for (const auto& p : phases) {
    if (p.counters.requests > 0 && responses(p.counters) == 0) dead = true;
  }
  if (!dead) return std::nullopt;
  std::string out;
  std::set<std::pair<std::string, uint16_t>> seen;
  for (const Url& t : targets) {
    if (!seen.insert({t.host, t.port}).second) continue;
    const std::string host =
        t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;  // IPv6
    const std::string why = probe_connect(t);
    out += fmt::format("{}{}:{}: {}", out.empty() ? "" : "; ", host, t.port,
                       why.empty() ? "no response to any request (a TCP connect from the "
                                     "controller succeeds)"
                                   : why);
  }
  return "target unreachable: " + out;
}

std::string failed_share_line(const Counters& t) {
  if (t.errors == 0 || t.requests == 0) return "";
  std::string why;
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    if (t.errors_by_class[i]) {
      why += fmt::format("{}{}={}", why.empty() ? "" : " ",
                         error_class_name(static_cast<ErrorClass>(i)), t.errors_by_class[i]);
    }
  }
  return fmt::format("{} of {} requests ({:.1f}%) failed: {}\n", t.errors, t.requests,
                     100.0 * static_cast<double>(t.errors) / static_cast<double>(t.requests), why);
}

}  // namespace horde
