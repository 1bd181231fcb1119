// End to end on loopback with real processes: the built-in target, a controller
// and agents as separate processes speaking gRPC, and the quick start.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace end_to_end_test {

struct Target {
  Subprocess process;
  std::vector<std::string> urls;
};

Target start_target(uint32_t instances, uint32_t workers, const std::string& service_time) {
  Target t;
  t.process =
      start_horde({"target", "--listen", "127.0.0.1:0", "--instances", std::to_string(instances),
                   "--workers", std::to_string(workers), "--service-time", service_time});
  for (uint32_t i = 0; i < instances; ++i) {
    auto url = wait_for_line(t.process, "listening on ");
    if (!url) throw std::runtime_error("target did not start");
    t.urls.push_back(*url);
  }
  return t;
}

uint64_t served(const Target& t) {
  auto stats = nlohmann::json::parse(http_get(port_of_url(t.urls[0]), "/__stats"));
  return stats.at("served").get<uint64_t>();
}

TEST(EndToEnd, ControllerAndTwoAgentProcessesCountWhatTheTargetServed) {
  Target target = start_target(1, 64, "1ms");
  const auto dir = temp_dir("distributed");
  write_file(dir / "w.yaml",
             "target: " + target.urls[0] + "\nload:\n  connections: 8\n  duration: 2s\n");
  write_file(dir / "token", "s3cret-token\n");
  auto [controller, address] = start_controller(
      dir / "w.yaml", {"--expect-agents", "2", "--out", (dir / "out").string(), "--join-timeout",
                       "20s", "--token-file", (dir / "token").string()});
  ASSERT_FALSE(address.empty());
  const std::string token = (dir / "token").string();
  Subprocess a1 = start_horde({"agent", "--controller", address, "--once", "--name", "a1",
                               "--threads", "1", "--token-file", token});
  Subprocess a2 = start_horde({"agent", "--controller", address, "--once", "--name", "a2",
                               "--threads", "1", "--token-file", token});

  const std::string out = controller.read_all(in(std::chrono::seconds(40)));
  auto code = controller.wait_until(in(std::chrono::seconds(5)));
  ASSERT_TRUE(code) << out;
  EXPECT_EQ(*code, 0) << out;
  EXPECT_EQ(a1.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  EXPECT_EQ(a2.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);

  const auto summary = read_json(dir / "out" / "summary.json");
  const uint64_t requests = summary["totals"]["requests"];
  const uint64_t target_served = served(target);
  EXPECT_GT(requests, 100u);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  // Only requests in flight at the stop (at most one per connection) may differ.
  EXPECT_LE(requests, target_served);
  EXPECT_GE(requests + 8, target_served);

  ASSERT_EQ(summary["agents"].size(), 2u);
  uint64_t per_agent = 0;
  for (const auto& a : summary["agents"]) {
    per_agent += a["requests"].get<uint64_t>();
    EXPECT_FALSE(a["lost"].get<bool>());
    EXPECT_GT(a["requests"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(per_agent, requests);
  EXPECT_EQ(summary["totals"]["status_codes"]["200"], requests);
  EXPECT_TRUE(summary["totals"]["offered_rps"].is_null());

  // intervals.csv: one row per interval (2 s at 1 s), requests adding up to the total.
  const std::string csv = read_file(dir / "out" / "intervals.csv");
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line.rfind("phase,interval,time_s", 0), 0u);
  uint64_t rows = 0, csv_requests = 0;
  while (std::getline(lines, line)) {
    ++rows;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    ASSERT_EQ(cells.size(), 11u) << line;
    csv_requests += std::stoull(cells[5]);
  }
  EXPECT_EQ(rows, 2u);
  EXPECT_EQ(csv_requests, requests);
}

TEST(EndToEnd, QuickStartWritesSummaryAndIntervals) {
  const auto dir = temp_dir("quickstart");
  auto f = run_horde({"run", std::string(HORDE_SOURCE_DIR) + "/examples/quickstart.yaml",
                      "--local-agents", "2", "-d", "2s", "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_NE(f.out.find("rps"), std::string::npos);     // the live line
  EXPECT_NE(f.out.find("p99 ms"), std::string::npos);  // the end table
  const auto summary = read_json(dir / "out" / "summary.json");
  for (const char* key : {"run_id", "workload", "phases", "totals", "agents"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  for (const char* key : {"requests", "errors", "error_rate", "duration_s", "throughput_rps",
                          "offered_rps", "latency_ms", "status_codes", "errors_by_class"}) {
    EXPECT_TRUE(summary["totals"].contains(key)) << key;
    EXPECT_TRUE(summary["phases"][0].contains(key)) << key;
  }
  for (const char* key : {"mean", "p50", "p90", "p99", "p999", "max"}) {
    EXPECT_TRUE(summary["totals"]["latency_ms"].contains(key)) << key;
  }
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
  EXPECT_EQ(summary["agents"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "intervals.csv"));
}

TEST(EndToEnd, AdHocOpenLoopRunMeetsItsRate) {
  Target target = start_target(1, 64, "0ms");
  const auto dir = temp_dir("adhoc");
  auto f = run_horde({"run", "--target", target.urls[0], "-c", "8", "--rate", "200", "-d", "2s",
                      "--local-agents", "2", "--threads", "1", "--out", (dir / "out").string(),
                      "--no-live"});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_DOUBLE_EQ(summary["totals"]["offered_rps"].get<double>(), 200.0);
  const uint64_t requests = summary["totals"]["requests"];
  EXPECT_NEAR(static_cast<double>(requests), 400.0, 8.0);
  EXPECT_EQ(summary["workload"]["load"]["mode"], "open");
}

TEST(EndToEnd, FailedThresholdExitsOne) {
  Target target = start_target(1, 16, "2ms");
  const auto dir = temp_dir("threshold");
  write_file(dir / "w.yaml", "target: " + target.urls[0] +
                                 "\nload: {connections: 4, duration: 1s}\n"
                                 "thresholds: ['p50 < 1ms', 'error_rate < 1%']\n");
  auto f = run_horde(
      {"run", (dir / "w.yaml").string(), "--local-agents", "1", "--out", (dir / "out").string()});
  EXPECT_EQ(f.code, 1) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["thresholds"].size(), 2u);
  EXPECT_FALSE(summary["thresholds"][0]["passed"].get<bool>());  // service time is 2 ms
  EXPECT_GE(summary["thresholds"][0]["observed"].get<double>(), 2.0);
  EXPECT_TRUE(summary["thresholds"][1]["passed"].get<bool>());
}

TEST(EndToEnd, ControllerGivesUpWhenAgentsDoNotJoin) {
  const auto dir = temp_dir("nojoin");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:9/\n");
  auto f = run_horde({"controller", (dir / "w.yaml").string(), "--listen", "127.0.0.1:0",
                      "--expect-agents", "2", "--join-timeout", "1s", "--out",
                      (dir / "out").string(), "--insecure-no-token"});
  EXPECT_EQ(f.code, 3);
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_NE(summary["abort_reason"].get<std::string>().find("only 0 of 2"), std::string::npos);
}

TEST(EndToEnd, AgentWithWrongTokenNeverGetsWork) {
  const auto dir = temp_dir("token");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:9/\n");
  write_file(dir / "right", "right-token\n");
  write_file(dir / "wrong", "wrong-token\n");
  auto [controller, address] = start_controller(
      dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "3s", "--out",
                       (dir / "out").string(), "--token-file", (dir / "right").string()});
  ASSERT_FALSE(address.empty());
  auto agent = run_horde(
      {"agent", "--controller", address, "--once", "--token-file", (dir / "wrong").string()},
      std::chrono::seconds(20));
  EXPECT_EQ(agent.code, 2);
  controller.read_all(in(std::chrono::seconds(20)));
  EXPECT_EQ(controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["agents"].empty());
}

TEST(EndToEnd, DistributedModeRequiresAToken) {
  const auto dir = temp_dir("notoken");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:9/\n");
  ::unsetenv("HORDE_TOKEN");
  auto f = run_horde({"controller", (dir / "w.yaml").string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(f.code, 2);
  auto a = run_horde({"agent", "--controller", "127.0.0.1:9", "--once"});
  EXPECT_EQ(a.code, 2);
}

TEST(EndToEnd, BadInputExitsTwoNamingTheField) {
  const auto dir = temp_dir("badinput");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:8080/\nload:\n  rate: -5\n");
  auto f = run_horde({"validate", (dir / "w.yaml").string()});
  EXPECT_EQ(f.code, 2);
  auto missing = run_horde({"validate", (dir / "nope.yaml").string()});
  EXPECT_EQ(missing.code, 2);
  auto bad_flag = run_horde({"run", "--target", "ftp://x/", "-d", "1s"});
  EXPECT_EQ(bad_flag.code, 2);
  auto bad_duration = run_horde({"run", "--target", "http://127.0.0.1:9/", "-d", "10"});
  EXPECT_EQ(bad_duration.code, 2);
  auto ok = run_horde({"validate", std::string(HORDE_SOURCE_DIR) + "/examples/quickstart.yaml"});
  EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST(EndToEnd, SigintEndsTheRunWithWhatWasMeasured) {
  Target target = start_target(1, 16, "1ms");
  const auto dir = temp_dir("sigint");
  Subprocess run = start_horde({"run", "--target", target.urls[0], "-c", "4", "-d", "60s",
                                "--local-agents", "1", "--out", (dir / "out").string()});
  ASSERT_TRUE(wait_for_line(run, "rps"));  // a first interval was merged
  run.signal(SIGINT);
  run.read_all(in(std::chrono::seconds(20)));
  auto code = run.wait_until(in(std::chrono::seconds(20)));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 3);
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
}

}  // namespace end_to_end_test
}  // namespace horde::testing
