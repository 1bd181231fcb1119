// Tests of the target's scalability model: the contention formula against Amdahl computed another
// way; the lock and the crosstalk channel in virtual time (FIFO turns, and the saturated
// throughput of a simulated closed loop against the bounds each mechanism implies); the service
// time each request really gets as instances turn busy and idle (read from /__stats, so ordered by
// polling, never by timing), flag validation, and one count of rounds whose only timing assertion
// is a lower bound (timers never fire early).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "target/scaling_model.h"
#include "target/target.h"
#include "tests/target/target_client.h"

namespace horde {
namespace contention_test {

using namespace std::chrono_literals;
using namespace target_test;
using target::ScalingModel;

TargetOptions Shared(uint32_t instances, uint32_t workers, std::chrono::microseconds service,
                     double contention, double crosstalk, unsigned threads = 2) {
  TargetOptions o = Options(instances, workers, service, threads);
  o.contention = contention;
  o.crosstalk = crosstalk;
  return o;
}

// Throughput of N saturated instances as the USL states it, for comparison with W / S(N) x N.
double Usl(double lambda, double sigma, double kappa, double n) {
  return lambda * n / (1 + sigma * (n - 1) + kappa * n * (n - 1));
}

TEST(ScalingModel, ServiceTimeFollowsTheFormula) {
  ScalingModel model(100ms, 0.5, 0);
  EXPECT_EQ(model.ServiceTimeAt(0), 100ms);  // read as 1
  EXPECT_EQ(model.ServiceTimeAt(1), 100ms);
  EXPECT_EQ(model.ServiceTimeAt(2), 150ms);   // 1 + 0.5
  EXPECT_EQ(model.ServiceTimeAt(3), 200ms);   // 1 + 1.0
  EXPECT_EQ(model.ServiceTimeAt(10), 550ms);  // 1 + 4.5
  ScalingModel none(100ms, 0, 0);
  EXPECT_EQ(none.ServiceTimeAt(7), 100ms);
  // With nothing shared the count is not even kept.
  none.InstanceBusy();
  EXPECT_EQ(none.active(), 0u);
  ScalingModel shared(1ms, 0.1, 0);
  shared.InstanceBusy();
  shared.InstanceBusy();
  EXPECT_EQ(shared.active(), 2u);
  const ScalingModel::Clock::time_point t0{};
  EXPECT_EQ(shared.Serve(t0) - t0, 1100us);
  shared.InstanceIdle();
  EXPECT_EQ(shared.Serve(t0) - t0, 1ms);
}

TEST(ScalingModel, SaturatedThroughputOfTheFormulaIsAmdahl) {
  // N instances of W workers all busy: each serves W / S(N), so the total is N W / S(N), which
  // must equal the USL with lambda = W / S, sigma = contention, kappa = 0.
  const uint32_t workers = 4;
  const auto service = 10ms;
  const double lambda = workers / std::chrono::duration<double>(service).count();
  for (double sigma : {0.0, 0.05, 0.1, 0.5, 0.9}) {
    ScalingModel model(service, sigma, 0);
    for (uint32_t n = 1; n <= 32; ++n) {
      double x = n * workers / std::chrono::duration<double>(model.ServiceTimeAt(n)).count();
      EXPECT_NEAR(x, Usl(lambda, sigma, 0, n), 1e-6 * x) << "sigma " << sigma << " n " << n;
    }
  }
}

TEST(ScalingModel, TheLockIsOneFifoSectionForAllInstances) {
  ScalingModel model(100ms, 0, 0, 0.25);
  model.InstanceBusy();
  model.InstanceBusy();
  const ScalingModel::Clock::time_point t0{};
  // Four requests granted at once: 75 ms each on their own worker, then 25 ms each on the lock,
  // one after the other, whichever instance they are on.
  EXPECT_EQ(model.Serve(t0) - t0, 100ms);
  EXPECT_EQ(model.Serve(t0) - t0, 125ms);
  EXPECT_EQ(model.Serve(t0) - t0, 150ms);
  EXPECT_EQ(model.Serve(t0 + 10ms) - t0, 175ms);
  // Once the queue has drained, a request waits for nothing.
  EXPECT_EQ(model.Serve(t0 + 1s) - t0, 1100ms);
}

TEST(ScalingModel, CrosstalkSendsOneUpdatePerOtherActiveInstance) {
  ScalingModel model(100ms, 0, 0.1);
  const ScalingModel::Clock::time_point t0{};
  model.InstanceBusy();
  EXPECT_EQ(model.Serve(t0) - t0, 100ms);  // alone: nobody to tell
  model.InstanceBusy();
  model.InstanceBusy();
  // Three active: two updates of 10 ms on the shared channel after the 100 ms of work.
  EXPECT_EQ(model.Serve(t0) - t0, 120ms);
  // The next one's updates wait for the channel.
  EXPECT_EQ(model.Serve(t0) - t0, 140ms);
  EXPECT_EQ(model.Serve(t0 + 1s) - t0, 1120ms);
}

// Every worker of n instances always busy (a closed loop with a deep queue), in virtual time:
// requests served per second over `seconds`.
double SaturatedThroughput(ScalingModel& model, uint32_t n, uint32_t workers, int seconds) {
  for (uint32_t i = 0; i < n; ++i) model.InstanceBusy();
  using Tp = ScalingModel::Clock::time_point;
  const Tp t0{};
  const Tp end = t0 + std::chrono::seconds(seconds);
  // Workers are granted in time order, as the instances' timers grant them.
  std::vector<Tp> free_at(static_cast<size_t>(n) * workers, t0);
  uint64_t served = 0;
  for (;;) {
    auto next = std::min_element(free_at.begin(), free_at.end());
    const Tp done = model.Serve(*next);
    if (done > end) break;
    *next = done;
    ++served;
  }
  for (uint32_t i = 0; i < n; ++i) model.InstanceIdle();
  return static_cast<double>(served) / seconds;
}

TEST(ScalingModel, SaturatedLockCapsThroughputAtOneOverItsHold) {
  // 2 workers x 10 ms per instance, lock 0.25: min(200 N, 1 / 2.5 ms = 400).
  for (uint32_t n = 1; n <= 6; ++n) {
    ScalingModel model(10ms, 0, 0, 0.25);
    const double x = SaturatedThroughput(model, n, 2, 20);
    EXPECT_NEAR(x, std::min(200.0 * n, 400.0), 0.01 * x) << "n " << n;
  }
}

TEST(ScalingModel, SaturatedCrosstalkRisesThenFalls) {
  // 4 workers x 10 ms per instance, updates of 0.0625 x 10 ms: the channel carries
  // 1 / (0.625 ms x (N - 1)) requests/s: 1600, 800, 533, 400, 320 from N = 2; the workers 400 N.
  std::vector<double> x;
  for (uint32_t n = 1; n <= 6; ++n) {
    ScalingModel model(10ms, 0, 0.0625);
    x.push_back(SaturatedThroughput(model, n, 4, 20));
    const double bound = n == 1 ? 400.0 : std::min(400.0 * n, 1600.0 / (n - 1));
    // At N = 2 the channel is half busy and requests sometimes wait for it.
    EXPECT_LE(x.back(), bound * 1.001) << "n " << n;
    EXPECT_GE(x.back(), bound * (n == 2 ? 0.85 : 0.99)) << "n " << n;
  }
  EXPECT_GT(x[2], x[3]);
  EXPECT_GT(x[3], x[5]);
}

// Holds one request in service on an instance; the client stays connected until destroyed.
std::unique_ptr<Client> Hold(uint16_t port) {
  auto client = std::make_unique<Client>(port);
  EXPECT_TRUE(client->Send(kGet));
  return client;
}

TEST(TargetContention, EachBusyInstanceStretchesTheNextServiceTime) {
  // Service times long enough that nothing finishes during the test; stop() is prompt.
  TargetServer server(Shared(3, 1, 10s, 0.1, 0));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  std::vector<std::unique_ptr<Client>> held;
  // Expected S(A) in us for A = 1, 2, 3: S x (1 + 0.1 (A - 1)).
  const std::vector<double> expected = {10e6, 11e6, 12e6};
  nlohmann::json stats;
  for (size_t i = 0; i < 3; ++i) {
    held.push_back(Hold((*ports)[i]));
    ASSERT_TRUE(PollUntil([&] {
      stats = Stats((*ports)[0]);
      return stats != nullptr && stats["instances"][i]["busy"] == 1;
    })) << stats.dump();
    EXPECT_EQ(stats["active_instances"], i + 1);
    EXPECT_NEAR(stats["instances"][i]["last_service_time_us"].get<double>(), expected[i], 1.0)
        << "instance " << i;
  }
  // A second request on a busy instance does not add an active instance: it queues, and when it
  // starts it will see A = 3 like the others.
  held.push_back(Hold((*ports)[0]));
  ASSERT_TRUE(PollUntil([&] {
    stats = Stats((*ports)[0]);
    return stats != nullptr && stats["instances"][0]["queued"] == 1;
  })) << stats.dump();
  EXPECT_EQ(stats["active_instances"], 3);
  server.stop();
}

TEST(TargetContention, IdleInstancesStopCounting) {
  TargetServer server(Shared(2, 2, 20ms, 0.5, 0));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  {
    Client client((*ports)[0]);
    ASSERT_TRUE(client.Send(kGet));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  nlohmann::json stats;
  ASSERT_TRUE(PollUntil([&] {
    stats = Stats((*ports)[1]);
    return stats != nullptr && stats["active_instances"] == 0;
  })) << stats.dump();
  // Instance 0 is idle again, so instance 1 alone is not slowed down.
  Client client((*ports)[1]);
  ASSERT_TRUE(client.Send(kGet));
  ASSERT_TRUE(client.Read());
  stats = Stats((*ports)[0]);
  ASSERT_NE(stats, nullptr);
  EXPECT_NEAR(stats["instances"][0]["last_service_time_us"].get<double>(), 20e3, 1.0);
  EXPECT_NEAR(stats["instances"][1]["last_service_time_us"].get<double>(), 20e3, 1.0);
  // `served` counts a response once its write completed, which the server may
  // record just after the client has read it: poll.
  EXPECT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{1, 1}; }));
}

