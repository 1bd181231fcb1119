#include "controller/scale.h"

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "common/process.h"
#include "common/url.h"

namespace horde {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string expand(std::string text, uint32_t instances) {
  const std::string key = "{instances}";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), std::to_string(instances));
  }
  return text;
}

// How often a wait looks at `cancel`: a stop is answered within this.
constexpr auto kPoll = std::chrono::milliseconds(100);

bool cancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(); }

Result<int> run_shell(const std::string& command, std::chrono::milliseconds timeout,
                      bool log_output, const std::atomic<bool>* cancel) {
  auto child = Subprocess::spawn({"/bin/sh", "-c", command}, true);
  if (!child) return child.error();
  const auto deadline = SteadyClock::now() + timeout;
  // Read its output in short steps: a read that ends before its step did so at end of file.
  for (bool eof = false; !eof && !cancelled(cancel);) {
    const auto step = std::min(deadline, SteadyClock::now() + kPoll);
    if (auto line = child->read_line(step)) {
      if (log_output) spdlog::info("[scale] {}", *line);
      continue;
    }
    if (SteadyClock::now() >= deadline) break;
    eof = SteadyClock::now() < step;
  }
  std::optional<int> code;
  while (!code && !cancelled(cancel) && SteadyClock::now() < deadline) {
    code = child->wait_until(std::min(deadline, SteadyClock::now() + kPoll));
  }
  if (!code) {
    child->signal(SIGKILL);
    child->wait_until(SteadyClock::now() + std::chrono::seconds(1));
    if (cancelled(cancel)) return Error{fmt::format("`{}` stopped: the run was aborted", command)};
    return Error{
        fmt::format("`{}` still running after {} s; killed", command, timeout.count() / 1000)};
  }
  return *code;
}

}  // namespace

Result<bool> run_scale_command(const std::string& command, uint32_t instances,
                               std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  const std::string cmd = expand(command, instances);
  spdlog::info("scaling the target to {} instance(s): {}", instances, cmd);
  auto code = run_shell(cmd, timeout, true, cancel);
  if (!code) return code.error();
  if (*code != 0) return Error{fmt::format("scale command `{}` exited with {}", cmd, *code)};
  return true;
}

Result<int> http_status(const std::string& text, std::chrono::milliseconds timeout) {
  auto url = parse_url(text);
  if (!url) return url.error();
  if (url->scheme != "http") return Error{"ready.url: only http:// is supported for the check"};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(url->host.c_str(), std::to_string(url->port).c_str(), &hints, &res);
      rc != 0) {
    return Error{fmt::format("{}: {}", url->host, gai_strerror(rc))};
  }
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Error{std::string("socket: ") + std::strerror(errno)};
  }
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  auto wait = [&](short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  };
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (rc != 0 && (errno != EINPROGRESS || !wait(POLLOUT) ||
                  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0)) {
    ::close(fd);
    return Error{std::string("connect failed: ") + std::strerror(so_error ? so_error : errno)};
  }
  const std::string req = "GET " + url->path + " HTTP/1.1\r\nHost: " + url->host + ":" +
                          std::to_string(url->port) + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return Error{"send failed"};
  }
  char buf[512];
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < sizeof buf && wait(POLLIN)) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  int status = 0;
  if (std::sscanf(head.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    return Error{"no HTTP status line"};
  }
  return status;
}

Result<bool> wait_ready(const ReadyCheck& check, uint32_t instances,
                        const std::atomic<bool>* cancel) {
  const auto deadline = SteadyClock::now() + check.timeout;
  std::string last = "not checked yet";
  while (SteadyClock::now() < deadline) {
    if (cancelled(cancel)) return Error{"ready check stopped: the run was aborted"};
    if (!check.url.empty()) {
      auto status = http_status(expand(check.url, instances), std::chrono::seconds(2));
      if (status && *status >= 200 && *status < 300) return true;
      last = status ? fmt::format("HTTP {}", *status) : status.error().message;
    } else {
      auto code =
          run_shell(expand(check.command, instances), std::chrono::seconds(30), false, cancel);
      if (code && *code == 0) return true;
      last = code ? fmt::format("exit code {}", *code) : code.error().message;
    }
    const auto next = std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(500));
    while (SteadyClock::now() < next && !cancelled(cancel)) std::this_thread::sleep_for(kPoll);
  }
  return Error{fmt::format("target not ready with {} instance(s) after {} s (last check: {})",
                           instances, check.timeout.count() / 1000, last)};
}

}  // namespace horde
