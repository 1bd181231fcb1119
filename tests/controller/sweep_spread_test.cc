// The instances sweep's spread check: a point where fewer backends answered
// than instances, or unevenly, is spread_ok false, the verdict says it in
// words, and the sweep fails unless sweep.require_even_spread is false.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/workload_yaml.h"
#include "controller/sweep_plan.h"

namespace horde {
namespace sweep_spread_test {

Workload load(const std::string& yaml) {
  auto w = parse_workload(yaml, "test.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  auto f = finalize_workload(w.ok() ? *w : Workload{}, "test.yaml");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  return f.ok() ? *f : Workload{};
}

// A phase of 10 s at 100 rps per instance, its requests split over backends by `shares`.
PhaseResult phase_with(uint32_t instances, const std::vector<double>& shares) {
  PhaseResult r;
  r.duration_s = 10;
  r.counters.requests = 1000 * instances;
  r.latency.record_n(1000, r.counters.requests);
  for (size_t i = 0; i < shares.size(); ++i) {
    BackendStats s;
    s.requests = static_cast<uint64_t>(shares[i] * static_cast<double>(r.counters.requests));
    r.backends.add("pod-" + std::to_string(i), s);
  }
  return r;
}

Scalability run(const std::string& extra, const std::vector<std::vector<double>>& shares) {
  const Workload w = load(
      "target: http://127.0.0.1:1/\nload: {mode: closed, connections: 30, duration: 10s}\n"
      "sweep:\n  instances: [1, 2, 3]\n  scale_command: \"true {instances}\"\n" +
      extra);
  SweepPlanner planner(w, 1);
  std::vector<PhaseResult> done;
  while (auto spec = planner.next(done)) {
    PhaseResult r = phase_with(spec->instances, shares[done.size()]);
    r.index = static_cast<uint32_t>(done.size());
    done.push_back(std::move(r));
  }
  auto s = planner.scalability();
  EXPECT_TRUE(s);
  return s.value_or(Scalability{});
}

TEST(SweepSpread, EvenSpreadPassesAndSaysNothing) {
  const Scalability s = run("", {{1.0}, {0.5, 0.5}, {0.34, 0.33, 0.33}});
  EXPECT_TRUE(s.passed) << s.verdict;
  for (const auto& p : s.points) {
    ASSERT_TRUE(p.backends);
    EXPECT_EQ(*p.backends, p.n);
    EXPECT_TRUE(p.spread_ok);
  }
  EXPECT_EQ(s.verdict.find("balancer"), std::string::npos) << s.verdict;
  const auto j = s.to_json();
  EXPECT_EQ(j["points"][2]["backends"], 3);
  EXPECT_EQ(j["points"][2]["spread_ok"], true);
}

TEST(SweepSpread, TooFewBackendsFailsWithTheReasonInWords) {
  const Scalability s = run("", {{1.0}, {0.5, 0.5}, {0.66, 0.34}});
  EXPECT_FALSE(s.passed);
  EXPECT_FALSE(s.points[2].spread_ok);
  EXPECT_EQ(*s.points[2].backends, 2u);
  EXPECT_NE(s.verdict.find("at 3 instances only 2 backends answered (66% / 34%)"),
            std::string::npos)
      << s.verdict;
  EXPECT_NE(s.verdict.find("the balancer, not the service, may be what limits the result"),
            std::string::npos)
      << s.verdict;
}

TEST(SweepSpread, UnevenSpreadFailsUnlessNotRequired) {
  const std::vector<std::vector<double>> shares = {{1.0}, {0.5, 0.5}, {0.8, 0.1, 0.1}};
  const Scalability strict = run("", shares);
  EXPECT_FALSE(strict.passed);
  EXPECT_NEAR(strict.points[2].imbalance, 2.4, 1e-9);
  EXPECT_NE(strict.verdict.find("at 3 instances the load was uneven (80% / 10% / 10%"),
            std::string::npos)
      << strict.verdict;
  const Scalability lenient = run("  require_even_spread: false\n", shares);
  EXPECT_TRUE(lenient.passed) << lenient.verdict;
  EXPECT_FALSE(lenient.points[2].spread_ok);
  EXPECT_NE(lenient.verdict.find("sweep.require_even_spread is false"), std::string::npos);
  // spread_warning raises the bar for "uneven".
  const Scalability loose = run("spread_warning: 2.5\n", shares);
  EXPECT_TRUE(loose.passed) << loose.verdict;
}

}  // namespace sweep_spread_test
}  // namespace horde