TEST(TargetContention, ConcurrentRequestsTakeThePredictedRounds) {
  // 2 instances x 1 worker, S = 100 ms, contention 0.5: with both instances busy a request takes
  // 150 ms. 4 concurrent requests per instance run as 4 rounds on each worker; at most the very
  // first round of one instance can start alone (100 ms), so the last answer comes after at least
  // 100 + 3 x 150 = 550 ms of simulated time. Timers never fire early, so wall time is at least
  // that; without contention it would be 400 ms. Only that lower bound is asserted.
  TargetServer server(Shared(2, 1, 100ms, 0.5, 0));
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  std::vector<std::unique_ptr<Client>> clients;
  auto begin = std::chrono::steady_clock::now();
  for (int r = 0; r < 4; ++r) {
    for (size_t i = 0; i < 2; ++i) clients.push_back(Hold((*ports)[i]));
  }
  for (auto& client : clients) {
    auto response = client->Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(elapsed, 540ms);
  EXPECT_TRUE(PollUntil([&] { return server.served() == std::vector<uint64_t>{4, 4}; }));
  // Every round after the first ran with both instances busy.
  auto stats = Stats((*ports)[0]);
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats["active_instances"], 0);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(stats["instances"][i]["last_service_time_us"].get<double>(), 150e3, 1.0);
  }
}

