// https:// through the engine against a real nginx on 127.0.0.1 with a
// self-signed certificate made by the openssl CLI: verification with the CA
// from the workload, without it (every request a connect error), and with
// insecure_skip_verify. Skipped when nginx or openssl is not installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "agent/engine.h"
#include "tests/agent/test_http_server.h"

namespace horde {
namespace tls_test {

using namespace std::chrono_literals;
constexpr const char* kNginx = "/usr/sbin/nginx";

bool connectable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// nginx in the foreground, one process, its own config, pid and logs in a temp dir.
class TlsNginx {
 public:
  TlsNginx() {
    char dir[] = "/tmp/horde-tls-test.XXXXXX";
    if (::mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    const std::string gen =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) return;
    port_ = testing::TestHttpServer::unused_port();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log warn;\n"
         << "events { worker_connections 256; }\n"
         << "http {\n  access_log off;\n  keepalive_requests 1000000;\n  client_body_temp_path "
         << dir_ << "/body;\n"
         << "  proxy_temp_path " << dir_ << "/proxy;\n  fastcgi_temp_path " << dir_ << "/fcgi;\n"
         << "  uwsgi_temp_path " << dir_ << "/uwsgi;\n  scgi_temp_path " << dir_ << "/scgi;\n"
         << "  server {\n    listen 127.0.0.1:" << port_ << " ssl;\n"
         << "    ssl_certificate " << dir_ << "/cert.pem;\n"
         << "    ssl_certificate_key " << dir_ << "/key.pem;\n"
         << "    location / { return 200 \"ok\"; }\n  }\n}\n";
    conf.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(kNginx, kNginx, "-p", dir_.c_str(), "-c", (dir_ + "/nginx.conf").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (connectable(port_)) {
        ready_ = true;
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  ~TlsNginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }
  std::string ca_pem() const {
    std::ifstream in(dir_ + "/cert.pem");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

EngineOptions https_options(uint16_t port, TlsSpec tls) {
  EngineOptions o;
  auto url = parse_url("https://127.0.0.1:" + std::to_string(port) + "/");
  o.slice.targets = {*url};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = 4;
  o.slice.load.duration = 600ms;
  o.slice.load.interval = 300ms;
  o.slice.load.connect_timeout = 2000ms;
  o.slice.load.request_timeout = 2000ms;
  o.slice.tls = std::move(tls);
  o.threads = 2;
  o.start = std::chrono::system_clock::now() + 300ms;
  return o;
}

Counters run(EngineOptions o) {
  Engine engine(std::move(o), [](IntervalReport) {});
  return engine.run();
}

uint64_t connect_errors(const Counters& c) {
  return c.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)];
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kNginx, X_OK) != 0) GTEST_SKIP() << "no nginx at " << kNginx;
    nginx_ = std::make_unique<TlsNginx>();
    if (!nginx_->ready()) GTEST_SKIP() << "nginx or openssl did not start";
  }
  std::unique_ptr<TlsNginx> nginx_;
};

TEST_F(Tls, WithTheCaEveryRequestSucceeds) {
  TlsSpec tls;
  tls.ca_pem = nginx_->ca_pem();
  const Counters c = run(https_options(nginx_->port(), tls));
  EXPECT_GT(c.requests, 50u);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_EQ(c.status_codes.at(200), c.requests);
  EXPECT_EQ(c.connections_opened, 4u);  // keep-alive over TLS: no reconnects
}

TEST_F(Tls, OpenLoopOverTls) {
  TlsSpec tls;
  tls.ca_pem = nginx_->ca_pem();
  EngineOptions o = https_options(nginx_->port(), tls);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 200;
  const Counters c = run(o);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_NEAR(static_cast<double>(c.requests), 120.0, 3.0);
}

TEST_F(Tls, WithoutTheCaEveryRequestFailsToConnect) {
  const Counters c = run(https_options(nginx_->port(), TlsSpec{}));  // system CAs only
  EXPECT_GT(c.requests, 0u);
  EXPECT_EQ(c.errors, c.requests);
  EXPECT_EQ(connect_errors(c), c.errors);
  EXPECT_EQ(c.connections_opened, 0u);
  EXPECT_TRUE(c.status_codes.empty());
}

TEST_F(Tls, AWrongServerNameFailsVerification) {
  TlsSpec tls;
  tls.ca_pem = nginx_->ca_pem();
  tls.server_name = "not-this-host.example";
  const Counters c = run(https_options(nginx_->port(), tls));
  EXPECT_GT(c.requests, 0u);
  EXPECT_EQ(connect_errors(c), c.requests);
}

TEST_F(Tls, InsecureSkipVerifySucceeds) {
  TlsSpec tls;
  tls.insecure_skip_verify = true;
  const Counters c = run(https_options(nginx_->port(), tls));
  EXPECT_GT(c.requests, 50u);
  EXPECT_EQ(c.errors, 0u);
}

}  // namespace tls_test
}  // namespace horde
