// A tiny HTTP/1.1 server for the agent's tests: one thread per connection over
// POSIX sockets on 127.0.0.1, an ephemeral port, and a chosen misbehaviour
// (status code, garbage, stall, chunked or close-delimited bodies, a freeze).
// It counts the responses it fully wrote, as the truth the engine is checked against.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace horde::testing {

class TestHttpServer {
 public:
  // kTruncatedHead: half a status line, then close. kHugeContentLength: a
  // Content-Length no 64-bit counter holds. kResetMidBody: half a body, then an
  // RST (SO_LINGER 0). kSlow: kOk after `set_delay`. kChatty: writes bytes
  // nobody asked for as soon as it accepts, then answers like kOk. kAcceptClose:
  // closes every connection it accepts without reading. kOneWorker: one
  // connection at a time, answered with `Connection: close`, as a WSGI server
  // with one sync worker (gunicorn): the next connection waits in the backlog.
  enum class Mode {
    kChatty,
    kAcceptClose,
    kOneWorker,
    kOk,
    kStatus,
    kGarbage,
    kStall,
    kChunked,
    kCloseDelimited,
    kTruncatedHead,
    kHugeContentLength,
    kResetMidBody,
    kSlow
  };

  explicit TestHttpServer(Mode mode = Mode::kOk, int status = 200)
      : TestHttpServer(mode, status, "127.0.0.1", 0) {}
  // On `address` (IPv4 or IPv6, e.g. "127.0.0.2", "::1") and `port` (0: an ephemeral one).
  TestHttpServer(Mode mode, int status, const std::string& address, uint16_t port)
      : mode_(mode), status_(status) {
    const bool v6 = address.find(':') != std::string::npos;
    listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (v6) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&storage);
      a6->sin6_family = AF_INET6;
      ::inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr);
      a6->sin6_port = htons(port);
      len = sizeof *a6;
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&storage);
      a4->sin_family = AF_INET;
      ::inet_pton(AF_INET, address.c_str(), &a4->sin_addr);
      a4->sin_port = htons(port);
      len = sizeof *a4;
    }
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&storage), len);
    ::listen(listen_fd_, 512);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&storage), &len);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~TestHttpServer() {
    stopping_ = true;
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& w : workers_) w.thread.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  uint64_t answered() const { return answered_.load(); }
  uint64_t accepted() const { return accepted_.load(); }
  // Requests that carried `Connection: close`.
  uint64_t close_asked() const { return close_asked_.load(); }
  void set_frozen(bool frozen) { frozen_ = frozen; }
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }
  // Connections open at the same time, at most (the truth for pool-size tests).
  uint64_t max_open() const { return max_open_.load(); }
  // Requests answered on each connection, in the order they were accepted
  // (the truth for the connection policy's tests).
  std::vector<uint64_t> per_connection() const {
    std::lock_guard lock(mu_);
    return per_connection_;
  }
  std::map<std::string, uint64_t> paths() const {
    std::lock_guard lock(mu_);
    return paths_;
  }

  // When each request arrived (whole), in order.
  std::vector<std::chrono::steady_clock::time_point> arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  // The most requests that arrived within any window of `w`.
  size_t max_arrivals_within(std::chrono::steady_clock::duration w) const {
    const auto times = arrivals();
    size_t best = 0;
    for (size_t lo = 0, hi = 0; hi < times.size(); ++hi) {
      while (times[hi] - times[lo] >= w) ++lo;
      best = std::max(best, hi - lo + 1);
    }
    return best;
  }

  // A port on 127.0.0.1 with nothing listening (bound, then released).
  static uint16_t unused_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++accepted_;
      size_t slot = 0;
      {
        std::lock_guard lock(mu_);
        slot = per_connection_.size();
        per_connection_.push_back(0);
      }
      if (mode_ == Mode::kAcceptClose) {
        ::close(fd);
        continue;
      }
      if (mode_ == Mode::kOneWorker) {
        ++open_;
        max_open_ = 1;
        serve(fd, slot);  // the only worker: nothing else is accepted meanwhile
        ::close(fd);
        --open_;
        continue;
      }
      const uint64_t open = ++open_;
      uint64_t seen = max_open_.load();
      while (open > seen && !max_open_.compare_exchange_weak(seen, open)) {
      }
      reap();
      std::lock_guard lock(mu_);
      fds_.insert(fd);
      auto done = std::make_shared<std::atomic<bool>>(false);
      workers_.push_back(Worker{std::thread([this, fd, done, slot] {
                                  serve(fd, slot);
                                  {
                                    std::lock_guard lock(mu_);
                                    fds_.erase(fd);
                                    ::close(fd);
                                  }
                                  --open_;
                                  *done = true;
                                }),
                                done});
    }
  }

  // Joins finished connection threads so a server that closes after every
  // response does not pile up threads.
  void reap() {
    for (size_t i = 0; i < workers_.size();) {
      if (*workers_[i].done) {
        workers_[i].thread.join();
        workers_[i] = std::move(workers_.back());
        workers_.pop_back();
      } else {
        ++i;
      }
    }
  }

  bool send_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  static constexpr const char* kCloseResponse =
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
  // `head` ends with the CRLF of its last header line.
  static bool asks_close(const std::string& head) {
    static const char kName[] = "\r\nconnection: close\r\n";
    for (size_t i = 0; i + sizeof kName - 1 <= head.size(); ++i) {
      if (strncasecmp(head.data() + i, kName, sizeof kName - 1) == 0) return true;
    }
    return false;
  }

  static size_t content_length(const std::string& head) {
    static const char kName[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof kName - 1 <= head.size(); ++i) {
      if (strncasecmp(head.data() + i, kName, sizeof kName - 1) == 0) {
        return std::stoul(head.substr(i + sizeof kName - 1));
      }
    }
    return 0;
  }

  std::string response() const {
    switch (mode_) {
      case Mode::kOk:
      case Mode::kSlow:
      case Mode::kChatty:
        return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      case Mode::kOneWorker:
        return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
      case Mode::kTruncatedHead:
        return "HTTP/1.1 200 O";
      case Mode::kHugeContentLength:
        return "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok";
      case Mode::kResetMidBody:
        return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of the body";
      case Mode::kStatus:
        return "HTTP/1.1 " + std::to_string(status_) + " Status\r\nContent-Length: 0\r\n\r\n";
      case Mode::kGarbage:
        return "this is not http at all\r\n\r\n";
      case Mode::kChunked:
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
      case Mode::kCloseDelimited:
        return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body ends when the connection does";
      case Mode::kStall:
      case Mode::kAcceptClose:
        break;
    }
    return {};
  }

  void serve(int fd, size_t slot) {
    std::string in;
    char buf[4096];
    if (mode_ == Mode::kChatty && !send_all(fd, "hello, nobody asked\r\n")) return;
    while (true) {
      if (stopping_) return;
      size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
        continue;
      }
      const size_t total = end + 4 + content_length(in.substr(0, end + 2));
      if (in.size() < total) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
        continue;
      }
      const size_t sp1 = in.find(' ');
      const size_t sp2 = in.find(' ', sp1 + 1);
      // A client's `Connection: close` is honoured, as HTTP/1.1 servers do (kOk, kSlow).
      const bool close_asked =
          (mode_ == Mode::kOk || mode_ == Mode::kSlow) && asks_close(in.substr(0, end + 2));
      if (close_asked) ++close_asked_;
      {
        std::lock_guard lock(mu_);
        ++paths_[in.substr(sp1 + 1, sp2 - sp1 - 1)];
        arrivals_.push_back(std::chrono::steady_clock::now());
      }
      in.erase(0, total);
      while (frozen_ && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (mode_ == Mode::kStall) continue;
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      if (!send_all(fd, close_asked ? kCloseResponse : response())) return;
      if (mode_ == Mode::kTruncatedHead) return;  // close after half a header
      if (mode_ == Mode::kResetMidBody) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the part arrive
        linger l{1, 0};  // close sends RST instead of FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return;
      }
      ++answered_;
      {
        std::lock_guard lock(mu_);
        ++per_connection_[slot];
      }
      if (mode_ == Mode::kCloseDelimited || mode_ == Mode::kOneWorker || close_asked) {
        return;  // closing the connection ends the body (or the worker's request)
      }
    }
  }

  const Mode mode_;
  const int status_;
  std::thread accept_thread_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> frozen_{false};
  std::atomic<int> delay_ms_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> max_open_{0};
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> close_asked_{0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> paths_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  std::vector<uint64_t> per_connection_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::set<int> fds_;
  std::vector<Worker> workers_;  // touched by the accept thread, then the destructor
};

}  // namespace horde::testing
