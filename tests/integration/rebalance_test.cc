// `rebalance: true` with real processes: three agents, one SIGKILLed mid-phase;
// the survivors take over its share, so the merged throughput of the intervals
// after the loss is back near the whole offered load (open loop) or the
// connection count adds up to the total again (closed loop). Without rebalance
// the survivors stay at their own share. Counts, with generous tolerances.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <sstream>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace rebalance_test {

nlohmann::json sorted(nlohmann::json list) {
  std::sort(list.begin(), list.end());
  return list;
}

struct IntervalCount {
  uint32_t interval = 0;
  uint32_t agents = 0;
  uint64_t requests = 0;
};

// intervals.csv: phase,interval,time_s,warmup,agents,requests,...
std::vector<IntervalCount> interval_counts(const std::filesystem::path& csv) {
  std::vector<IntervalCount> out;
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) f.push_back(c);
    if (f.size() < 6) continue;
    out.push_back({static_cast<uint32_t>(std::stoul(f[1])), static_cast<uint32_t>(std::stoul(f[4])),
                   std::stoull(f[5])});
  }
  return out;
}

struct Outcome {
  int code = -1;
  std::string out;
  nlohmann::json summary;
  std::vector<IntervalCount> intervals;
};

// Runs a 7 s phase on three agents (one thread each) and SIGKILLs a1 once
// interval 1 has been merged (about 2 s in).
Outcome run_and_kill(const std::string& name, const std::string& load, bool rebalance,
                     const std::string& service_time) {
  Outcome o;
  const auto dir = temp_dir(name);
  Subprocess target = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "64", "--service-time", service_time});
  const std::string url = wait_for_line(target, "listening on ").value_or("");
  EXPECT_FALSE(url.empty());
  write_file(dir / "w.yaml",
             "target: " + url + "\nload: " + load +
                 "\ntolerate_lost_agents: 1\nrebalance: " + (rebalance ? "true" : "false") + "\n");
  auto [controller, address] = start_controller(
      dir / "w.yaml",
      {"--expect-agents", "3", "--out", (dir / "out").string(), "--insecure-no-token"});
  EXPECT_FALSE(address.empty());
  if (address.empty()) return o;
  std::vector<Subprocess> agents;
  for (const char* n : {"a1", "a2", "a3"}) {
    agents.push_back(start_horde({"agent", "--controller", address, "--once", "--name", n,
                                  "--threads", "1", "--insecure-no-token"}));
  }
  EXPECT_TRUE(wait_for_line(controller, "rps", std::chrono::seconds(20)));
  EXPECT_TRUE(wait_for_line(controller, "rps", std::chrono::seconds(5)));  // interval 1 in
  agents[0].signal(SIGKILL);
  o.out = controller.read_all(in(std::chrono::seconds(40)));
  o.code = controller.wait_until(in(std::chrono::seconds(10))).value_or(-1);
  for (size_t i = 1; i < agents.size(); ++i) {
    EXPECT_EQ(agents[i].wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  }
  if (std::filesystem::exists(dir / "out" / "summary.json")) {
    o.summary = read_json(dir / "out" / "summary.json");
    o.intervals = interval_counts(dir / "out" / "intervals.csv");
  }
  return o;
}

// Intervals merged from the two survivors only (the loss was noticed), after
// one settling interval: the one the loss and the handover happened in.
std::vector<IntervalCount> after_loss(const std::vector<IntervalCount>& all) {
  std::vector<IntervalCount> out;
  bool settled = false;
  for (const auto& row : all) {
    if (row.agents != 2) continue;
    if (!settled) {
      settled = true;
      continue;
    }
    out.push_back(row);
  }
  return out;
}

std::string describe(const std::vector<IntervalCount>& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += "interval " + std::to_string(r.interval) + ": " + std::to_string(r.requests) +
         " requests from " + std::to_string(r.agents) + " agents\n";
  }
  return s;
}

constexpr double kRate = 1500;  // rps over the three agents; 1 s intervals

