// The controller's memory and its answer to SIGTERM in a long phase (issue 14,
// item 2), with real processes: a phase of 24 h at 100 ms intervals (864,000
// intervals) that every agent refuses used to close all of them at once, each
// with a dense ~188 KB histogram (9.6 GB in 16 s, deaf to SIGTERM); and a
// SIGTERM in such a phase used to close the rest of it the same way. The
// controller's peak RSS is watched from /proc and bounded here. A stop during
// a sweep's scale command is answered as quickly.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace runaway_test {

// Peak resident set (VmHWM) of a live process in MiB; 0 when it is gone.
double peak_rss_mib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

constexpr double kRssLimitMib = 600;  // the controller needs well under 100

struct Watched {
  std::optional<int> code;
  double peak_mib = 0;
  double seconds = 0;  // from the start of the watch to the exit
};

// Polls the process until it exits or the deadline passes; kills it once its
// peak RSS passes kRssLimitMib (so a regression cannot eat the machine).
Watched watch(Subprocess& p, std::chrono::seconds timeout) {
  Watched w;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  while (Clock::now() < deadline) {
    w.peak_mib = std::max(w.peak_mib, peak_rss_mib(p.pid()));
    if (w.peak_mib > kRssLimitMib) {
      p.signal(SIGKILL);
      break;
    }
    if (auto code = p.wait_until(in(std::chrono::milliseconds(20)))) {
      w.code = code;
      break;
    }
  }
  w.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return w;
}

std::string long_phase_yaml(const std::string& url, double rate) {
  return "target: " + url + "\nload: {rate: " + std::to_string(rate) +
         ", duration: 24h, interval: 100ms}\n";
}

TEST(Runaway, PhaseEveryAgentRefusesEndsAtOnceWithBoundedMemory) {
  const auto dir = temp_dir("runaway-refused");
  write_file(dir / "token", "runaway-test-token");
  write_file(dir / "w.yaml", long_phase_yaml("http://127.0.0.1:9/x", 1000));
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());
  // --max-rate 10 against 1000 requests/s: the agent refuses the assignment.
  Subprocess agent = start_horde({"agent", "--controller", address, "--once", "--name", "refuser",
                                  "--max-rate", "10", "--token-file", (dir / "token").string()});
  const Watched w = watch(controller, std::chrono::seconds(60));
  std::printf("refused 24 h phase: controller ended in %.2f s, peak RSS %.1f MiB\n", w.seconds,
              w.peak_mib);
  ASSERT_LE(w.peak_mib, kRssLimitMib) << "the controller's memory ran away (killed)";
  ASSERT_TRUE(w.code) << "the controller was still running after 60 s";
  EXPECT_EQ(*w.code, 3);  // the agent was lost
  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["agents"].size(), 1u);
  EXPECT_TRUE(summary["agents"][0]["lost"].get<bool>());
  EXPECT_NE(summary["agents"][0]["lost_reason"].get<std::string>().find("refused"),
            std::string::npos);
  // Nothing invented: no interval rows for a phase nobody ran.
  EXPECT_EQ(read_file(dir / "out" / "intervals.jsonl"), "");
  agent.wait_until(in(std::chrono::seconds(10)));
}

TEST(Runaway, SigtermEndsALongPhaseWithinSecondsAndWritesTheResults) {
  const auto dir = temp_dir("runaway-sigterm");
  Subprocess target =
      start_horde({"target", "--listen", "127.0.0.1:0", "--workers", "4", "--service-time", "1ms"});
  const std::string url = wait_for_line(target, "listening on ").value_or("");
  ASSERT_FALSE(url.empty());
  write_file(dir / "token", "runaway-test-token");
  write_file(dir / "w.yaml", long_phase_yaml(url, 50));
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());
  Subprocess agent = start_horde({"agent", "--controller", address, "--once", "--name", "a1",
                                  "--threads", "1", "--token-file", (dir / "token").string()});
  // Wait until intervals are being merged (a few lines in intervals.jsonl).
  const auto log = dir / "out" / "intervals.jsonl";
  const auto deadline = in(std::chrono::seconds(30));
  while (Clock::now() < deadline) {
    const std::string text = std::filesystem::exists(log) ? read_file(log) : "";
    if (std::count(text.begin(), text.end(), '\n') >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  controller.signal(SIGTERM);
  const Watched w = watch(controller, std::chrono::seconds(60));
  std::printf("SIGTERM in a 24 h phase: controller ended in %.2f s, peak RSS %.1f MiB\n", w.seconds,
              w.peak_mib);
  ASSERT_LE(w.peak_mib, kRssLimitMib) << "the controller's memory ran away (killed)";
  ASSERT_TRUE(w.code) << "the controller was still running 60 s after SIGTERM";
  EXPECT_EQ(*w.code, 3);
  // Within a second when the machine is idle; a loaded test box gets slack.
  EXPECT_LT(w.seconds, 3.0);
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
  // Only the intervals that ran are in the results: no rows up to the planned 24 h.
  const std::string csv = read_file(dir / "out" / "intervals.csv");
  EXPECT_LT(std::count(csv.begin(), csv.end(), '\n'), 1000) << csv.substr(0, 2000);
  EXPECT_LT(summary["totals"]["duration_s"].get<double>(), 600.0);
  agent.wait_until(in(std::chrono::seconds(10)));
}

// SIGTERM while an instances sweep waits for its scale command (up to 10 min)
// used to wait for the command; now the command is killed and the run ends.
TEST(Runaway, SigtermDuringAScaleCommandEndsTheRunWithinSeconds) {
  const auto dir = temp_dir("runaway-scale");
  write_file(dir / "token", "runaway-test-token");
  const auto marker = dir / "scaling";
  write_file(dir / "w.yaml",
             "targets: [http://127.0.0.1:9/a, http://127.0.0.1:9/b]\n"
             "load: {rate: 10, duration: 2s}\n"
             "sweep:\n"
             "  instances: [1, 2]\n"
             "  scale_command: touch " +
                 marker.string() + "; echo {instances}; exec sleep 600\n");
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());
  Subprocess agent = start_horde({"agent", "--controller", address, "--once", "--name", "a1",
                                  "--threads", "1", "--token-file", (dir / "token").string()});
  const auto deadline = in(std::chrono::seconds(30));
  while (Clock::now() < deadline && !std::filesystem::exists(marker)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(marker)) << "the scale command never started";
  controller.signal(SIGTERM);
  const Watched w = watch(controller, std::chrono::seconds(30));
  std::printf("SIGTERM during a scale command: controller ended in %.2f s\n", w.seconds);
  ASSERT_TRUE(w.code)
      << "the controller was still waiting for its scale command 30 s after SIGTERM";
  EXPECT_EQ(*w.code, 3);
  EXPECT_LT(w.seconds, 3.0);
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_NE(summary["abort_reason"].get<std::string>().find("SIGTERM"), std::string::npos);
  agent.wait_until(in(std::chrono::seconds(10)));
}

}  // namespace runaway_test
}  // namespace horde::testing
