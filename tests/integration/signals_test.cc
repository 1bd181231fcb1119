// Signals against `horde run` with real processes (issue #14 item 10): a second
// SIGTERM, or a terminal's group SIGINT under `timeout` (one from the terminal,
// one forwarded by timeout), used to end the run with no summary.json and no
// report.html; the built-in target was orphaned by a second signal or by
// SIGKILL of `horde run`; after an interrupt the live line kept printing
// `0 rps` up to the planned end and intervals.csv got rows of zeros.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <sstream>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace signals_test {

// Parent pid and state of a process from /proc (state 'Z' or no entry: dead).
bool proc_stat(pid_t pid, pid_t* ppid, char* state) {
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 1));
  rest >> *state >> *ppid;
  return static_cast<bool>(rest);
}

bool alive(pid_t pid) {
  pid_t ppid = 0;
  char state = 'Z';
  return proc_stat(pid, &ppid, &state) && state != 'Z' && state != 'X';
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t ppid = 0;
    char state = 0;
    const pid_t pid = std::stoi(name);
    if (proc_stat(pid, &ppid, &state) && ppid == parent && state != 'Z') out.push_back(pid);
  }
  return out;
}

// Polls until every pid is dead or the deadline passes; returns those still alive.
std::vector<pid_t> survivors(const std::vector<pid_t>& pids, std::chrono::seconds timeout) {
  const auto deadline = in(timeout);
  std::vector<pid_t> left = pids;
  while (Clock::now() < deadline) {
    std::erase_if(left, [](pid_t p) { return !alive(p); });
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return left;
}

// A built-in target (so `horde run` has a target child) and one local agent.
std::filesystem::path workload(const std::filesystem::path& dir) {
  write_file(dir / "w.yaml",
             "builtin_target: {instances: 1, workers: 8, service_time: 1ms}\n"
             "requests: [{path: /}]\n"
             "load: {connections: 2, duration: 60s}\n");
  return dir / "w.yaml";
}

std::vector<std::string> run_args(const std::filesystem::path& dir) {
  return {"run",   workload(dir).string(), "--local-agents", "1", "--threads", "1", "--no-progress",
          "--out", (dir / "out").string()};
}

// Waits for the first merged interval, then returns the run's children (target, agent).
std::vector<pid_t> wait_running(Subprocess& run, pid_t parent) {
  EXPECT_TRUE(wait_for_line(run, " rps ", std::chrono::seconds(30)));
  std::vector<pid_t> kids;
  const auto deadline = in(std::chrono::seconds(10));
  while (kids.size() < 2 && Clock::now() < deadline) {
    kids = children_of(parent);
    if (kids.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(kids.size(), 2u);  // the built-in target and the local agent
  return kids;
}

void expect_results_written(const std::filesystem::path& out) {
  const auto summary = nlohmann::json::parse(read_file(out / "summary.json"), nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << "no readable summary.json in " << out;
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
  EXPECT_NE(read_file(out / "report.html").find("</html>"), std::string::npos);
}

TEST(Signals, SecondSigtermStillWritesTheResultsAndLeavesNoChild) {
  const auto dir = temp_dir("signals-twice");
  Subprocess run = start_horde(run_args(dir));
  const auto kids = wait_running(run, run.pid());
  run.signal(SIGTERM);
  // Not at the same instant (two pending SIGTERMs merge into one), well before
  // the results of the first are written.
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  run.signal(SIGTERM);
  run.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(run.wait_until(in(std::chrono::seconds(30))).value_or(-1), 3);
  expect_results_written(dir / "out");
  EXPECT_TRUE(survivors(kids, std::chrono::seconds(10)).empty());
}

TEST(Signals, GroupSigintUnderTimeoutStillWritesTheResults) {
  const auto dir = temp_dir("signals-timeout");
  std::vector<std::string> argv = {"/usr/bin/timeout", "120", HORDE_BINARY};
  const auto args = run_args(dir);
  argv.insert(argv.end(), args.begin(), args.end());
  auto started = Subprocess::spawn(argv, true);
  ASSERT_TRUE(started) << started.error().message;
  Subprocess timeout = std::move(*started);
  std::vector<pid_t> horde = {};
  const auto deadline = in(std::chrono::seconds(10));
  while (horde.empty() && Clock::now() < deadline) horde = children_of(timeout.pid());
  ASSERT_EQ(horde.size(), 1u);
  const auto kids = wait_running(timeout, horde[0]);
  // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group
  // (timeout leads it); timeout forwards its own to horde, which gets two.
  ASSERT_EQ(::kill(-timeout.pid(), SIGINT), 0);
  timeout.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(timeout.wait_until(in(std::chrono::seconds(30))).value_or(-1), 3);
  expect_results_written(dir / "out");
  EXPECT_TRUE(survivors(kids, std::chrono::seconds(10)).empty());
}

TEST(Signals, SigkillOfRunTakesItsChildrenWithIt) {
  const auto dir = temp_dir("signals-kill");
  Subprocess run = start_horde(run_args(dir));
  const auto kids = wait_running(run, run.pid());
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait_until(in(std::chrono::seconds(10))).value_or(-1), 128 + SIGKILL);
  EXPECT_TRUE(survivors(kids, std::chrono::seconds(10)).empty());
}

TEST(Signals, AfterAnInterruptNoIntervalIsInvented) {
  const auto dir = temp_dir("signals-invent");
  const auto started = Clock::now();
  Subprocess run = start_horde(run_args(dir));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(wait_for_line(run, " rps ", std::chrono::seconds(30)));
  const double at_signal_s = std::chrono::duration<double>(Clock::now() - started).count();
  run.signal(SIGINT);
  const std::string after = run.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(run.wait_until(in(std::chrono::seconds(30))).value_or(-1), 3);
  EXPECT_EQ(after.find(" 0 rps "), std::string::npos) << after;
  expect_results_written(dir / "out");

  std::istringstream csv(read_file(dir / "out" / "intervals.csv"));
  std::string line;
  std::getline(csv, line);  // header
  std::vector<uint64_t> requests;
  while (std::getline(csv, line)) {
    std::istringstream cells(line);
    std::string cell;
    for (int i = 0; i < 6 && std::getline(cells, cell, ','); ++i) {
    }
    requests.push_back(std::stoull(cell));  // the `requests` column
  }
  ASSERT_FALSE(requests.empty());
  // Not the 60 planned intervals: only those measured before the stop.
  EXPECT_LE(static_cast<double>(requests.size()), at_signal_s + 2)
      << read_file(dir / "out" / "intervals.csv");
  for (size_t i = 0; i + 1 < requests.size(); ++i) EXPECT_GT(requests[i], 0u) << "row " << i;
}

}  // namespace signals_test
}  // namespace horde::testing
