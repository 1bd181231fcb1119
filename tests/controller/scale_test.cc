// Tests for scaling the target between steps of an instances sweep: the scale
// command (expansion of {instances}, exit codes, timeout) and the ready check
// (a command, or an HTTP URL served by a tiny server on 127.0.0.1 that answers
// 503 a few times before 200). Every wait is bounded by a short timeout.
#include "controller/scale.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace horde {
namespace scale_test {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/horde_scale_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

// One-thread HTTP server on 127.0.0.1: the first `unready` requests get 503,
// the rest 200. Answers one request per connection, then closes it.
class ReadyServer {
 public:
  explicit ReadyServer(int unready) : unready_(unready) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ReadyServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path = "/ready") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string head;
      char buf[1024];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 1000) != 1) break;
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      const bool ready = requests_++ >= unready_;
      const std::string body = ready ? "ok" : "starting";
      const std::string resp = std::string("HTTP/1.1 ") +
                               (ready ? "200 OK" : "503 Service Unavailable") +
                               "\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  int unready_;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
uint16_t closed_port() {
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

// ---- scale command ----

TEST(ScaleCommand, ReplacesInstancesAndSucceeds) {
  TempDir dir;
  const std::string out = dir.file("replicas");
  auto r =
      run_scale_command("echo {instances} > " + out + " && echo scaled to {instances}", 7, 10s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(read_file(out), "7\n");
}

TEST(ScaleCommand, NonZeroExitIsAnErrorWithTheCode) {
  auto r = run_scale_command("echo trying {instances}; exit 3", 2, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("exited with 3"));
  EXPECT_THAT(r.error().message, HasSubstr("echo trying 2; exit 3"));  // the expanded command
}

TEST(ScaleCommand, RunningPastTheTimeoutIsKilled) {
  TempDir dir;
  const std::string marker = dir.file("finished");
  // exec: the shell becomes sleep, so the kill reaches the process that sleeps.
  auto r = run_scale_command("exec sleep 30 && touch " + marker + " {instances}", 1, 300ms);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("still running"));
  EXPECT_THAT(r.error().message, HasSubstr("killed"));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// ---- ready check ----

TEST(WaitReady, CommandSucceedingOnTheSecondTry) {
  TempDir dir;
  const std::string counter = dir.file("count");
  ReadyCheck check;
  // Appends a line per try; exits 0 once there are two lines.
  check.command = "echo x >> " + counter + "; test $(wc -l < " + counter + ") -ge 2";
  check.timeout = 20s;
  auto r = wait_ready(check, 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(read_file(counter), "x\nx\n");
}

TEST(WaitReady, CommandNeverSucceedingErrorsAtTheTimeout) {
  ReadyCheck check;
  check.command = "exit 4";
  check.timeout = 1200ms;
  auto r = wait_ready(check, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("not ready with 5 instance(s)"));
  EXPECT_THAT(r.error().message, HasSubstr("exit code 4"));
}

TEST(WaitReady, UrlAnswering503ThenOk) {
  ReadyServer server(2);
  ReadyCheck check;
  check.url = server.url();
  check.timeout = 20s;
  auto r = wait_ready(check, 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(server.requests(), 3);
}

TEST(WaitReady, UrlToAClosedPortErrorsAtItsTimeout) {
  ReadyCheck check;
  check.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/ready";
  check.timeout = 1200ms;
  auto r = wait_ready(check, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("not ready with 4 instance(s)"));
  // The last check failed without an answer (http_status reports a refused
  // non-blocking connect as "send failed", since it does not read SO_ERROR).
  EXPECT_THAT(r.error().message, HasSubstr("last check: "));
  EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("HTTP")));
}

// ---- http_status ----

TEST(HttpStatus, ReadsTheStatusLine) {
  ReadyServer server(1);
  auto first = http_status(server.url("/healthz?x=1"), 2s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 503);
  auto second = http_status(server.url(), 2s);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, 200);
}

TEST(HttpStatus, ErrorsOnClosedPortAndOtherSchemes) {
  EXPECT_FALSE(http_status("http://127.0.0.1:" + std::to_string(closed_port()) + "/", 1s).ok());
  auto tls = http_status("https://127.0.0.1:1/", 1s);
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(tls.error().message, HasSubstr("http://"));
  EXPECT_FALSE(http_status("not a url", 1s).ok());
}

}  // namespace scale_test
}  // namespace horde

namespace horde {
namespace scale_test {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A stop (SIGINT/SIGTERM sets the controller's abort flag) ends a scale
// command or a ready wait within a fraction of a second, not at their timeouts.
double seconds_until_cancelled(const std::function<Result<bool>(const std::atomic<bool>*)>& f,
                               std::string* message) {
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = f(&cancel);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stopper.join();
  EXPECT_FALSE(r.ok());
  if (!r.ok()) *message = r.error().message;
  return took;
}

TEST(ScaleCommand, AStopKillsItAtOnce) {
  std::string why;
  const double took = seconds_until_cancelled(
      [](const std::atomic<bool>* c) { return run_scale_command("exec sleep 30", 1, 60s, c); },
      &why);
  EXPECT_LT(took, 5.0);  // at its timeout it would be 60 s; ~0.4 s on an idle machine
  EXPECT_THAT(why, HasSubstr("aborted"));
  // A command that prints and keeps its output open is stopped the same way.
  const double took2 = seconds_until_cancelled(
      [](const std::atomic<bool>* c) {
        return run_scale_command("echo scaling; exec sleep 30", 1, 60s, c);
      },
      &why);
  EXPECT_LT(took2, 5.0);
}

TEST(WaitReady, AStopEndsTheWait) {
  std::string why;
  double took = seconds_until_cancelled(
      [](const std::atomic<bool>* c) {
        ReadyCheck check;
        check.command = "exit 1";
        check.timeout = 60s;
        return wait_ready(check, 2, c);
      },
      &why);
  EXPECT_LT(took, 5.0);
  EXPECT_THAT(why, HasSubstr("aborted"));
  took = seconds_until_cancelled(
      [](const std::atomic<bool>* c) {
        ReadyCheck check;
        check.command = "exec sleep 30";  // one check that hangs
        check.timeout = 60s;
        return wait_ready(check, 2, c);
      },
      &why);
  EXPECT_LT(took, 5.0);
}

}  // namespace scale_test
}  // namespace horde
