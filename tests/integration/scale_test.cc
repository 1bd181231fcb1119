// The control plane at scale, with real processes on loopback: many agent
// processes merged exactly, and the Prometheus endpoint scraped during a real
// run and checked against the run's summary.json.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace scale_test {

// Prometheus text -> {"name{labels}": value}.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(Scale, MetricsEndpointDuringARunAgreesWithTheSummary) {
  const auto dir = temp_dir("metrics");
  const uint16_t port = free_port();
  Subprocess run = start_horde({"run", std::string(HORDE_SOURCE_DIR) + "/examples/quickstart.yaml",
                                "--local-agents", "2", "--threads", "1", "-d", "4s", "--out",
                                (dir / "out").string(), "--metrics-listen",
                                "127.0.0.1:" + std::to_string(port)});
  // Scrape until the run ends; keep the last scrape that had measured requests.
  std::map<std::string, double> last;
  bool saw_two_connected = false;
  int scrapes_with_requests = 0;
  const auto deadline = in(std::chrono::seconds(60));
  while (Clock::now() < deadline && run.running()) {
    const std::string text = http_get(port, "/metrics");
    if (!text.empty()) {
      auto m = parse_metrics(text);
      saw_two_connected = saw_two_connected || m["horde_agents{state=\"connected\"}"] == 2;
      if (m["horde_requests_total"] > 0) {
        EXPECT_GE(m["horde_requests_total"], last["horde_requests_total"]);  // a counter
        last = std::move(m);
        ++scrapes_with_requests;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::string out = run.read_all(in(std::chrono::seconds(10)));
  auto code = run.wait_until(in(std::chrono::seconds(10)));
  ASSERT_TRUE(code) << out;
  ASSERT_EQ(*code, 0) << out;
  ASSERT_GT(scrapes_with_requests, 0) << out;
  EXPECT_TRUE(saw_two_connected);

  const auto summary = read_json(dir / "out" / "summary.json");
  const auto total = summary["totals"]["requests"].get<uint64_t>();
  EXPECT_LE(last["horde_requests_total"], static_cast<double>(total));
  EXPECT_GT(last["horde_throughput_rps"], 0);
  EXPECT_GT(last["horde_latency_ms{quantile=\"0.99\",window=\"phase\"}"], 0);
  EXPECT_GE(last["horde_latency_ms{quantile=\"0.99\",window=\"phase\"}"],
            last["horde_latency_ms{quantile=\"0.5\",window=\"phase\"}"]);
  EXPECT_EQ(last["horde_errors_total{class=\"connect\"}"], 0);
  EXPECT_EQ(last["horde_phase_index"], 0);
  std::set<std::string> scraped, summarized;
  for (const auto& [key, value] : last) {
    const std::string prefix = "horde_agent_throughput_rps{agent=\"";
    if (key.rfind(prefix, 0) == 0)
      scraped.insert(key.substr(prefix.size(), key.size() - prefix.size() - 2));
  }
  for (const auto& a : summary["agents"]) summarized.insert(a["name"].get<std::string>());
  EXPECT_EQ(scraped, summarized);
  EXPECT_EQ(summarized.size(), 2u);

  // stdout is a pipe: plain progress lines, no control characters.
  EXPECT_NE(out.find("phase 1/1 \"run\""), std::string::npos) << out;
  for (char c : out) ASSERT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
}

TEST(Scale, ThirtyTwoAgentProcessesMergeExactly) {
  constexpr int kAgents = 32;
  constexpr int kConnections = 64;
  Subprocess target = start_horde({"target", "--listen", "127.0.0.1:0", "--instances", "1",
                                   "--workers", "128", "--service-time", "1ms"});
  auto url = wait_for_line(target, "listening on ");
  ASSERT_TRUE(url);
  const auto dir = temp_dir("scale32");
  write_file(dir / "w.yaml", "target: " + *url + "\nload:\n  connections: " +
                                 std::to_string(kConnections) + "\n  duration: 2s\n");
  auto [controller, address] = start_controller(
      dir / "w.yaml", {"--expect-agents", std::to_string(kAgents), "--out", (dir / "out").string(),
                       "--join-timeout", "60s", "--insecure-no-token", "--no-progress"});
  ASSERT_FALSE(address.empty());
  std::vector<Subprocess> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(
        start_horde({"agent", "--controller", address, "--once", "--name", "a" + std::to_string(i),
                     "--threads", "1", "--insecure-no-token"}));
  }
  const std::string out = controller.read_all(in(std::chrono::seconds(120)));
  auto code = controller.wait_until(in(std::chrono::seconds(5)));
  if (!code) controller.signal(SIGKILL);
  for (auto& a : agents) {
    // --once: each exits after the run; a straggler is killed and reaped.
    auto agent_code = a.wait_until(in(std::chrono::seconds(15)));
    if (!agent_code) {
      a.signal(SIGKILL);
      a.wait_until(in(std::chrono::seconds(5)));
    }
    EXPECT_EQ(agent_code.value_or(-1), 0);
  }
  ASSERT_TRUE(code) << out;
  ASSERT_EQ(*code, 0) << out;

  const auto summary = read_json(dir / "out" / "summary.json");
  const uint64_t requests = summary["totals"]["requests"];
  ASSERT_EQ(summary["agents"].size(), static_cast<size_t>(kAgents));
  uint64_t per_agent = 0;
  for (const auto& a : summary["agents"]) {
    per_agent += a["requests"].get<uint64_t>();
    EXPECT_FALSE(a["lost"].get<bool>()) << a.dump();
    EXPECT_GT(a["requests"].get<uint64_t>(), 0u) << a.dump();
  }
  EXPECT_EQ(per_agent, requests);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  EXPECT_EQ(summary["phases"][0]["discarded_reports"], 0);
  const auto stats = nlohmann::json::parse(http_get(port_of_url(*url), "/__stats"));
  const uint64_t served = stats.at("served").get<uint64_t>();
  EXPECT_GT(requests, 1000u);
  // Only requests in flight at the stop (at most one per connection) may differ.
  EXPECT_LE(requests, served);
  EXPECT_LE(served, requests + kConnections);
  target.signal(SIGTERM);
  target.wait_until(in(std::chrono::seconds(5)));
}

}  // namespace scale_test
}  // namespace horde::testing
