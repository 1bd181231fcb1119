// Open loop connects on demand (agent/thread_loop.h): a due request takes an
// idle open connection, most recently used first, else opens one then, up to
// the bound; a closed connection is not reopened until a request needs it, and
// nothing is opened in advance unless load.connections asks for it. Checked
// against servers whose own counts are the truth: connections accepted and
// requests answered (tests/agent/test_http_server.h), never timings alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/engine.h"
#include "tests/agent/test_http_server.h"

namespace horde {
namespace open_loop_pool_test {

using namespace std::chrono_literals;
using testing::TestHttpServer;

Url local(uint16_t port) {
  Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  u.path = "/";
  u.text = "http://127.0.0.1:" + std::to_string(port) + "/";
  return u;
}

// Open loop at `rate` for `duration`, none opened in advance, at most `bound`.
EngineOptions open_loop(uint16_t port, double rate, Millis duration, uint32_t bound,
                        uint32_t in_advance = 0) {
  EngineOptions o;
  o.slice.targets = {local(port)};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = rate;
  o.slice.load.connections = in_advance;
  o.slice.load.max_connections = bound;
  o.slice.load.duration = duration;
  o.slice.load.interval = 250ms;
  o.slice.load.connect_timeout = 1000ms;
  o.slice.load.request_timeout = 2000ms;
  o.threads = 1;
  o.phase = 1;
  o.start = std::chrono::system_clock::now() + 300ms;
  return o;
}

struct PoolRun {
  Counters total;
  Histogram latency;
};

PoolRun run(EngineOptions o) {
  PoolRun r;
  std::mutex mu;
  Engine engine(std::move(o), [&](IntervalReport rep) {
    std::lock_guard lock(mu);
    r.latency.add(rep.latency);
  });
  r.total = engine.run();
  return r;
}

uint64_t errors_of(const Counters& c, ErrorClass cls) {
  return c.errors_by_class[static_cast<size_t>(cls)];
}

// What the server had accepted shortly before the start (sampled on a thread).
struct BeforeStart {
  BeforeStart(const TestHttpServer& server, std::chrono::system_clock::time_point start)
      : sampler([&server, start, this] {
          std::this_thread::sleep_until(start - 100ms);
          accepted = server.accepted();
        }) {}
  ~BeforeStart() {
    if (sampler.joinable()) sampler.join();
  }
  uint64_t get() {
    sampler.join();
    return accepted.load();
  }
  std::atomic<uint64_t> accepted{0};
  std::thread sampler;
};

TEST(OpenLoopPool, NothingIsOpenedInAdvanceByDefault) {
  TestHttpServer server;
  EngineOptions o = open_loop(server.port(), 20, 1000ms, 10);
  BeforeStart before(server, o.start);
  const PoolRun r = run(o);
  EXPECT_EQ(before.get(), 0u);
  EXPECT_NEAR(static_cast<double>(r.total.requests), 20.0, 2.0);
  EXPECT_EQ(r.total.errors, 0u);
}

TEST(OpenLoopPool, ConnectionsInAdvanceAreOpenBeforeTheStart) {
  TestHttpServer server;
  EngineOptions o = open_loop(server.port(), 20, 1000ms, 10, /*in_advance=*/3);
  BeforeStart before(server, o.start);
  const PoolRun r = run(o);
  EXPECT_EQ(before.get(), 3u);
  EXPECT_EQ(r.total.errors, 0u);
  // Requests 50 ms apart on a sub-millisecond server: the most recently used
  // connection takes every one, so the pool never grows past what was opened.
  EXPECT_EQ(server.accepted(), 3u);
  EXPECT_EQ(r.total.connections_opened, 3u);
}

TEST(OpenLoopPool, TheMostRecentlyUsedConnectionTakesTheNextRequest) {
  TestHttpServer server;
  const PoolRun r = run(open_loop(server.port(), 20, 1500ms, 10));
  EXPECT_EQ(r.total.errors, 0u);
  EXPECT_NEAR(static_cast<double>(r.total.requests), 30.0, 2.0);
  // One request at a time needs one connection: a busy moment may add one.
  EXPECT_LE(server.accepted(), 2u);
  EXPECT_EQ(r.total.connections_opened, server.accepted());
  EXPECT_GE(r.total.connections_peak, 1u);
  EXPECT_LE(r.total.connections_peak, 2u);
}

TEST(OpenLoopPool, OpensWhenNoneIsIdleAndNeverAboveTheBound) {
  TestHttpServer server(TestHttpServer::Mode::kSlow);
  server.set_delay(50ms);  // 100/s at 50 ms each keeps about 5 in flight
  const PoolRun wide = run(open_loop(server.port(), 100, 1500ms, 40));
  EXPECT_EQ(wide.total.errors, 0u);
  EXPECT_GE(wide.total.connections_opened, 4u);
  EXPECT_LT(wide.total.connections_opened, 40u);  // what the concurrency needs, not the bound
  EXPECT_EQ(wide.total.max_connections_hit, 0u);

  TestHttpServer narrow_server(TestHttpServer::Mode::kSlow);
  narrow_server.set_delay(50ms);
  const PoolRun narrow = run(open_loop(narrow_server.port(), 100, 1500ms, 3));
  EXPECT_EQ(narrow.total.connections_opened, 3u);
  EXPECT_LE(narrow_server.max_open(), 3u);
  EXPECT_LE(narrow.total.connections_peak, 3u);
  // The due requests waited for one of the 3 and counted that the bound held them.
  EXPECT_GT(narrow.total.max_connections_hit, 0u);
  EXPECT_GT(narrow.total.late, 0u);
}

// A server with one sync worker per instance (gunicorn): a connection opened
// with no request on it holds the worker until a request comes on that one.
TEST(OpenLoopPool, ASyncWorkerIsNeverHeldByAnIdleConnection) {
  TestHttpServer server(TestHttpServer::Mode::kOneWorker);
  const PoolRun r = run(open_loop(server.port(), 20, 2000ms, 10));
  EXPECT_EQ(r.total.errors, 0u);
  EXPECT_NEAR(static_cast<double>(r.total.requests), 40.0, 2.0);
  // Every connection it accepted carried a request (the server closes each).
  EXPECT_LE(server.accepted(), server.answered() + 1);
  EXPECT_GE(r.total.reconnects, r.total.requests - 2);  // one slot, reopened per request
  // With idle connections held (the old pool), p99 was ~400 ms here: the
  // request waited until one was sent on the connection the worker held.
  EXPECT_LT(r.latency.value_at_percentile(99), 150'000);
}

// ---- a misbehaving target cannot inflate counts or flood connections ----

TEST(OpenLoopPool, BytesOnAnIdleConnectionInventNoRequest) {
  TestHttpServer server(TestHttpServer::Mode::kChatty);
  const PoolRun r = run(open_loop(server.port(), 5, 2000ms, 10, /*in_advance=*/10));
  // 10 requests were due; each is counted once (the greeting arrives on the
  // connection it was sent on: a protocol error), never one per greeting.
  EXPECT_LE(r.total.requests, 11u);
  EXPECT_GE(r.total.requests, 8u);
  EXPECT_EQ(r.total.errors, r.total.requests);
  EXPECT_LE(server.accepted(), 10u + 11u);  // the advance ones, then one per request
}

TEST(OpenLoopPool, AcceptAndCloseCostsAConnectionPerRequest) {
  TestHttpServer server(TestHttpServer::Mode::kAcceptClose);
  const PoolRun r = run(open_loop(server.port(), 10, 2000ms, 10, /*in_advance=*/10));
  EXPECT_LE(r.total.requests, 21u);
  EXPECT_GE(r.total.requests, 15u);
  EXPECT_EQ(r.total.errors, r.total.requests);
  EXPECT_TRUE(r.total.status_codes.empty());
  EXPECT_LE(server.accepted(), 10u + 21u);  // before: tens of thousands in 3 s
}

TEST(OpenLoopPool, ARefusedPortCountsEachDueRequestOnce) {
  const PoolRun r = run(open_loop(TestHttpServer::unused_port(), 10, 3000ms, 10));
  // 30 requests were due; each failed once (connect, or a timeout while every
  // connection was backing off), never once per attempt.
  EXPECT_LE(r.total.requests, 31u);
  EXPECT_GE(r.total.requests, 20u);
  EXPECT_EQ(r.total.errors, r.total.requests);
  EXPECT_EQ(errors_of(r.total, ErrorClass::kConnect) + errors_of(r.total, ErrorClass::kTimeout),
            r.total.errors);
  EXPECT_EQ(r.total.connections_opened, 0u);
}

}  // namespace open_loop_pool_test
}  // namespace horde