TEST(TargetContention, StatsReportTheSettings) {
  TargetOptions options = Shared(2, 3, 5ms, 0.25, 0.002);
  options.lock = 0.5;
  TargetServer server(options);
  auto ports = server.start();
  ASSERT_TRUE(ports) << ports.error().message;
  auto stats = Stats((*ports)[1]);
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats["contention"], 0.25);
  EXPECT_EQ(stats["crosstalk"], 0.002);
  EXPECT_EQ(stats["lock"], 0.5);
  EXPECT_EQ(stats["service_time_us"], 5000);
  EXPECT_EQ(stats["active_instances"], 0);
  EXPECT_EQ(stats["instances"][1]["last_service_time_us"], 0);
}

TEST(TargetContention, ValidationNamesTheFlag) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {-0.01, 1.0, 2.0, nan}) {
    TargetOptions o;
    o.contention = bad;
    auto valid = ValidateTargetOptions(o);
    ASSERT_FALSE(valid) << bad;
    EXPECT_NE(valid.error().message.find("--contention"), std::string::npos);
    EXPECT_EQ(run_target(o), 2);
  }
  for (double bad : {-0.001, 1.01, nan}) {
    TargetOptions o;
    o.crosstalk = bad;
    auto valid = ValidateTargetOptions(o);
    ASSERT_FALSE(valid) << bad;
    EXPECT_NE(valid.error().message.find("--crosstalk"), std::string::npos);
    EXPECT_EQ(run_target(o), 2);
  }
  for (double bad : {-0.5, 1.5, nan}) {
    TargetOptions o;
    o.lock = bad;
    auto valid = ValidateTargetOptions(o);
    ASSERT_FALSE(valid) << bad;
    EXPECT_NE(valid.error().message.find("--lock"), std::string::npos);
  }
  TargetOptions o;
  o.contention = 0.999;
  o.crosstalk = 1;
  o.lock = 1;
  EXPECT_TRUE(ValidateTargetOptions(o));
}

TEST(TargetContention, CliRejectsBadFlagsWithExit2) {
  if (std::FILE* f = std::fopen(HORDE_BINARY, "r")) {
    std::fclose(f);
  } else {
    GTEST_SKIP() << "horde binary not built: " << HORDE_BINARY;
  }
  for (const std::string flags :
       {"--contention 1", "--crosstalk 1.5", "--contention -0.2", "--lock 2"}) {
    std::string command =
        std::string(HORDE_BINARY) + " target --listen 127.0.0.1:0 " + flags + " 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[256];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status)) << command;
    EXPECT_EQ(WEXITSTATUS(status), 2) << command << "\n" << output;
    EXPECT_NE(output.find(flags.substr(0, flags.find(' '))), std::string::npos) << output;
  }
}

}  // namespace contention_test
}  // namespace horde
