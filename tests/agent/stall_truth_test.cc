// The stall truth: a target that freezes for 1 s during a 10 s run.
// Open loop at 1000 rps measures every request from its intended send time, so
// the ~1000 requests due during the freeze all carry part of the stall and the
// tail shows it (p99 of several hundred ms, max near 1 s). Closed loop stops
// sending while its connections wait, so the same stall shows only as one slow
// request per connection: that is coordinated omission, and it is what closed
// loop honestly measures (the latency of the requests it did send).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/engine.h"
#include "tests/agent/test_http_server.h"

namespace horde {
namespace stall_truth_test {

using namespace std::chrono_literals;
using testing::TestHttpServer;

constexpr Millis kDuration{10'000};
constexpr auto kFreezeAt = 3s;  // from the phase start
constexpr auto kFreezeFor = 1s;

EngineOptions options(uint16_t port, uint32_t connections) {
  EngineOptions o;
  Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  u.path = "/";
  u.text = "http://127.0.0.1:" + std::to_string(port) + "/";
  o.slice.targets = {u};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = connections;
  o.slice.load.duration = kDuration;
  o.slice.load.interval = 1000ms;
  o.slice.load.connect_timeout = 1000ms;
  // Well above the freeze: a request held by the stall must complete, not time out.
  o.slice.load.request_timeout = 5000ms;
  o.threads = 2;
  o.start = std::chrono::system_clock::now() + 200ms;
  return o;
}

struct RunResult {
  Counters total;
  Histogram latency;
};

// Runs the engine while a second thread freezes `server` from start + kFreezeAt
// for kFreezeFor; connection threads hold every request they read meanwhile.
RunResult run_with_freeze(TestHttpServer& server, EngineOptions o) {
  const auto start = o.start;
  std::thread freezer([&server, start] {
    std::this_thread::sleep_until(start + kFreezeAt);
    server.set_frozen(true);
    std::this_thread::sleep_for(kFreezeFor);  // at least 1 s, even if the thread woke late
    server.set_frozen(false);
  });
  RunResult run;
  std::mutex mu;
  Engine engine(std::move(o), [&](IntervalReport r) {
    std::lock_guard lock(mu);
    run.latency.add(r.latency);
  });
  run.total = engine.run();
  freezer.join();
  return run;
}

// Samples whose bucket lies wholly at or above `us` (bucket edges are 0.1% apart there).
uint64_t count_at_or_above(const Histogram& h, int64_t us) {
  uint64_t n = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    if (Histogram::lowest_equivalent(i) >= us) n += h.count_at(i);
  }
  return n;
}

void print(const char* mode, const RunResult& run) {
  std::printf("%s: requests %llu, p50 %lld us, p99 %lld us, max %lld us, >=500ms %llu\n", mode,
              static_cast<unsigned long long>(run.total.requests),
              static_cast<long long>(run.latency.value_at_percentile(50)),
              static_cast<long long>(run.latency.value_at_percentile(99)),
              static_cast<long long>(run.latency.max()),
              static_cast<unsigned long long>(count_at_or_above(run.latency, 500'000)));
}

TEST(StallTruth, OpenLoopShowsTheWholeStallInTheTail) {
  TestHttpServer server;
  // 96 connections: the pool is busy during the freeze whatever its size, but
  // afterwards the backlog of ~1000 due requests drains in well under a second.
  EngineOptions o = options(server.port(), 96);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 1000;
  o.seed = 7;
  const RunResult run = run_with_freeze(server, std::move(o));
  print("open loop", run);
  EXPECT_EQ(run.total.errors, 0u);
  // The schedule offers 10,000; every one is sent, the stalled ones late.
  EXPECT_NEAR(static_cast<double>(run.total.requests), 10'000.0, 200.0);
  EXPECT_EQ(run.latency.total_count(), run.total.requests);
  // ~1000 requests (10%) were due during the freeze; measured from their
  // intended time, each waited from then to the thaw (0..1 s), so the top 1%
  // lies in the last few hundred ms of the stall.
  EXPECT_GE(run.latency.value_at_percentile(99), 300'000);
  EXPECT_GE(count_at_or_above(run.latency, 500'000), 300u);
  // The request due as the freeze began waited the whole second, no more.
  EXPECT_GE(run.latency.max(), 900'000);
  EXPECT_LE(run.latency.max(), 1'500'000);
}

TEST(StallTruth, ClosedLoopSeesOneSlowRequestPerConnection) {
  constexpr uint32_t kConnections = 8;
  TestHttpServer server;
  const RunResult run = run_with_freeze(server, options(server.port(), kConnections));
  print("closed loop", run);
  EXPECT_EQ(run.total.errors, 0u);
  EXPECT_GT(run.total.requests, 10'000u);  // a fast server, answered many times a second
  EXPECT_EQ(run.latency.total_count(), run.total.requests);
  // Each connection had one request in flight when the server froze and sent
  // nothing more until it was answered: the stall is in at most 8 samples out
  // of many thousands, so max sees it and p99 does not. This is coordinated
  // omission, the honest closed-loop view: the requests a user would have sent
  // during the stall were never sent, so they have no latency to record.
  EXPECT_GE(run.latency.max(), 900'000);
  EXPECT_LE(run.latency.max(), 1'500'000);
  EXPECT_LE(count_at_or_above(run.latency, 500'000), kConnections);
  EXPECT_LT(run.latency.value_at_percentile(99), 100'000);
}

}  // namespace stall_truth_test
}  // namespace horde
