#include "controller/metrics.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "common/text.h"

namespace horde {

namespace {

// Label values come from agents (their names): UTF-8 and escaped as the format requires.
std::string label_value(const std::string& raw) {
  const std::string v = text::sanitize_utf8(raw);
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string number(double v) { return fmt::format("{}", v); }

std::array<double, 4> quantiles_ms(const Histogram& h) {
  std::array<double, 4> out{};
  for (size_t i = 0; i < kMetricsQuantiles.size(); ++i) {
    out[i] = static_cast<double>(h.value_at_percentile(100.0 * kMetricsQuantiles[i])) / 1000.0;
  }
  return out;
}

// Largest request accepted: a scrape is one short GET.
constexpr size_t kMaxRequest = 8192;
// Connections held at once (each waiting for its request).
constexpr size_t kMaxClients = 64;

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string response(int code, const char* reason, const std::string& type,
                     const std::string& body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, reason, type, body.size(), body);
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
  std::string out;
  header(out, "horde_requests_total", "counter",
         "Requests finished (a response or an error), warm-up excluded, all phases so far.");
  out += fmt::format("horde_requests_total {}\n", s.requests_total);
  header(out, "horde_errors_total", "counter", "Errors by class, warm-up excluded.");
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    out += fmt::format("horde_errors_total{{class=\"{}\"}} {}\n",
                       error_class_name(static_cast<ErrorClass>(i)), s.errors_total[i]);
  }
  header(out, "horde_throughput_rps", "gauge", "Requests per second of the last closed interval.");
  out += fmt::format("horde_throughput_rps {}\n", number(s.throughput_rps));
  header(out, "horde_latency_ms", "gauge",
         "Latency quantiles in ms: of the last interval, and of the phase so far (merged "
         "histograms, exact to 3 significant digits).");
  for (const auto& [window, values] :
       {std::pair{"interval", &s.interval_latency_ms}, std::pair{"phase", &s.phase_latency_ms}}) {
    for (size_t i = 0; i < kMetricsQuantiles.size(); ++i) {
      out += fmt::format("horde_latency_ms{{quantile=\"{}\",window=\"{}\"}} {}\n",
                         kMetricsQuantiles[i], window, number((*values)[i]));
    }
  }
  header(out, "horde_agents", "gauge", "Agents connected now, and lost during the run.");
  out += fmt::format("horde_agents{{state=\"connected\"}} {}\n", s.agents_connected);
  out += fmt::format("horde_agents{{state=\"lost\"}} {}\n", s.agents_lost);
  header(out, "horde_offered_rps", "gauge",
         "Offered rate of the phase (open loop; 0 closed loop).");
  out += fmt::format("horde_offered_rps {}\n", number(s.offered_rps));
  header(out, "horde_achieved_rps", "gauge", "Measured requests per second of the phase so far.");
  out += fmt::format("horde_achieved_rps {}\n", number(s.achieved_rps));
  header(out, "horde_agent_throughput_rps", "gauge",
         "Requests per second each agent reported in the last interval.");
  for (const auto& [name, rps] : s.agent_throughput_rps) {
    out += fmt::format("horde_agent_throughput_rps{{agent=\"{}\"}} {}\n", label_value(name),
                       number(rps));
  }
  // Per request name: families of their own, so the totals above stay the only series of
  // theirs (a sum over a family never counts a request twice).
  header(out, "horde_requests_by_name_total", "counter",
         "Requests finished per request name, warm-up excluded, all phases so far.");
  for (const auto& n : s.names) {
    out += fmt::format("horde_requests_by_name_total{{name=\"{}\"}} {}\n", label_value(n.name),
                       n.requests_total);
  }
  header(out, "horde_errors_by_name_total", "counter",
         "Errors per request name and class, warm-up excluded.");
  for (const auto& n : s.names) {
    const std::string name = label_value(n.name);
    for (size_t i = 0; i < kErrorClassCount; ++i) {
      out += fmt::format("horde_errors_by_name_total{{class=\"{}\",name=\"{}\"}} {}\n",
                         error_class_name(static_cast<ErrorClass>(i)), name, n.errors_total[i]);
    }
  }
  header(out, "horde_latency_by_name_ms", "gauge",
         "Latency quantiles in ms per request name: of the last interval, and of the phase so "
         "far (0 without a request of that name).");
  for (const auto& n : s.names) {
    const std::string name = label_value(n.name);
    for (const auto& [window, values] :
         {std::pair{"interval", &n.interval_latency_ms}, std::pair{"phase", &n.phase_latency_ms}}) {
      for (size_t i = 0; i < kMetricsQuantiles.size(); ++i) {
        out += fmt::format(
            "horde_latency_by_name_ms{{name=\"{}\",quantile=\"{}\",window=\"{}\"}} {}\n", name,
            kMetricsQuantiles[i], window, number((*values)[i]));
      }
    }
  }
  header(out, "horde_phase_index", "gauge", "Current phase (0-based).");
  out += fmt::format("horde_phase_index {}\n", s.phase_index);
  header(out, "horde_interval_index", "gauge",
         "Last closed interval of the current phase (0-based, warm-up included).");
  out += fmt::format("horde_interval_index {}\n", s.interval_index);
  return out;
}

MetricsServer::~MetricsServer() { stop(); }

Result<int> MetricsServer::start(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return Error{"--metrics-listen: expected HOST:PORT, got " + listen};
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc =
          ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return Error{fmt::format("--metrics-listen {}: {}", listen, ::gai_strerror(rc))};
  }
  std::string why = "no address";
  for (addrinfo* ai = found; ai && listen_fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      listen_fd_ = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) return Error{fmt::format("--metrics-listen {}: {}", listen, why)};
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port = bound.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Error{std::string("--metrics-listen: pipe: ") + std::strerror(errno)};
  }
  ::fcntl(listen_fd_, F_SETFL, O_NONBLOCK);
  publish();
  thread_ = std::thread([this] { serve(); });
  return bound_port;
}

