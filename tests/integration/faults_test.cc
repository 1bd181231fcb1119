// Faults with real processes: an agent killed mid-phase, a controller killed
// mid-run (agents must stop their traffic by the lease), an agent frozen with
// SIGSTOP (a network cut as the controller sees it). The target's own served
// count is the truth for "traffic stopped".
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace faults_test {

struct Rig {
  Subprocess target;
  std::string url;
  std::filesystem::path dir;
  Subprocess controller;
  std::string address;
};

uint64_t served(const std::string& url) {
  auto body = http_get(port_of_url(url), "/__stats");
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? 0 : j.value("served", uint64_t{0});
}

Rig start(const std::string& name, const std::string& duration, int agents) {
  Rig s;
  s.dir = temp_dir(name);
  s.target = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "64", "--service-time", "1ms"});
  s.url = wait_for_line(s.target, "listening on ").value_or("");
  write_file(s.dir / "w.yaml",
             "target: " + s.url + "\nload: {connections: 4, duration: " + duration + "}\n");
  auto controller =
      start_controller(s.dir / "w.yaml", {"--expect-agents", std::to_string(agents), "--out",
                                          (s.dir / "out").string(), "--insecure-no-token"});
  s.controller = std::move(controller.process);
  s.address = controller.address;
  return s;
}

// Polls until the target's served count stops moving for `quiet`; returns when it did.
std::optional<Clock::duration> wait_until_traffic_stops(const std::string& url,
                                                        std::chrono::milliseconds quiet,
                                                        std::chrono::seconds limit) {
  const auto begin = Clock::now();
  uint64_t last = served(url);
  auto last_change = Clock::now();
  while (Clock::now() - begin < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const uint64_t now = served(url);
    if (now != last) {
      last = now;
      last_change = Clock::now();
    } else if (Clock::now() - last_change >= quiet) {
      return last_change - begin;
    }
  }
  return std::nullopt;
}

TEST(Faults, AgentKilledMidPhaseIsMarkedLostAndTheRunFinishes) {
  Rig s = start("agentkill", "4s", 2);
  ASSERT_FALSE(s.address.empty());
  Subprocess a1 = start_horde({"agent", "--controller", s.address, "--once", "--name", "a1",
                               "--threads", "1", "--insecure-no-token"});
  Subprocess a2 = start_horde({"agent", "--controller", s.address, "--once", "--name", "a2",
                               "--threads", "1", "--insecure-no-token"});
  ASSERT_TRUE(wait_for_line(s.controller, "rps", std::chrono::seconds(20)));
  ASSERT_TRUE(wait_for_line(s.controller, "rps", std::chrono::seconds(5)));  // interval 1 in
  a1.signal(SIGKILL);
  const auto killed_at = Clock::now();
  const std::string out = s.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_NE(out.find("agents 1/2"), std::string::npos) << out;  // the live line shows the loss
  auto code = s.controller.wait_until(in(std::chrono::seconds(10)));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 3);  // tolerate_lost_agents defaults to 0
  EXPECT_EQ(a2.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  (void)killed_at;

  const auto summary = read_json(s.dir / "out" / "summary.json");
  ASSERT_EQ(summary["agents"].size(), 2u);
  const auto& lost =
      summary["agents"][0]["name"] == "a1" ? summary["agents"][0] : summary["agents"][1];
  const auto& kept =
      summary["agents"][0]["name"] == "a1" ? summary["agents"][1] : summary["agents"][0];
  EXPECT_TRUE(lost["lost"].get<bool>());
  EXPECT_GE(lost["last_interval"].get<int64_t>(), 0);
  EXPECT_GT(lost["requests"].get<uint64_t>(), 0u);  // what it reported is kept
  EXPECT_FALSE(kept["lost"].get<bool>());
  EXPECT_EQ(lost["requests"].get<uint64_t>() + kept["requests"].get<uint64_t>(),
            summary["totals"]["requests"].get<uint64_t>());
  EXPECT_TRUE(std::filesystem::exists(s.dir / "out" / "intervals.jsonl"));
}

