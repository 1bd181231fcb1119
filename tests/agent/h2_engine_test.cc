// The HTTP/2 driver against real servers on 127.0.0.1: Debian's nginx with
// http2 (h2c with prior knowledge, and TLS with ALPN h2 from a self-signed
// certificate made by the openssl CLI), and the gRPC test target
// (tests/grpc_target). What the engine counts is checked against the servers'
// own counts (nginx's access log, the target's call count), never timings.
// Skipped when nginx or openssl is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "agent/engine.h"
#include "agent/request_table.h"
#include "common/process.h"
#include "tests/agent/test_http_server.h"

namespace horde {
namespace h2_engine_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
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

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct NginxOptions {
  bool tls = false;
  bool http2 = true;
  uint32_t max_concurrent_streams = 128;  // nginx's default
  uint32_t keepalive_requests = 1'000'000;
};

// nginx in the foreground, one process, its own config, pid, logs and temp
// paths in a temp dir. `/` answers 200 "ok", `/fail` 503; the access log gets
// one line per request: the status.
class H2Nginx {
 public:
  explicit H2Nginx(NginxOptions o) {
    char dir[] = "/tmp/horde-h2-test.XXXXXX";
    if (::mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    if (o.tls) {
      const std::string gen =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
          "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
          dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
      if (std::system(gen.c_str()) != 0) return;
    }
    port_ = testing::TestHttpServer::unused_port();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log warn;\n"
         << "events { worker_connections 1024; }\n"
         << "http {\n  log_format st '$status';\n  access_log " << dir_ << "/access.log st;\n"
         << "  keepalive_requests " << o.keepalive_requests << ";\n"
         << "  http2_max_concurrent_streams " << o.max_concurrent_streams << ";\n"
         << "  client_body_temp_path " << dir_ << "/body;\n"
         << "  proxy_temp_path " << dir_ << "/proxy;\n  fastcgi_temp_path " << dir_ << "/fcgi;\n"
         << "  uwsgi_temp_path " << dir_ << "/uwsgi;\n  scgi_temp_path " << dir_ << "/scgi;\n"
         << "  server {\n    listen 127.0.0.1:" << port_ << (o.tls ? " ssl" : "")
         << (o.http2 ? " http2" : "") << ";\n";
    if (o.tls) {
      conf << "    ssl_certificate " << dir_ << "/cert.pem;\n"
           << "    ssl_certificate_key " << dir_ << "/key.pem;\n";
    }
    conf << "    location / { return 200 \"ok\"; }\n"
         << "    location /fail { return 503 \"no\"; }\n  }\n}\n";
    conf.close();
    auto p = Subprocess::spawn(
        {kNginx, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"}, false);
    if (!p) return;
    process_ = std::move(*p);
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline && process_.running()) {
      if (connectable(port_)) {
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  ~H2Nginx() {
    if (ready_) {
      process_.signal(SIGTERM);
      process_.wait_until(Clock::now() + 5s);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }
  std::string ca_pem() const { return slurp(dir_ + "/cert.pem"); }
  // Requests nginx logged; waits (bounded) until the count reaches `at_least`,
  // as the log line of a request may lag its response by a moment.
  uint64_t logged(uint64_t at_least = 0) const {
    uint64_t n = 0;
    const auto deadline = Clock::now() + 3s;
    do {
      std::istringstream log(slurp(dir_ + "/access.log"));
      n = 0;
      for (std::string line; std::getline(log, line);) n += !line.empty();
      if (n >= at_least) break;
      std::this_thread::sleep_for(20ms);
    } while (Clock::now() < deadline);
    return n;
  }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  Subprocess process_;
  bool ready_ = false;
};

EngineOptions h2_options(const std::string& url, uint32_t connections, uint32_t streams,
                         Millis duration = 800ms) {
  EngineOptions o;
  auto parsed = parse_url(url);
  EXPECT_TRUE(parsed) << url;
  if (parsed) o.slice.targets = {*parsed};
  o.slice.protocol = Protocol::kHttp2;
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = connections;
  o.slice.load.streams_per_connection = streams;
  o.slice.load.duration = duration;
  o.slice.load.interval = 200ms;
  o.slice.load.connect_timeout = 2000ms;
  o.slice.load.request_timeout = 2000ms;
  o.threads = 1;
  o.start = std::chrono::system_clock::now() + 200ms;
  return o;
}

struct RunResult {
  Counters total;
  Histogram latency;
  size_t reports = 0;
  Clock::duration elapsed{};
};

RunResult run_engine(EngineOptions o) {
  RunResult run;
  std::mutex mu;
  Engine engine(std::move(o), [&](IntervalReport r) {
    std::lock_guard lock(mu);
    run.latency.add(r.latency);
    ++run.reports;
  });
  const auto begin = Clock::now();
  run.total = engine.run();
  run.elapsed = Clock::now() - begin;
  return run;
}

uint64_t errors_of(const Counters& c, ErrorClass cls) {
  return c.errors_by_class[static_cast<size_t>(cls)];
}

std::string h2c(uint16_t port, const std::string& path = "/") {
  return "h2c://127.0.0.1:" + std::to_string(port) + path;
}

class H2Engine : public ::testing::Test {
 protected:
  void start(NginxOptions o = {}) {
    if (::access(kNginx, X_OK) != 0) GTEST_SKIP() << "no nginx at " << kNginx;
    nginx_ = std::make_unique<H2Nginx>(o);
    if (!nginx_->ready()) GTEST_SKIP() << "nginx (or openssl) did not start";
  }
  // Every request answered 200 and counted once; nginx saw them all, and at
  // most the ones still in flight at the end (connections x streams) more.
  void expect_all_ok(const RunResult& run, uint64_t in_flight) {
    const Counters& c = run.total;
    EXPECT_GT(c.requests, 50u);
    EXPECT_EQ(c.errors, 0u);
    ASSERT_EQ(c.status_codes.size(), 1u);
    EXPECT_EQ(c.status_codes.at(200), c.requests);
    EXPECT_EQ(run.latency.total_count(), c.requests);
    const uint64_t logged = nginx_->logged(c.requests);
    EXPECT_LE(c.requests, logged);
    EXPECT_GE(c.requests + in_flight, logged);
    EXPECT_GT(c.bytes_sent, 0u);
    EXPECT_GT(c.bytes_received, 0u);
  }
  std::unique_ptr<H2Nginx> nginx_;
};

TEST_F(H2Engine, ClosedLoopOneStreamPerConnection) {
  start();
  const RunResult run = run_engine(h2_options(h2c(nginx_->port()), 3, 1));
  expect_all_ok(run, 3);
  EXPECT_EQ(run.total.connections_opened, 3u);
  EXPECT_EQ(run.reports, 4u);
}

TEST_F(H2Engine, ClosedLoopEightStreamsPerConnectionOnTwoThreads) {
  start();
  EngineOptions o = h2_options(h2c(nginx_->port()), 4, 8);
  o.threads = 2;
  const RunResult run = run_engine(o);
  expect_all_ok(run, 4 * 8);
  EXPECT_EQ(run.total.connections_opened, 4u);
}

TEST_F(H2Engine, ServerStreamLimitCapsTheStreams) {
  // 16 wanted, nginx allows 4: streams beyond would be refused or queued; the
  // cap keeps every request answered on the same connections.
  start({.max_concurrent_streams = 4});
  const RunResult run = run_engine(h2_options(h2c(nginx_->port()), 2, 16));
  expect_all_ok(run, 2 * 4);
  EXPECT_EQ(run.total.connections_opened, 2u);
}

TEST_F(H2Engine, ErrorStatusesAreCountedByClass) {
  start();
  const RunResult run = run_engine(h2_options(h2c(nginx_->port(), "/fail"), 2, 4, 400ms));
  const Counters& c = run.total;
  EXPECT_GT(c.requests, 10u);
  EXPECT_EQ(c.errors, c.requests);
  EXPECT_EQ(errors_of(c, ErrorClass::kHttp5xx), c.requests);
  EXPECT_EQ(c.status_codes.at(503), c.requests);
  EXPECT_EQ(run.latency.total_count(), c.requests);
}

TEST_F(H2Engine, OpenLoopSendsTheScheduledCount) {
  start();
  EngineOptions o = h2_options(h2c(nginx_->port()), 2, 4, 1000ms);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 400;
  const RunResult run = run_engine(o);
  EXPECT_EQ(run.total.errors, 0u);
  EXPECT_NEAR(static_cast<double>(run.total.requests), 400.0, 8.0);
  EXPECT_EQ(run.total.status_codes.at(200), run.total.requests);
  EXPECT_LE(run.total.requests, nginx_->logged(run.total.requests));
}

TEST_F(H2Engine, GoawayReplacesTheConnection) {
  // nginx ends a connection with GOAWAY after 20 requests: streams it did not
  // take count as goaway errors, the connection is replaced, nothing else fails.
  start({.keepalive_requests = 20});
  const RunResult run = run_engine(h2_options(h2c(nginx_->port()), 2, 4, 600ms));
  const Counters& c = run.total;
  EXPECT_GT(c.connections_opened, 4u);
  EXPECT_EQ(c.errors, errors_of(c, ErrorClass::kGoaway));
  EXPECT_EQ(c.status_codes.at(200) + c.errors, c.requests);
  EXPECT_GT(c.status_codes.at(200), 50u);
}

TEST_F(H2Engine, HttpsWithAlpnH2) {
  start({.tls = true});
  EngineOptions o = h2_options("https://127.0.0.1:" + std::to_string(nginx_->port()) + "/", 2, 8);
  o.slice.tls.ca_pem = nginx_->ca_pem();
  const RunResult run = run_engine(o);
  expect_all_ok(run, 2 * 8);
  EXPECT_EQ(run.total.connections_opened, 2u);
}

TEST_F(H2Engine, HttpsServerWithoutH2IsAConnectError) {
  start({.tls = true, .http2 = false});
  EngineOptions o =
      h2_options("https://127.0.0.1:" + std::to_string(nginx_->port()) + "/", 2, 8, 400ms);
  o.slice.tls.ca_pem = nginx_->ca_pem();
  const RunResult run = run_engine(o);
  EXPECT_GT(run.total.requests, 0u);
  EXPECT_EQ(errors_of(run.total, ErrorClass::kConnect), run.total.requests);
  EXPECT_EQ(run.total.connections_opened, 0u);
}

TEST(H2EngineNoServer, ConnectRefusedCountsConnectErrorsAndEnds) {
  const uint16_t port = testing::TestHttpServer::unused_port();
  EngineOptions o = h2_options(h2c(port), 3, 8, 600ms);
  const RunResult run = run_engine(o);
  EXPECT_GT(errors_of(run.total, ErrorClass::kConnect), 0u);
  EXPECT_EQ(run.total.errors, run.total.requests);
  EXPECT_EQ(run.total.connections_opened, 0u);
  EXPECT_LT(errors_of(run.total, ErrorClass::kConnect), 3u * 20);  // backoff
  EXPECT_EQ(run.reports, 3u);
  EXPECT_LT(run.elapsed, 5s);  // bound, not a timing: the run did not hang
}

TEST(H2EngineNoServer, AnHttp1ServerIsAConnectError) {
  // It never sends SETTINGS: the connection times out (or fails) while connecting.
  testing::TestHttpServer server;
  EngineOptions o = h2_options(h2c(server.port()), 2, 4, 600ms);
  o.slice.load.connect_timeout = 100ms;
  const RunResult run = run_engine(o);
  EXPECT_GT(run.total.requests, 0u);
  EXPECT_EQ(errors_of(run.total, ErrorClass::kConnect), run.total.requests);
  EXPECT_EQ(run.total.connections_opened, 0u);
  EXPECT_LT(run.total.requests, 2u * 20);  // retried after a backoff, not in a loop
}

// ---- a hostile HTTP/2 server (tests/agent/h2_bad_status_server.py) ----

// `:status: 099` passes nghttp2's three-digit check; before, the agent reported
// status 99, the controller rejected the whole report and dropped the agent.
TEST(H2EngineHostile, AStatusOutside100To599IsAProtocolError) {
  const char* python = "/usr/bin/python3";
  const std::string script = std::string(HORDE_SOURCE_DIR) + "/tests/agent/h2_bad_status_server.py";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no /usr/bin/python3";
  if (std::system("/usr/bin/python3 -c 'import h2' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-h2 is not installed";
  }
  for (const char* status : {"099", "600", "999"}) {
    SCOPED_TRACE(status);
    const uint16_t port = testing::TestHttpServer::unused_port();
    auto server = Subprocess::spawn({python, script, std::to_string(port), status}, true);
    ASSERT_TRUE(server.ok()) << server.error().message;
    ASSERT_TRUE(server->read_line(Clock::now() + 10s).has_value());
    for (LoadMode mode : {LoadMode::kClosed, LoadMode::kOpen}) {
      EngineOptions o = h2_options(h2c(port), 2, 4, 600ms);
      o.slice.load.mode = mode;
      if (mode == LoadMode::kOpen) o.slice.load.rate = 200;
      const RunResult run = run_engine(o);
      EXPECT_GT(run.total.requests, 10u);
      EXPECT_EQ(errors_of(run.total, ErrorClass::kProtocol), run.total.requests);
      EXPECT_EQ(run.total.errors, run.total.requests);
      EXPECT_TRUE(run.total.status_codes.empty());  // no code outside 100..599 leaves the agent
      EXPECT_EQ(run.reports, 3u);
    }
    server->signal(SIGKILL);
    server->wait_until(Clock::now() + 5s);
  }
}

// ---- gRPC against tests/grpc_target ----

// A serialized horde.test.SayRequest {text: "hi", code, delay_ms} in gRPC's
// length-prefixed framing: what the workload loader makes from JSON.
std::string say_frame(int code, int delay_ms = 0) {
  std::string msg = "\x0a\x02hi";
  auto varint = [&](uint32_t v) {
    while (v >= 0x80) {
      msg += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    msg += static_cast<char>(v);
  };
  if (code != 0) {
    msg += '\x10';
    varint(static_cast<uint32_t>(code));
  }
  if (delay_ms != 0) {
    msg += '\x18';
    varint(static_cast<uint32_t>(delay_ms));
  }
  std::string frame(5, '\0');
  frame[1] = static_cast<char>(msg.size() >> 24);
  frame[2] = static_cast<char>(msg.size() >> 16);
  frame[3] = static_cast<char>(msg.size() >> 8);
  frame[4] = static_cast<char>(msg.size());
  return frame + msg;
}

RequestSpec say(int code, int delay_ms = 0) {
  RequestSpec r;
  r.method = "POST";
  r.path = "/horde.test.Echo/Say";
  r.headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  r.body = say_frame(code, delay_ms);
  return r;
}

class GrpcTarget {
 public:
  GrpcTarget() {
    if (::access(HORDE_GRPC_TARGET, X_OK) != 0) return;
    auto p = Subprocess::spawn({HORDE_GRPC_TARGET, "--port", "0"}, true);
    if (!p) return;
    process_ = std::move(*p);
    const auto line = process_.read_line(Clock::now() + 10s);
    const std::string marker = "listening on 127.0.0.1:";
    if (line && line->rfind(marker, 0) == 0) {
      port_ = static_cast<uint16_t>(std::stoi(line->substr(marker.size())));
    }
  }
  uint16_t port() const { return port_; }
  // Say calls the server answered, from its exit line.
  uint64_t stop_and_count() {
    process_.signal(SIGTERM);
    const auto line = process_.read_line(Clock::now() + 5s);
    process_.wait_until(Clock::now() + 5s);
    return line && line->rfind("calls ", 0) == 0 ? std::stoull(line->substr(6)) : 0;
  }

 private:
  Subprocess process_;
  uint16_t port_ = 0;
};

TEST(H2EngineGrpc, StatusesAreCountedByCode) {
  GrpcTarget target;
  if (target.port() == 0) GTEST_SKIP() << "the gRPC test target did not start";
  EngineOptions o =
      h2_options("grpc://127.0.0.1:" + std::to_string(target.port()) + "/", 2, 4, 800ms);
  o.slice.protocol = Protocol::kGrpc;
  RequestSpec ok = say(0), not_found = say(5);
  ok.weight = 3;
  not_found.weight = 1;
  o.slice.requests = {ok, not_found};
  const RunResult run = run_engine(o);
  const Counters& c = run.total;
  const uint64_t served = target.stop_and_count();
  EXPECT_GT(c.requests, 50u);
  EXPECT_EQ(c.status_codes.at(200), c.requests);
  ASSERT_EQ(c.grpc_status.size(), 2u);
  EXPECT_EQ(c.grpc_status.at(0) + c.grpc_status.at(5), c.requests);
  EXPECT_GT(c.grpc_status.at(0), c.grpc_status.at(5));  // 3:1 by weight
  EXPECT_GT(c.grpc_status.at(5), 0u);
  EXPECT_EQ(c.errors, c.grpc_status.at(5));
  EXPECT_EQ(errors_of(c, ErrorClass::kGrpc), c.errors);
  EXPECT_LE(c.requests, served);
  EXPECT_GE(c.requests + 2 * 4, served);
}

TEST(H2EngineGrpc, SlowCallsTimeOutAndAreCancelled) {
  GrpcTarget target;
  if (target.port() == 0) GTEST_SKIP() << "the gRPC test target did not start";
  EngineOptions o =
      h2_options("grpc://127.0.0.1:" + std::to_string(target.port()) + "/", 1, 2, 1000ms);
  o.slice.protocol = Protocol::kGrpc;
  o.slice.requests = {say(0, 5000)};
  o.slice.load.request_timeout = 200ms;
  const RunResult run = run_engine(o);
  const Counters& c = run.total;
  // Each stream times out, is reset, and its slot sends the next call on the same connection.
  EXPECT_GE(errors_of(c, ErrorClass::kTimeout), 4u);
  EXPECT_EQ(c.errors, c.requests);
  EXPECT_EQ(errors_of(c, ErrorClass::kTimeout), c.requests);
  EXPECT_EQ(c.connections_opened, 1u);
  target.stop_and_count();
}

// ---- the request as HTTP/2 header fields ----

std::vector<std::pair<std::string, std::string>> fields_of(const H2Request& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const nghttp2_nv& nv : r.fields) {
    EXPECT_EQ(nv.flags, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
  }
  return out;
}

TEST(H2Request, PseudoHeadersFirstNamesLowerCasedConnectionHeadersDropped) {
  auto url = parse_url("h2c://example.test:8080/base?q=1");
  ASSERT_TRUE(url);
  RequestSpec spec;
  spec.method = "POST";
  spec.headers = {{"X-Trace", "1"},
                  {"Connection", "keep-alive"},
                  {"TE", "gzip"},
                  {"Transfer-Encoding", "chunked"}};
  spec.body = "hello";
  const H2Request r = build_h2_request(*url, spec);
  using F = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(fields_of(r), (F{{":method", "POST"},
                             {":scheme", "http"},
                             {":authority", "example.test:8080"},
                             {":path", "/base?q=1"},
                             {"x-trace", "1"},
                             {"content-length", "5"}}));
  EXPECT_EQ(r.body, "hello");
  // A copy shares the bytes: its fields still point at valid memory.
  const H2Request copy = r;
  EXPECT_EQ(fields_of(copy), fields_of(r));
}

TEST(H2Request, HostBecomesAuthorityTeTrailersKeptTlsSchemeDefaultPortOmitted) {
  auto url = parse_url("grpcs://api.test/");
  ASSERT_TRUE(url);
  RequestSpec spec;
  spec.method = "GET";
  spec.path = "/pkg.Svc/M";
  spec.headers = {{"Host", "other.test"}, {"te", "trailers"}};
  const H2Request r = build_h2_request(*url, spec);
  using F = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(fields_of(r), (F{{":method", "GET"},
                             {":scheme", "https"},
                             {":authority", "other.test"},
                             {":path", "/pkg.Svc/M"},
                             {"te", "trailers"}}));
  EXPECT_TRUE(r.body.empty());
}

}  // namespace h2_engine_test
}  // namespace horde
