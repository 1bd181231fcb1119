// The engine against real servers on 127.0.0.1: what it counts is checked
// against what the server saw, never against wall-clock timings.
#include "agent/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/agent/test_http_server.h"

namespace horde {
namespace {

using namespace std::chrono_literals;
using testing::TestHttpServer;

Url local(uint16_t port, const std::string& path = "/") {
  Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  u.path = path;
  u.text = "http://127.0.0.1:" + std::to_string(port) + path;
  return u;
}

EngineOptions options(uint16_t port, uint32_t connections, Millis duration, unsigned threads = 1) {
  EngineOptions o;
  o.slice.targets = {local(port)};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = connections;
  o.slice.load.duration = duration;
  o.slice.load.interval = 250ms;
  o.slice.load.connect_timeout = 1000ms;
  o.slice.load.request_timeout = 2000ms;
  o.threads = threads;
  o.phase = 3;
  o.start = std::chrono::system_clock::now() + 100ms;
  return o;
}

struct RunResult {
  std::vector<IntervalReport> reports;
  Counters total;
  Histogram latency;
  std::chrono::steady_clock::duration elapsed;
};

RunResult run_engine(EngineOptions o) {
  RunResult run;
  std::mutex mu;
  Engine engine(std::move(o), [&](IntervalReport r) {
    std::lock_guard lock(mu);
    run.reports.push_back(std::move(r));
  });
  const auto begin = std::chrono::steady_clock::now();
  run.total = engine.run();
  run.elapsed = std::chrono::steady_clock::now() - begin;
  for (const auto& r : run.reports) run.latency.add(r.latency);
  return run;
}

uint64_t errors_of(const Counters& c, ErrorClass cls) {
  return c.errors_by_class[static_cast<size_t>(cls)];
}

// Intervals 0..n-1, each exactly once, in order, with the phase; their sum is the total.
void expect_intervals(const RunResult& run, uint32_t count) {
  ASSERT_EQ(run.reports.size(), count);
  Counters sum;
  for (uint32_t i = 0; i < count; ++i) {
    EXPECT_EQ(run.reports[i].interval, i);
    EXPECT_EQ(run.reports[i].phase, 3u);
    sum.add(run.reports[i].counters);
  }
  EXPECT_EQ(sum, run.total);
}

TEST(Engine, ClosedLoopMatchesServerCount) {
  TestHttpServer server;
  const RunResult run = run_engine(options(server.port(), 6, 1000ms, 2));
  expect_intervals(run, 4);
  const Counters& c = run.total;
  EXPECT_GT(c.requests, 100u);
  EXPECT_EQ(c.errors, 0u);
  // Responses written by the server but still on their way when the run ended are not counted.
  EXPECT_LE(c.requests, server.answered());
  EXPECT_GE(c.requests + 6, server.answered());
  EXPECT_EQ(c.status_codes.at(200), c.requests);
  EXPECT_EQ(c.status_codes.size(), 1u);
  EXPECT_EQ(run.latency.total_count(), c.requests);
  EXPECT_EQ(c.connections_opened, 6u);
  EXPECT_GE(c.bytes_sent, c.requests * 30);
  EXPECT_GE(c.bytes_received, c.requests * 40);
  EXPECT_EQ(c.late, 0u);
}

TEST(Engine, HttpErrorStatusesAreCountedByClass) {
  {
    TestHttpServer server(TestHttpServer::Mode::kStatus, 404);
    const Counters c = run_engine(options(server.port(), 2, 400ms)).total;
    EXPECT_GT(c.requests, 0u);
    EXPECT_EQ(c.errors, c.requests);
    EXPECT_EQ(errors_of(c, ErrorClass::kHttp4xx), c.requests);
    EXPECT_EQ(c.status_codes.at(404), c.requests);
  }
  {
    TestHttpServer server(TestHttpServer::Mode::kStatus, 503);
    const RunResult run = run_engine(options(server.port(), 2, 400ms));
    const Counters& c = run.total;
    EXPECT_GT(c.requests, 0u);
    EXPECT_EQ(errors_of(c, ErrorClass::kHttp5xx), c.requests);
    EXPECT_EQ(c.status_codes.at(503), c.requests);
    EXPECT_EQ(run.latency.total_count(), c.requests);  // error responses still have a latency
  }
}

TEST(Engine, ConnectRefusedCountsConnectErrorsAndEndsOnTime) {
  const RunResult run = run_engine(options(TestHttpServer::unused_port(), 4, 600ms, 2));
  expect_intervals(run, 3);
  EXPECT_GT(errors_of(run.total, ErrorClass::kConnect), 0u);
  EXPECT_EQ(run.total.errors, run.total.requests);
  EXPECT_EQ(run.total.connections_opened, 0u);
  // Backoff keeps a dead target from spinning: a handful of attempts per connection.
  EXPECT_LT(errors_of(run.total, ErrorClass::kConnect), 4u * 20);
  EXPECT_LT(run.elapsed, 5s);  // bound, not a timing: the run did not hang
}

TEST(Engine, GarbageIsAProtocolError) {
  TestHttpServer server(TestHttpServer::Mode::kGarbage);
  const Counters c = run_engine(options(server.port(), 2, 400ms)).total;
  EXPECT_GT(errors_of(c, ErrorClass::kProtocol), 0u);
  EXPECT_EQ(c.errors, c.requests);
  EXPECT_TRUE(c.status_codes.empty());
  EXPECT_GT(c.connections_opened, 2u);  // each bad connection was replaced
}

TEST(Engine, StalledServerTimesOut) {
  TestHttpServer server(TestHttpServer::Mode::kStall);
  EngineOptions o = options(server.port(), 2, 1000ms);
  o.slice.load.request_timeout = 200ms;
  const Counters c = run_engine(o).total;
  EXPECT_GE(errors_of(c, ErrorClass::kTimeout), 2u);
  EXPECT_EQ(c.errors, c.requests);
  EXPECT_GT(c.connections_opened, 2u);  // timed-out connections were replaced
}

TEST(Engine, ChunkedAndCloseDelimitedBodies) {
  for (auto mode : {TestHttpServer::Mode::kChunked, TestHttpServer::Mode::kCloseDelimited}) {
    TestHttpServer server(mode);
    const Counters c = run_engine(options(server.port(), 2, 400ms)).total;
    EXPECT_GT(c.requests, 5u);
    EXPECT_EQ(c.errors, 0u);
    EXPECT_EQ(c.status_codes.at(200), c.requests);
    EXPECT_LE(c.requests, server.answered());
  }
}

TEST(Engine, OpenLoopSendsTheScheduledCount) {
  TestHttpServer server;
  EngineOptions o = options(server.port(), 10, 2000ms, 2);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 500;
  const RunResult run = run_engine(o);
  expect_intervals(run, 8);
  EXPECT_NEAR(static_cast<double>(run.total.requests), 1000.0, 20.0);
  EXPECT_EQ(run.total.errors, 0u);
}

TEST(Engine, OpenLoopMeasuresFromIntendedTime) {
  TestHttpServer server;
  EngineOptions o = options(server.port(), 60, 2000ms);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 200;
  o.start = std::chrono::system_clock::now() + 200ms;
  const auto start = o.start;
  std::thread freezer([&] {
    std::this_thread::sleep_until(start + 500ms);
    server.set_frozen(true);
    std::this_thread::sleep_until(start + 1000ms);
    server.set_frozen(false);
  });
  const RunResult run = run_engine(o);
  freezer.join();
  EXPECT_EQ(run.total.errors, 0u);
  EXPECT_NEAR(static_cast<double>(run.total.requests), 400.0, 8.0);
  // Requests that were due during the freeze waited for it: measured from when
  // they should have been sent, their latency shows the whole stall.
  EXPECT_GE(run.latency.max(), 400'000);
  EXPECT_GE(run.latency.value_at_percentile(99), 100'000);
}

TEST(Engine, WeightedRequestsFollowWeights) {
  TestHttpServer server;
  EngineOptions o = options(server.port(), 4, 1500ms);
  RequestSpec a, b;
  a.path = "/a";
  a.weight = 3;
  b.path = "/b";
  b.weight = 1;
  o.slice.requests = {a, b};
  const Counters c = run_engine(o).total;
  const auto paths = server.paths();
  const double na = paths.count("/a") ? paths.at("/a") : 0;
  const double nb = paths.count("/b") ? paths.at("/b") : 0;
  ASSERT_GE(na + nb, 2000);
  EXPECT_NEAR(na / (na + nb), 0.75, 0.03);
  EXPECT_EQ(c.errors, 0u);
}

TEST(Engine, StopEndsPromptlyAndReportsTheCurrentInterval) {
  TestHttpServer server;
  EngineOptions o = options(server.port(), 4, 30'000ms, 2);
  std::vector<IntervalReport> reports;
  std::mutex mu;
  Engine engine(o, [&](IntervalReport r) {
    std::lock_guard lock(mu);
    reports.push_back(std::move(r));
  });
  std::thread stopper([&] {
    std::this_thread::sleep_for(700ms);
    engine.stop();
  });
  const auto begin = std::chrono::steady_clock::now();
  const Counters total = engine.run();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  ASSERT_FALSE(reports.empty());
  EXPECT_LT(reports.size(), 10u);
  Counters sum;
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].interval, i);
    sum.add(reports[i].counters);
  }
  EXPECT_EQ(sum, total);
  EXPECT_GT(total.requests, 0u);
}

TEST(Engine, StopBeforeRunReturnsAtOnce) {
  TestHttpServer server;
  Engine engine(options(server.port(), 2, 30'000ms), [](IntervalReport) {});
  engine.stop();
  const Counters total = engine.run();
  EXPECT_EQ(total.requests, 0u);
}

TEST(Engine, NoConnectionsStillReportsEveryInterval) {
  const RunResult run = run_engine(options(TestHttpServer::unused_port(), 0, 500ms, 2));
  expect_intervals(run, 2);
  EXPECT_EQ(run.total.requests, 0u);
}

TEST(Engine, WarmupCountsInTheIntervalsAndUnevenLastInterval) {
  TestHttpServer server;
  EngineOptions o = options(server.port(), 2, 600ms);
  o.slice.load.warmup = 200ms;
  o.slice.load.interval = 300ms;  // 800 ms: intervals of 300, 300 and 200 ms
  const RunResult run = run_engine(o);
  expect_intervals(run, 3);
  for (const auto& r : run.reports) EXPECT_GT(r.counters.requests, 0u);
}

}  // namespace
}  // namespace horde
