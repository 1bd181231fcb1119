// The verdict against targets that are not the model: instances sweeps (real processes, the
// built-in target, closed loop) over a real FIFO lock shared by all instances, over a real
// coherency channel (crosstalk), and over nothing shared, each repeated 3 times. The analysis
// must name the shape the mechanism produces and claim crosstalk and a fall only when the data
// carry it. Short phases (2 s measured in 500 ms intervals after 1 s of warm-up) keep a run near
// 15-30 s.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace verdict_test {

constexpr int kRuns = 3;

nlohmann::json Sweep(const std::string& name, const std::string& target, const std::string& ns) {
  const auto dir = temp_dir(name);
  write_file(dir / "w.yaml",
             "builtin_target: {" + target +
                 "}\n"
                 "load: {mode: closed, connections: 64, duration: 2s, warmup: 1s, interval: "
                 "500ms}\n"
                 "sweep: {instances: " +
                 ns + ", min_efficiency: 0.9}\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"},
                     std::chrono::seconds(150));
  EXPECT_NE(f.out.find("verdict:"), std::string::npos) << f.out;
  return read_json(dir / "out" / "summary.json")["scalability"];
}

std::string Capacities(const nlohmann::json& sc) {
  std::string out;
  for (const auto& p : sc["points"]) {
    out += p["capacity_rps"].dump() + " " + p["capacity_ci"].dump() + "; ";
  }
  return out + sc["usl"].dump();
}

TEST(Verdict, ALockSharedByAllInstancesIsContentionWithoutAPeak) {
  // 2 workers x 10 ms per instance, a quarter of it on one lock: the lock caps capacity at
  // 1 / 2.5 ms = 400 requests/s, which 2 instances already reach.
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const auto sc =
        Sweep("verdict-lock-" + std::to_string(run),
              "instances: 4, workers: 2, service_time: 10ms, lock: 0.25", "[1, 2, 3, 4]");
    ASSERT_EQ(sc["points"].size(), 4u);
    const std::string shape = sc["shape"];
    EXPECT_TRUE(shape == "plateau" || shape == "sublinear") << shape << "\n" << Capacities(sc);
    ASSERT_TRUE(sc["usl"].is_object()) << sc.dump(2);
    EXPECT_TRUE(sc["usl"]["model"] == "amdahl" || !sc["usl"]["kappa_significant"].get<bool>())
        << Capacities(sc);
    EXPECT_TRUE(sc["usl"]["peak_n"].is_null()) << Capacities(sc);
    const std::string verdict = sc["verdict"];
    EXPECT_NE(verdict.find("limited by contention"), std::string::npos) << verdict;
    EXPECT_EQ(verdict.find("limited by crosstalk"), std::string::npos) << verdict;
    EXPECT_EQ(verdict.find("predicted to peak"), std::string::npos) << verdict;
    for (const auto& p : sc["points"]) {
      EXPECT_LE(p["capacity_ci"][0].get<double>(), p["capacity_rps"].get<double>());
      EXPECT_GE(p["capacity_ci"][1].get<double>(), p["capacity_rps"].get<double>());
      EXPECT_LE(p["capacity_rps"].get<double>(), 400 * 1.02);  // the lock's bound
    }
  }
}

TEST(Verdict, CrosstalkOverSixStepsIsRetrogradeWithKappaAboveZero) {
  // 4 workers x 10 ms per instance; each request sends 0.625 ms updates to every other busy
  // instance over one channel: at most 1600 / (N - 1) requests/s, so 400, ~750, 800, 533, 400,
  // 320 from 1 to 6 instances.
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const auto sc = Sweep("verdict-crosstalk-" + std::to_string(run),
                          "instances: 6, workers: 4, service_time: 10ms, crosstalk: 0.0625",
                          "[1, 2, 3, 4, 5, 6]");
    ASSERT_EQ(sc["points"].size(), 6u);
    EXPECT_EQ(sc["shape"], "retrograde") << Capacities(sc);
    ASSERT_TRUE(sc["usl"].is_object()) << sc.dump(2);
    EXPECT_EQ(sc["usl"]["model"], "usl") << Capacities(sc);
    EXPECT_GT(sc["usl"]["kappa_ci"][0].get<double>(), 0.0) << Capacities(sc);
    EXPECT_TRUE(sc["usl"]["kappa_significant"].get<bool>()) << Capacities(sc);
    const std::string verdict = sc["verdict"];
    EXPECT_EQ(verdict.rfind("Throughput falls as instances are added", 0), 0u) << verdict;
    EXPECT_NE(verdict.find("crosstalk"), std::string::npos) << verdict;
  }
}

TEST(Verdict, NothingSharedIsLinear) {
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const auto sc = Sweep("verdict-linear-" + std::to_string(run),
                          "instances: 4, workers: 4, service_time: 10ms", "[1, 2, 3, 4]");
    ASSERT_EQ(sc["points"].size(), 4u);
    EXPECT_EQ(sc["shape"], "linear") << Capacities(sc);
    EXPECT_GE(sc["points"][3]["efficiency"].get<double>(), 0.9) << Capacities(sc);
    EXPECT_TRUE(sc["usl"]["peak_n"].is_null()) << Capacities(sc);
    EXPECT_TRUE(sc["passed"].get<bool>());
    EXPECT_EQ(sc["verdict"].get<std::string>().rfind("Throughput grows linearly", 0), 0u)
        << sc["verdict"];
  }
}

}  // namespace verdict_test
}  // namespace horde::testing
