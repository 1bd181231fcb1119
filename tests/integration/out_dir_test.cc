// The results directory (issue #14 item 9): a second run into the same --out
// is refused (it used to overwrite summary.json while appending to
// intervals.jsonl, so `horde report` merged two runs) unless --overwrite;
// --out under a regular file fails before any agent starts; `horde report`
// rebuilds from intervals.jsonl when summary.json is unreadable.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace out_dir_test {

// Runs horde with stderr folded into stdout (the usage errors go to stderr).
Finished run_horde_2to1(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", HORDE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto q = Subprocess::spawn(argv, true);
  Finished f;
  if (!q) return f;
  const auto deadline = in(std::chrono::seconds(60));
  f.out = q->read_all(deadline);
  f.code = q->wait_until(deadline).value_or(-1);
  return f;
}

std::vector<std::string> run_ids_in_log(const std::filesystem::path& log) {
  std::vector<std::string> ids;
  std::istringstream lines(read_file(log));
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) ids.push_back(j.value("run_id", ""));
  }
  return ids;
}

struct Target {
  Subprocess process;
  std::string url;
};

Target start_target() {
  Target t;
  t.process = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "16", "--service-time", "1ms"});
  t.url = wait_for_line(t.process, "listening on ").value_or("");
  return t;
}

uint64_t served(const std::string& url) {
  auto j = nlohmann::json::parse(http_get(port_of_url(url), "/__stats"), nullptr, false);
  return j.is_discarded() ? 0 : j.value("served", uint64_t{0});
}

TEST(OutDir, ASecondRunIntoTheSameOutIsRefusedUnlessOverwrite) {
  Target target = start_target();
  ASSERT_FALSE(target.url.empty());
  const auto dir = temp_dir("outdir-second");
  const std::vector<std::string> run = {"run",      "--target",
                                        target.url, "-c",
                                        "2",        "-d",
                                        "1s",       "--local-agents",
                                        "1",        "--threads",
                                        "1",        "--no-live",
                                        "--out",    (dir / "out").string()};
  auto first = run_horde_2to1(run);
  ASSERT_EQ(first.code, 0) << first.out;
  const std::string first_id = read_json(dir / "out" / "summary.json")["run_id"];
  const uint64_t served_after_first = served(target.url);

  auto second = run_horde_2to1(run);
  EXPECT_EQ(second.code, 2) << second.out;
  EXPECT_NE(second.out.find("not empty"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("--overwrite"), std::string::npos) << second.out;
  EXPECT_EQ(served(target.url), served_after_first);  // no agent ran
  EXPECT_EQ(read_json(dir / "out" / "summary.json")["run_id"], first_id);

  auto args = run;
  args.push_back("--overwrite");
  auto third = run_horde_2to1(args);
  ASSERT_EQ(third.code, 0) << third.out;
  const std::string third_id = read_json(dir / "out" / "summary.json")["run_id"];
  EXPECT_NE(third_id, first_id);
  const auto ids = run_ids_in_log(dir / "out" / "intervals.jsonl");
  ASSERT_FALSE(ids.empty());
  for (const auto& id : ids) EXPECT_EQ(id, third_id);  // one run's intervals, not two
}

TEST(OutDir, OutUnderARegularFileFailsBeforeAnyAgentStarts) {
  Target target = start_target();
  ASSERT_FALSE(target.url.empty());
  const auto dir = temp_dir("outdir-file");
  write_file(dir / "plain", "a file\n");
  const auto started = Clock::now();
  auto f = run_horde_2to1({"run", "--target", target.url, "-c", "2", "-d", "5s", "--local-agents",
                           "1", "--out", (dir / "plain" / "out").string()});
  EXPECT_EQ(f.code, 2) << f.out;
  EXPECT_NE(f.out.find("is a file, not a directory"), std::string::npos) << f.out;
  EXPECT_EQ(f.out.find("joined"), std::string::npos) << f.out;  // no agent ever joined
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(served(target.url), 0u);
  write_file(dir / "w.yaml", "target: " + target.url + "\n");
  auto c = run_horde_2to1({"controller", (dir / "w.yaml").string(), "--insecure-no-token",
                           "--listen", "127.0.0.1:0", "--out", (dir / "plain").string()});
  EXPECT_EQ(c.code, 2) << c.out;
  EXPECT_NE(c.out.find("is a file, not a directory"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("listening"), std::string::npos) << c.out;
}

TEST(OutDir, ReportRebuildsFromIntervalsWhenSummaryIsUnreadable) {
  Target target = start_target();
  ASSERT_FALSE(target.url.empty());
  const auto dir = temp_dir("outdir-report");
  auto f = run_horde_2to1({"run", "--target", target.url, "-c", "2", "-d", "2s", "--local-agents",
                           "1", "--threads", "1", "--no-live", "--out", (dir / "out").string()});
  ASSERT_EQ(f.code, 0) << f.out;
  const uint64_t requests = read_json(dir / "out" / "summary.json")["totals"]["requests"];
  ASSERT_GT(requests, 0u);
  write_file(dir / "out" / "summary.json", "");  // what a full disk used to leave
  auto r = run_horde_2to1({"report", (dir / "out").string()});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rebuilt"), std::string::npos) << r.out;
  const auto rebuilt = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(rebuilt["incomplete"].get<bool>());
  EXPECT_EQ(rebuilt["totals"]["requests"].get<uint64_t>(), requests);
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "summary.json.unreadable"));
  EXPECT_NE(read_file(dir / "out" / "report.html").find("</html>"), std::string::npos);
}

}  // namespace out_dir_test
}  // namespace horde::testing
