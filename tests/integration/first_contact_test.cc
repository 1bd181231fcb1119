// What a wrk or k6 user meets in the first ten minutes (issue 17), with real
// processes on loopback: `-c 1` runs (one local agent, said so), `-t` is
// --threads, the end summary has the latency distribution, stdev and the
// transfer per second, and the live line on a terminal (a pseudo-terminal made
// by `script`) shows errors per interval.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace first_contact_test {

struct Target {
  Subprocess process;
  std::string url;
};

Target start_target(const std::string& service_time) {
  Target t;
  t.process = start_horde({"target", "--listen", "127.0.0.1:0", "--instances", "1", "--workers",
                           "16", "--service-time", service_time});
  auto url = wait_for_line(t.process, "listening on ");
  if (!url) throw std::runtime_error("target did not start");
  t.url = *url;
  return t;
}

TEST(FirstContact, OneConnectionRunsOneLocalAgentAndSaysSo) {
  // It aborted: exit 3, "1 connections cannot be split over 2 agents".
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-c1");
  auto f = run_horde_merged({"run", "--target", target.url, "-c", "1", "-d", "1s", "-t", "1",
                             "--no-live", "--out", (dir / "out").string()});
  EXPECT_EQ(f.code, 0) << f.out;
  EXPECT_NE(f.out.find("1 connection: starting 1 local agent instead of 2 (--local-agents N to "
                       "choose)"),
            std::string::npos)
      << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["agents"].size(), 1u);
  EXPECT_EQ(summary["agents"][0]["threads"], 1);  // -t 1
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 10u);
}