TEST(Faults, AgentsStopTrafficWhenTheControllerDies) {
  Rig s = start("ctlkill", "60s", 1);
  ASSERT_FALSE(s.address.empty());
  Subprocess agent = start_horde({"agent", "--controller", s.address, "--name", "a1", "--threads",
                                  "1", "--insecure-no-token"});
  ASSERT_TRUE(wait_for_line(s.controller, "rps", std::chrono::seconds(20)));
  const uint64_t before = served(s.url);
  s.controller.signal(SIGKILL);
  s.controller.wait_until(in(std::chrono::seconds(5)));
  // Traffic must stop within the lease (5 s); the target's count stops moving.
  auto stopped_after =
      wait_until_traffic_stops(s.url, std::chrono::milliseconds(1500), std::chrono::seconds(15));
  ASSERT_TRUE(stopped_after) << "traffic still flowing 15 s after the controller died";
  EXPECT_LE(*stopped_after, std::chrono::milliseconds(6000));
  EXPECT_GT(served(s.url), before);
  // The agent itself keeps running (it waits for the next controller).
  EXPECT_TRUE(agent.running());
  // The results up to the controller's last second are on disk.
  std::string run_id;
  auto intervals = read_file(s.dir / "out" / "intervals.jsonl");
  EXPECT_FALSE(intervals.empty());
  agent.signal(SIGTERM);
  EXPECT_TRUE(agent.wait_until(in(std::chrono::seconds(10))));
}

TEST(Faults, FrozenAgentIsDroppedAndStopsByItsLeaseWhenItWakes) {
  Rig s = start("sigstop", "8s", 2);
  ASSERT_FALSE(s.address.empty());
  Subprocess a1 = start_horde({"agent", "--controller", s.address, "--once", "--name", "a1",
                               "--threads", "1", "--insecure-no-token"});
  Subprocess a2 = start_horde({"agent", "--controller", s.address, "--once", "--name", "a2",
                               "--threads", "1", "--insecure-no-token"});
  ASSERT_TRUE(wait_for_line(s.controller, "rps", std::chrono::seconds(20)));
  a1.signal(SIGSTOP);
  // The controller notices within 2 intervals and says so on the live line.
  ASSERT_TRUE(wait_for_line(s.controller, "agents 1/2", std::chrono::seconds(6)));
  std::this_thread::sleep_for(std::chrono::seconds(6));  // longer than the 5 s lease
  a1.signal(SIGCONT);
  // Woken after its lease: it stops its traffic instead of running unattended, and exits (--once).
  auto code = a1.wait_until(in(std::chrono::seconds(15)));
  EXPECT_TRUE(code);
  s.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(s.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  const auto summary = read_json(s.dir / "out" / "summary.json");
  bool a1_lost = false;
  for (const auto& a : summary["agents"]) {
    if (a["name"] == "a1") a1_lost = a["lost"].get<bool>();
  }
  EXPECT_TRUE(a1_lost);
  a2.wait_until(in(std::chrono::seconds(10)));
}

}  // namespace faults_test
}  // namespace horde::testing

namespace horde::testing {
namespace faults_test {

// An agent reusing a joined agent's name is refused (exit 2, never merged); an
// agent that joins after the phase started is welcomed but given no work: the
// target serves no more than the two rostered agents counted.
TEST(Joins, DuplicateNameIsRefusedAndLateJoinerSendsNothing) {
  Rig s = start("joins", "3s", 2);
  ASSERT_FALSE(s.address.empty());
  auto agent = [&](const std::string& name) {
    return start_horde({"agent", "--controller", s.address, "--once", "--name", name, "--threads",
                        "1", "--insecure-no-token"});
  };
  Subprocess first = agent("a");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Subprocess second = agent("a");
  // Whichever of the two came second is refused (exit 2) and never joins the run.
  const auto deadline = in(std::chrono::seconds(15));
  std::optional<int> refused;
  while (!refused && Clock::now() < deadline) {
    for (Subprocess* p : {&first, &second}) {
      if (auto c = p->wait_until(in(std::chrono::milliseconds(100)))) refused = *c;
    }
  }
  ASSERT_TRUE(refused) << "neither agent named a was refused";
  EXPECT_EQ(*refused, 2);
  Subprocess b = agent("b");
  ASSERT_TRUE(wait_for_line(s.controller, "rps", std::chrono::seconds(20)));  // phase running
  Subprocess late = agent("late");
  auto code = s.controller.wait_until(in(std::chrono::seconds(30)));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(late.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  const auto summary = read_json(s.dir / "out" / "summary.json");
  ASSERT_EQ(summary["agents"].size(), 2u);
  std::set<std::string> names;
  for (const auto& ag : summary["agents"]) names.insert(ag["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"a", "b"}));
  const uint64_t requests = summary["totals"]["requests"];
  const uint64_t total_served = served(s.url);
  EXPECT_GT(requests, 0u);
  EXPECT_GE(total_served, requests);
  EXPECT_LE(total_served, requests + 4);  // 4 connections in flight at the end, nothing from late
}

}  // namespace faults_test
}  // namespace horde::testing