void MetricsServer::stop() {
  if (thread_.joinable()) {
    const char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void MetricsServer::set_request_names(const std::vector<std::string>& names) {
  request_names_ = names;
  snapshot_.names.clear();
  for (const auto& n : names) snapshot_.names.push_back(NameMetrics{n, 0, {}, {}, {}});
  publish();
}

void MetricsServer::set_agents(uint32_t connected, uint32_t lost) {
  if (snapshot_.agents_connected == connected && snapshot_.agents_lost == lost) return;
  snapshot_.agents_connected = connected;
  snapshot_.agents_lost = lost;
  publish();
}

void MetricsServer::interval(const std::vector<PhaseResult>& finished_phases,
                             const PhaseResult& phase, const IntervalRow& row,
                             const Histogram& interval_latency,
                             const std::vector<std::pair<std::string, uint64_t>>& agent_requests,
                             double interval_s, const ByName& interval_names) {
  MetricsSnapshot& s = snapshot_;
  Counters run = phase.counters;
  for (const auto& p : finished_phases) run.add(p.counters);
  s.requests_total = run.requests;
  s.errors_total = run.errors_by_class;
  s.throughput_rps =
      row.duration_s > 0 ? static_cast<double>(row.counters.requests) / row.duration_s : 0;
  s.interval_latency_ms = quantiles_ms(interval_latency);
  s.phase_latency_ms = quantiles_ms(phase.latency);
  s.offered_rps = phase.offered_rps.value_or(0.0);
  // Measured time so far: the measured intervals closed, this one included once.
  double measured_s = row.warmup ? 0 : row.duration_s;
  for (const auto& r : phase.intervals) {
    if (!r.warmup && r.interval != row.interval) measured_s += r.duration_s;
  }
  s.achieved_rps = measured_s > 0 ? static_cast<double>(phase.counters.requests) / measured_s : 0;
  if (row.phase != last_phase_) last_agent_requests_.clear();
  last_phase_ = row.phase;
  s.agent_throughput_rps.clear();
  for (const auto& [name, requests] : agent_requests) {
    uint64_t& last = last_agent_requests_[name];
    const uint64_t delta = requests >= last ? requests - last : 0;
    last = requests;
    s.agent_throughput_rps.emplace_back(
        name, interval_s > 0 ? static_cast<double>(delta) / interval_s : 0);
  }
  s.phase_index = row.phase;
  s.interval_index = row.interval;
  // Per name: with one name the phases keep no per-name part, their totals are its.
  static const NameStats none;
  const auto part = [](const ByName& by, uint32_t i) -> const NameStats& {
    const auto it = by.find(i);
    return it == by.end() ? none : it->second;
  };
  const bool one = request_names_.size() == 1;
  for (uint32_t i = 0; i < s.names.size(); ++i) {
    NameMetrics& n = s.names[i];
    const Counters& now = one ? phase.counters : part(phase.names, i).counters;
    n.requests_total = now.requests;
    n.errors_total = now.errors_by_class;
    for (const auto& p : finished_phases) {
      const Counters& before = one ? p.counters : part(p.names, i).counters;
      n.requests_total += before.requests;
      for (size_t c = 0; c < kErrorClassCount; ++c) n.errors_total[c] += before.errors_by_class[c];
    }
    n.interval_latency_ms = quantiles_ms(one ? interval_latency : part(interval_names, i).latency);
    n.phase_latency_ms = quantiles_ms(one ? phase.latency : part(phase.names, i).latency);
  }
  publish();
}

std::string MetricsServer::text() const {
  std::lock_guard lock(mu_);
  return text_;
}

void MetricsServer::publish() {
  std::string rendered = render_metrics(snapshot_);
  std::lock_guard lock(mu_);
  text_.swap(rendered);
}

// One thread, poll(): scrapes are rare and tiny, so each connection reads its
// request, gets the whole answer and is closed. Nobody can lock a scraper out:
// a connection that has not sent its request within kRequestTimeout is closed,
// and at kMaxClients a new connection closes the oldest waiting one instead of
// being turned away (a scrape sends its request at once; idle sockets do not).
void MetricsServer::serve() {
  using Clock = std::chrono::steady_clock;
  struct Client {
    int fd;
    std::string request;
    Clock::time_point deadline;
  };
  std::deque<Client> clients;  // oldest first
  std::vector<pollfd> fds;
  for (;;) {
    const auto now = Clock::now();
    for (auto& c : clients) {
      if (now >= c.deadline) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
    auto wait = std::chrono::milliseconds(1000);
    if (!clients.empty()) {
      wait = std::min(wait,
                      std::chrono::ceil<std::chrono::milliseconds>(clients.front().deadline - now));
    }
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait.count(), 1))) < 0 &&
        errno != EINTR) {
      break;
    }
    if (fds[0].revents) break;
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Client& c = clients[i - 2];
      char buf[2048];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) c.request.append(buf, static_cast<size_t>(n));
      const bool complete = c.request.find("\r\n\r\n") != std::string::npos ||
                            c.request.find("\n\n") != std::string::npos;
      if (complete || c.request.size() > kMaxRequest) {
        const bool get = c.request.rfind("GET ", 0) == 0;
        const auto path_end = c.request.find(' ', 4);
        const std::string path = get && path_end != std::string::npos
                                     ? c.request.substr(4, path_end - 4)
                                     : std::string();
        std::string answer;
        if (!get) {
          answer = response(405, "Method Not Allowed", "text/plain", "GET /metrics\n");
        } else if (path == "/metrics" || path.rfind("/metrics?", 0) == 0) {
          answer = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", text());
        } else {
          answer = response(404, "Not Found", "text/plain", "try GET /metrics\n");
        }
        // The answer is a few KB: block briefly rather than track partial writes.
        ::fcntl(c.fd, F_SETFL, 0);
        timeval tv{1, 0};
        ::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        write_all(c.fd, answer);
      }
      if (complete || c.request.size() > kMaxRequest || n == 0 ||
          (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
    if (fds[1].revents & POLLIN) {
      for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (clients.size() >= kMaxClients) {
          ::close(clients.front().fd);  // the oldest has waited longest without a request
          clients.pop_front();
        }
        clients.push_back({fd, {}, Clock::now() + request_timeout_});
      }
    }
  }
  for (const auto& c : clients) ::close(c.fd);
}

}  // namespace horde