TEST(FirstContact, SummaryHasTheDistributionStdevAndTransfer) {
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-summary");
  auto f = run_horde({"run", "--target", target.url, "-c", "4", "-d", "1s", "--threads", "1",
                      "--no-live", "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& t = summary["totals"];
  const auto& l = t["latency_ms"];
  const auto ms3 = [](const nlohmann::json& v) {
    return fmt::format("{:.3f} ms", v.get<double>());
  };
  // The same figures as summary.json, which are checked against raw samples in results_test.
  EXPECT_NE(f.out.find("latency distribution: 50% " + ms3(l["p50"]) + "  75% " + ms3(l["p75"]) +
                       "  90% " + ms3(l["p90"]) + "  99% " + ms3(l["p99"]) + "  99.9% " +
                       ms3(l["p999"]) + "  99.99% " + ms3(l["p9999"])),
            std::string::npos)
      << f.out;
  EXPECT_NE(f.out.find("stdev " + ms3(l["stdev"])), std::string::npos) << f.out;
  EXPECT_GT(l["stdev"].get<double>(), 0.0);
  // Transfer per second: the bytes counted over the measured duration.
  const double duration = t["duration_s"];
  EXPECT_NEAR(t["bytes_received_per_s"].get<double>(), t["bytes_received"].get<double>() / duration,
              0.01);
  EXPECT_GT(t["bytes_sent_per_s"].get<double>(), 0.0);
  EXPECT_NE(f.out.find("transfer/s: "), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("/s read, "), std::string::npos) << f.out;
}

TEST(FirstContact, StagesReportTheOfferedIntegral) {
  // Issue 17 item 4: stages ramping to 200 rps gave `offered_rps: 0.0`.
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-stages");
  write_file(dir / "w.yaml", "target: " + target.url +
                                 "\nload:\n  stages:\n    - {duration: 1s, rate: 200}\n"
                                 "    - {duration: 1s, rate: 200}\n");
  auto f = run_horde_merged({"run", (dir / "w.yaml").string(), "--threads", "1", "--no-live", "-v",
                             "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  // 0 -> 200 over 1 s (100 requests), 200 for 1 s (200): 300 over 2 s.
  EXPECT_DOUBLE_EQ(summary["phases"][0]["offered_rps"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(summary["phases"][0]["offered_requests"].get<double>(), 300.0);
  EXPECT_NE(f.out.find("stages 0 -> 200 -> 200 rps open loop (mean 150.0 rps, 300 requests "
                       "offered)"),
            std::string::npos)
      << f.out;
}

// What the user sees on a terminal: `script` gives horde a pseudo-terminal.
Finished on_a_terminal(const std::vector<std::string>& args) {
  std::string cmd = "exec " HORDE_BINARY;
  for (const auto& a : args) cmd += " '" + a + "'";
  auto p = Subprocess::spawn({"/usr/bin/script", "-qefc", cmd, "/dev/null"}, true);
  if (!p) return {};
  Finished f;
  const auto deadline = in(std::chrono::seconds(60));
  f.out = p->read_all(deadline);
  f.code = p->wait_until(deadline).value_or(-1);
  return f;
}

// What stays visible of each line: colours dropped, only what follows the last '\r'
// (a terminal line ends "\r\n": that '\r' is not a redraw).
std::vector<std::string> visible_lines(const std::string& raw) {
  const std::string text = std::regex_replace(raw, std::regex("\x1b\\[[0-9;]*m"), "");
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == '\r') line.pop_back();  // the pty's "\r\n"
    if (auto cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);
    out.push_back(line);
  }
  return out;
}

TEST(FirstContact, RunIsQuietByDefaultOnATerminal) {
  if (!std::filesystem::exists("/usr/bin/script")) GTEST_SKIP() << "no /usr/bin/script";
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-quiet");
  auto f = on_a_terminal({"run", "--target", target.url, "-c", "2", "-d", "2s", "-t", "1", "--out",
                          (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  // The live line is redrawn in place, errors per interval like rps.
  EXPECT_NE(f.out.find("\rphase 1/1"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("errors 0/s"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("errors 0/s (0 total)"), std::string::npos) << f.out;
  // No info lines: the results and the live line only (it printed about ten before).
  for (const auto& line : visible_lines(f.out)) {
    EXPECT_EQ(line.find(" info "), std::string::npos) << line;
  }
  EXPECT_NE(f.out.find("latency distribution: "), std::string::npos) << f.out;
}

TEST(FirstContact, VerboseLinesAreWholeAndPrefixedAndNeverRunIntoTheLiveLine) {
  if (!std::filesystem::exists("/usr/bin/script")) GTEST_SKIP() << "no /usr/bin/script";
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-verbose");
  // -v after the subcommand, and it reaches the local agents.
  auto f = on_a_terminal({"run", "--target", target.url, "-c", "2", "-d", "2s", "-t", "1", "-v",
                          "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  const std::regex stamp("^(\\[local-[12]\\] )?20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+ [a-z]+ .*");
  size_t from_agents = 0, logged = 0;
  for (const auto& line : visible_lines(f.out)) {
    // A timestamp anywhere in a line starts it: never two in one line, never after the live line.
    if (!std::regex_search(line, std::regex("20[0-9]{2}-[0-9]{2}-[0-9]{2}T"))) continue;
    ++logged;
    EXPECT_TRUE(std::regex_match(line, stamp)) << line;
    const std::regex any_stamp("20[0-9]{2}-[0-9]{2}-[0-9]{2}T");
    EXPECT_EQ(std::distance(std::sregex_iterator(line.begin(), line.end(), any_stamp),
                            std::sregex_iterator()),
              1)
        << line;
    if (line.starts_with("[local-")) ++from_agents;
  }
  EXPECT_GT(logged, 3u) << f.out;
  EXPECT_GE(from_agents, 2u) << f.out;  // each agent's "joined controller" line
  EXPECT_FALSE(
      std::regex_search(f.out, std::regex("agents [0-9]+/[0-9]+(  \\(warm-up\\))?20[0-9]{2}-")))
      << f.out;
}

TEST(FirstContact, TheBuiltInTargetsLinesArePrefixedLikeTheAgents) {
  // Its log lines came out bare, mixed with the controller's and the agents'.
  const auto dir = temp_dir("first-contact-builtin");
  write_file(dir / "w.yaml", "builtin_target: {instances: 1}\nload: {connections: 2}\n");
  auto f = run_horde_merged({"run", (dir / "w.yaml").string(), "-d", "1s", "-t", "1", "-v",
                             "--no-live", "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  size_t from_target = 0;
  std::istringstream lines(f.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" info target: ") == std::string::npos) continue;  // the target's own lines
    EXPECT_TRUE(line.starts_with("[target] ")) << line;
    from_target += line.starts_with("[target] ") ? 1 : 0;
  }
  EXPECT_GE(from_target, 2u) << f.out;  // it listens, and says what it served when stopped
}

TEST(FirstContact, HelpShowsDefaultsExamplesAndTheNameHorde) {
  // No arguments: the help (on stderr), exit 2 kept.
  auto none = run_horde_merged({});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.out.find("Usage: horde [OPTIONS] SUBCOMMAND"), std::string::npos) << none.out;
  EXPECT_EQ(none.out.find(HORDE_BINARY), std::string::npos) << none.out;  // not the full path
  for (const char* sub : {"run", "controller", "agent", "target", "report", "validate"}) {
    auto h = run_horde({sub, "--help"});
    EXPECT_EQ(h.code, 0) << sub;
    EXPECT_NE(h.out.find(std::string("Usage: horde ") + sub), std::string::npos) << h.out;
    const auto ex = h.out.find("Examples:\n");
    ASSERT_NE(ex, std::string::npos) << h.out;
    // Two examples, each a command line of this subcommand.
    const std::string rest = h.out.substr(ex);
    const std::string cmd = std::string("\n  horde ") + sub + " ";
    const std::regex example(cmd);
    EXPECT_EQ(std::distance(std::sregex_iterator(rest.begin(), rest.end(), example),
                            std::sregex_iterator()),
              2)
        << h.out;
  }
  const auto run = run_horde({"run", "--help"}).out;
  EXPECT_NE(run.find("default 2"), std::string::npos) << run;  // --local-agents
  EXPECT_NE(run.find("else 10s"), std::string::npos) << run;   // -d
  EXPECT_NE(run.find("-t,--threads"), std::string::npos) << run;
  const auto ctl = run_horde({"controller", "--help"}).out;
  EXPECT_NE(ctl.find("--listen TEXT=0.0.0.0:7400"), std::string::npos) << ctl;
  EXPECT_NE(ctl.find("--join-timeout TEXT=60s"), std::string::npos) << ctl;
  // The limit the docs give (1 .. 1000, as builtin_target.instances).
  EXPECT_EQ(run_horde_merged({"target", "--instances", "1001"}).code, 2);
}

TEST(FirstContact, HowManyThresholdsFailedIsTheLastLine) {
  // Issue 17 item 7: the count was the last line of the summary table, but the
  // `results:` line (and in sweeps the scalability table) printed after it.
  Target target = start_target("1ms");
  const auto dir = temp_dir("first-contact-last-line");
  write_file(dir / "w.yaml", "target: " + target.url +
                                 "\nthresholds: ['p99 < 1us', 'error_rate < 1%', 'p50 < 1us']\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "-c", "2", "-d", "1s", "--local-agents",
                      "1", "--no-live", "--out", (dir / "out").string()});
  EXPECT_EQ(f.code, 1) << f.out;
  std::string last;
  std::istringstream lines(f.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  EXPECT_EQ(last, "2 of 3 thresholds failed") << f.out;
  EXPECT_NE(f.out.find("results: "), std::string::npos) << f.out;
}

TEST(FirstContact, JoinTimeoutHintNamesTheTokenFlag) {
  const auto dir = temp_dir("first-contact-join");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:1/\nthresholds: ['p99 < 100ms']\n");
  write_file(dir / "token", "s3cret\n");
  auto f = run_horde({"controller", (dir / "w.yaml").string(), "--listen", "127.0.0.1:0",
                      "--join-timeout", "1s", "--token-file", (dir / "token").string(), "--out",
                      (dir / "out").string()});
  EXPECT_EQ(f.code, 3) << f.out;
  EXPECT_NE(f.out.find("start more agents with `horde agent --controller 127.0.0.1:0 "
                       "--token-file FILE` (FILE holding the controller's token)"),
            std::string::npos)
      << f.out;
  // No agent joined: the threshold is not judged, never "observed 0.000 PASS".
  EXPECT_EQ(f.out.find("PASS"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("NOT JUDGED: the run was aborted"), std::string::npos) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_EQ(summary["thresholds"][0]["result"], "not judged");
  EXPECT_EQ(summary["exit_code"], 3);
  const std::string html = read_file(dir / "out" / "report.html");
  EXPECT_EQ(html.find("PASS: every check holds"), std::string::npos);
  EXPECT_EQ(html.find(">PASS<"), std::string::npos);
  EXPECT_NE(html.find("NOT JUDGED"), std::string::npos);
}

}  // namespace first_contact_test
}  // namespace horde::testing
