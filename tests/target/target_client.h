// Test helpers for the sample target: a blocking POSIX-socket HTTP/1.1 client with a receive
// timeout (a broken server fails a test instead of hanging it), /__stats as JSON, and polling a
// condition with a deadline. Shared by the target's test files.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "target/target.h"

namespace horde::target_test {

using namespace std::chrono_literals;

struct Response {
  int status = 0;
  std::string headers;  // raw head, lower-cased
  std::string body;
};

inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // One response; nullopt on close, timeout or a malformed answer.
  std::optional<Response> Read(bool head_request = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response response;
    response.headers = Lower(buffer_.substr(0, end + 4));
    if (response.headers.rfind("http/1.1 ", 0) != 0) return std::nullopt;
    response.status = std::stoi(response.headers.substr(9, 3));
    size_t length = 0;
    size_t at = response.headers.find("\r\ncontent-length:");
    if (at != std::string::npos && !head_request) {
      length = std::stoul(response.headers.substr(at + 17));
    }
    while (buffer_.size() < end + 4 + length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return response;
  }

  // True when the server closed the connection (and sent nothing more) within the timeout.
  bool ReadsEof() {
    if (!buffer_.empty()) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr std::string_view kGetStats = "GET /__stats HTTP/1.1\r\nHost: t\r\n\r\n";

inline TargetOptions Options(uint32_t instances, uint32_t workers,
                             std::chrono::microseconds service, unsigned threads = 1) {
  TargetOptions o;
  o.port = 0;
  o.instances = instances;
  o.workers = workers;
  o.service_time = service;
  o.threads = threads;
  return o;
}

inline nlohmann::json Stats(uint16_t port) {
  Client client(port);
  EXPECT_TRUE(client.Send(kGetStats));
  auto response = client.Read();
  if (!response || response->status != 200) return nullptr;
  EXPECT_NE(response->headers.find("content-type: application/json"), std::string::npos);
  return nlohmann::json::parse(response->body);
}

inline bool PollUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds deadline = 5s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}
}  // namespace horde::target_test