TEST(Rebalance, OpenLoopSurvivorsTakeTheLostShare) {
  Outcome o = run_and_kill("rebalance-open",
                           "{mode: open, rate: 1500, connections: 6, duration: 7s}", true, "1ms");
  EXPECT_EQ(o.code, 0) << o.out;  // one loss tolerated
  ASSERT_TRUE(o.summary.is_object()) << o.out;
  const auto& rebalances = o.summary["phases"][0]["rebalances"];
  ASSERT_EQ(rebalances.size(), 1u) << o.summary["phases"][0].dump(2);
  EXPECT_EQ(rebalances[0]["lost_agent"], "a1");
  // In join order, which the agents' start races decide.
  EXPECT_EQ(sorted(rebalances[0]["survivors"]), nlohmann::json({"a2", "a3"}));
  EXPECT_DOUBLE_EQ(rebalances[0]["rate_factor"].get<double>(), 1.5);
  const auto rows = after_loss(o.intervals);
  ASSERT_GE(rows.size(), 2u) << describe(o.intervals);
  for (const auto& r : rows) {
    EXPECT_GE(static_cast<double>(r.requests), 0.85 * kRate) << describe(o.intervals);
    EXPECT_LE(static_cast<double>(r.requests), 1.15 * kRate) << describe(o.intervals);
  }
  std::printf("open loop with rebalance:\n%s", describe(o.intervals).c_str());
}

TEST(Rebalance, WithoutItTheSurvivorsStayAtTheirShare) {
  Outcome o = run_and_kill("rebalance-off",
                           "{mode: open, rate: 1500, connections: 6, duration: 7s}", false, "1ms");
  EXPECT_EQ(o.code, 0) << o.out;
  ASSERT_TRUE(o.summary.is_object()) << o.out;
  EXPECT_FALSE(o.summary["phases"][0].contains("rebalances"));
  const auto rows = after_loss(o.intervals);
  ASSERT_GE(rows.size(), 2u) << describe(o.intervals);
  for (const auto& r : rows) {
    EXPECT_GE(static_cast<double>(r.requests), 0.55 * kRate) << describe(o.intervals);
    EXPECT_LE(static_cast<double>(r.requests), 0.75 * kRate) << describe(o.intervals);
  }
  std::printf("open loop without rebalance:\n%s", describe(o.intervals).c_str());
}

TEST(Rebalance, ClosedLoopConnectionsAddUpToTheTotalAgain) {
  // 9 connections at 20 ms each: throughput follows the connection count.
  Outcome o = run_and_kill("rebalance-closed", "{connections: 9, duration: 7s}", true, "20ms");
  EXPECT_EQ(o.code, 0) << o.out;
  ASSERT_TRUE(o.summary.is_object()) << o.out;
  const auto& rebalances = o.summary["phases"][0]["rebalances"];
  ASSERT_EQ(rebalances.size(), 1u) << o.summary["phases"][0].dump(2);
  EXPECT_EQ(sorted(rebalances[0]["connections"]), nlohmann::json({4, 5}));  // 9 in all
  uint64_t before = 0;
  uint32_t before_n = 0;
  for (const auto& r : o.intervals) {
    if (r.agents == 3 && r.interval == 0) {
      before += r.requests;
      ++before_n;
    }
  }
  ASSERT_EQ(before_n, 1u) << describe(o.intervals);
  const auto rows = after_loss(o.intervals);
  ASSERT_GE(rows.size(), 2u) << describe(o.intervals);
  // Closed-loop throughput follows the machine as well as the connection count
  // (this runs under ASan on a busy 2-core box too): judge the mean of the
  // intervals after the loss, the last one (cut by the run's end) left out.
  // Without the handover the survivors' 6 of 9 connections would give about 2/3.
  double after = 0;
  for (size_t i = 0; i + 1 < rows.size(); ++i) after += static_cast<double>(rows[i].requests);
  after /= static_cast<double>(rows.size() - 1);
  EXPECT_GE(after, 0.8 * static_cast<double>(before)) << describe(o.intervals);
  std::printf("closed loop with rebalance:\n%s", describe(o.intervals).c_str());
}

}  // namespace rebalance_test
}  // namespace horde::testing
