// Helpers for integration tests: start real horde processes (and nginx) on
// loopback, wait for their "listening" lines, read their results, and talk
// plain HTTP to them. Every wait has a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/process.h"

namespace horde::testing {

using Clock = std::chrono::steady_clock;

inline Clock::time_point in(std::chrono::milliseconds d) { return Clock::now() + d; }

struct Finished {
  int code = -1;
  std::string out;
};

// Runs `horde args...` to completion (killed at the deadline) and captures stdout.
inline Finished run_horde(const std::vector<std::string>& args,
                          std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::vector<std::string> argv = {HORDE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::spawn(argv, true);
  if (!p) return {};
  Finished f;
  const auto deadline = Clock::now() + timeout;
  f.out = p->read_all(deadline);
  auto code = p->wait_until(deadline);
  f.code = code ? *code : -1;
  return f;
}

// As run_horde, with stderr (the log, the warnings) in `out` too.
inline Finished run_horde_merged(const std::vector<std::string>& args,
                                 std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", HORDE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::spawn(argv, true);
  if (!p) return {};
  Finished f;
  const auto deadline = Clock::now() + timeout;
  f.out = p->read_all(deadline);
  auto code = p->wait_until(deadline);
  f.code = code ? *code : -1;
  return f;
}

inline Subprocess start_horde(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {HORDE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::spawn(argv, true);
  if (!p) throw std::runtime_error(p.error().message);
  return std::move(*p);
}

// Reads stdout lines until one contains `marker`; returns the text after it.
inline std::optional<std::string> wait_for_line(
    Subprocess& p, const std::string& marker,
    std::chrono::seconds timeout = std::chrono::seconds(15)) {
  const auto deadline = Clock::now() + timeout;
  while (auto line = p.read_line(deadline)) {
    if (auto at = line->find(marker); at != std::string::npos) {
      return line->substr(at + marker.size());
    }
  }
  return std::nullopt;
}

// `horde controller WORKLOAD --listen 127.0.0.1:0 FLAGS...`, once it has said
// which port it took: `address` is then "127.0.0.1:PORT", else empty (the
// caller asserts on it).
struct StartedController {
  Subprocess process;
  std::string address;
};
inline StartedController start_controller(const std::filesystem::path& workload,
                                          const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"controller", workload.string(), "--listen", "127.0.0.1:0"};
  args.insert(args.end(), flags.begin(), flags.end());
  StartedController c{start_horde(args), ""};
  if (auto port = wait_for_line(c.process, "(port ")) {
    c.address = "127.0.0.1:" + std::to_string(std::stoi(*port));
  }
  return c;
}

inline uint16_t port_of_url(const std::string& url) {
  const auto colon = url.rfind(':');
  return static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

// A free loopback port (bound then released; good enough for a test).
inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One HTTP/1.0-style GET on 127.0.0.1:port; returns the body ("" on failure).
inline std::string http_get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(read_file(p));
}

// A fresh directory under the test temp dir.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("horde-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

}  // namespace horde::testing
