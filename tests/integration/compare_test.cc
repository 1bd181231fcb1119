// horde compare on real runs: two runs against the same nginx pass; a run
// against the built-in target (closed loop, 2 connections: latency from the
// actual send, so a loaded test box's scheduling stalls touch few samples)
// with 2 ms more service time per request fails naming p50 and p99 (p50 of
// each request name too), both from `horde compare` and from `horde run` with
// `baseline:` in the workload (the CI gate); bad input exits 2 naming what
// is wrong.
#include <gtest/gtest.h>

#include "tests/integration/nginx.h"

namespace horde::testing {
namespace compare_test {

TEST(CompareRuns, TwoRunsAgainstTheSameNginxPass) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx-light is not installed";
  const auto dir = temp_dir("compare-nginx");
  Nginx nginx(dir);
  ASSERT_EQ(http_get(nginx.port(), "/"), "ok\n") << read_file(dir / "error.log");
  const std::string target = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/load";
  for (const char* out : {"a", "b"}) {
    auto f = run_horde({"run", "--target", target, "--rate", "400", "-d", "4s", "--local-agents",
                        "1", "--threads", "1", "--out", (dir / out).string(), "--no-live"});
    ASSERT_EQ(f.code, 0) << f.out;
  }
  auto f = run_horde({"compare", (dir / "a").string(), (dir / "b").string(), "--out",
                      (dir / "cmp").string(),
                      // The suite runs other load tests beside this one: a burst on the shared
                      // 2-core box is a real, significant change in the tail of what was measured,
                      // so the tail's tolerances are wide here; the middle keeps its defaults.
                      "--tolerance", "p99=200%,p999=400%"});
  EXPECT_EQ(f.code, 0) << f.out;
  EXPECT_NE(f.out.find("no regression"), std::string::npos) << f.out;
  const auto j = read_json(dir / "cmp" / "compare.json");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["matched_phases"], 1);
  EXPECT_TRUE(std::filesystem::exists(dir / "cmp" / "compare.html"));
}

std::string builtin_workload(int service_ms, const std::string& baseline_dir) {
  std::string w =
      "name: slow-or-not\n"
      "builtin_target: {instances: 1, workers: 16, service_time: " +
      std::to_string(service_ms) +
      "ms}\n"
      // 8 intervals: the bootstrap over intervals has 8 values a side to resample. With 4 (1 s
      // intervals) a 3x p99 was p = 0.012 once under ASan at -O1, short of alpha 0.01.
      "load: {connections: 2, duration: 4s, interval: 500ms}\n"
      // Two names: each is compared on its own too (its part of every interval).
      "requests:\n"
      "  - {name: home, path: /home, weight: 3}\n"
      "  - {name: profile, path: /profile, weight: 1}\n";
  if (!baseline_dir.empty()) w += "baseline: {dir: " + baseline_dir + "}\n";
  return w;
}

TEST(CompareRuns, TwoMillisecondsMorePerRequestFailsNamingP50AndP99) {
  const auto dir = temp_dir("compare-slow");
  write_file(dir / "base.yaml", builtin_workload(1, ""));
  write_file(dir / "slow.yaml", builtin_workload(3, (dir / "base").string()));
  auto base = run_horde({"run", (dir / "base.yaml").string(), "--local-agents", "1", "--threads",
                         "1", "--out", (dir / "base").string(), "--no-live"});
  ASSERT_EQ(base.code, 0) << base.out;

  // The CI gate: the candidate run compares itself with the baseline at the end.
  auto gate = run_horde({"run", (dir / "slow.yaml").string(), "--local-agents", "1", "--threads",
                         "1", "--out", (dir / "slow").string(), "--no-live"});
  EXPECT_EQ(gate.code, 1) << gate.out;
  EXPECT_NE(gate.out.find("builtin_target.service_time: \"1ms\" -> \"3ms\""), std::string::npos)
      << gate.out;
  EXPECT_NE(gate.out.find("\np50 of phase run: "), std::string::npos) << gate.out;
  EXPECT_NE(gate.out.find("\np99 of phase run: "), std::string::npos) << gate.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "slow" / "compare.html"));

  // The same verdict from `horde compare`, its regressions on the last lines.
  auto f = run_horde({"compare", (dir / "base").string(), (dir / "slow").string()});
  EXPECT_EQ(f.code, 1) << f.out;
  const auto tail = f.out.substr(f.out.find("regression(s):"));
  EXPECT_NE(tail.find("p50 of phase run: "), std::string::npos) << f.out;
  EXPECT_NE(tail.find("p99 of phase run: "), std::string::npos) << f.out;
  EXPECT_NE(tail.find("p < 0.001"), std::string::npos) << f.out;
  EXPECT_NE(tail.find("\np50 of phase run name home: "), std::string::npos) << f.out;
  EXPECT_NE(tail.find("\np50 of phase run name profile: "), std::string::npos) << f.out;
  // Generous enough tolerances let the same change through.
  auto lenient =
      run_horde({"compare", (dir / "base").string(), (dir / "slow").string(), "--tolerance",
                 "p50=1000%,p90=1000%,p99=1000%,p999=1000%,mean=1000%,throughput=1000%,"
                 "distribution=50"});
  EXPECT_EQ(lenient.code, 0) << lenient.out;
}

TEST(CompareRuns, BadInputExitsTwoNamingTheProblem) {
  const auto dir = temp_dir("compare-bad");
  auto missing = run_horde({"compare", (dir / "nope").string(), (dir / "nope2").string()});
  EXPECT_EQ(missing.code, 2);
  auto tolerance = run_horde({"compare", "a", "b", "--tolerance", "p99=10"});
  EXPECT_EQ(tolerance.code, 2);
  write_file(dir / "gate.yaml", builtin_workload(1, (dir / "no-such-run").string()));
  auto gate = run_horde({"run", (dir / "gate.yaml").string(), "--local-agents", "1", "--out",
                         (dir / "out").string(), "--no-live"});
  EXPECT_EQ(gate.code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "summary.json"));  // refused before the run
}

}  // namespace compare_test
}  // namespace horde::testing
