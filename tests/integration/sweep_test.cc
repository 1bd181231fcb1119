// The question horde exists to answer, end to end: an instances sweep against
// the built-in target with a known serial fraction, and the USL fit must
// recover it. Closed loop with enough connections saturates the instances in
// use, so each step's throughput is their capacity.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace sweep_test {

nlohmann::json sweep(const std::string& name, double contention, double min_efficiency, int* code) {
  const auto dir = temp_dir(name);
  write_file(dir / "w.yaml",
             "builtin_target: {instances: 4, workers: 4, service_time: 10ms, contention: " +
                 std::to_string(contention) +
                 "}\n"
                 "load: {mode: closed, connections: 64, duration: 2s, warmup: 1s}\n"
                 "sweep: {instances: [1, 2, 3, 4], min_efficiency: " +
                 std::to_string(min_efficiency) + "}\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"},
                     std::chrono::seconds(120));
  *code = f.code;
  EXPECT_NE(f.out.find("verdict:"), std::string::npos) << f.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "report.html"));
  return read_json(dir / "out" / "summary.json");
}

TEST(Sweep, UslFitRecoversTheTargetsSerialFraction) {
  int code = -1;
  const auto s = sweep("sweep-contended", 0.1, 0.8, &code);
  const auto& sc = s["scalability"];
  ASSERT_FALSE(sc.is_null());
  EXPECT_EQ(sc["kind"], "instances");
  ASSERT_EQ(sc["points"].size(), 4u);
  ASSERT_FALSE(sc["usl"].is_null());
  EXPECT_NEAR(sc["usl"]["sigma"].get<double>(), 0.1, 0.05);
  // Efficiency is computed from the measured capacities, not from the fit.
  const double x1 = sc["points"][0]["capacity_rps"];
  const double x4 = sc["points"][3]["capacity_rps"];
  EXPECT_NEAR(sc["points"][3]["efficiency"].get<double>(), x4 / (4 * x1), 1e-9);
  // USL with sigma 0.1 at 4 instances: 1 / (1 + 0.3) = 77% < 80%: the verdict fails, exit 1.
  EXPECT_FALSE(sc["passed"].get<bool>());
  EXPECT_EQ(code, 1);
  EXPECT_EQ(s["phases"].size(), 4u);
}

TEST(Sweep, WithoutContentionFourInstancesScaleLinearly) {
  int code = -1;
  const auto s = sweep("sweep-linear", 0.0, 0.9, &code);
  const auto& sc = s["scalability"];
  ASSERT_EQ(sc["points"].size(), 4u);
  EXPECT_GE(sc["points"][3]["efficiency"].get<double>(), 0.9);
  EXPECT_TRUE(sc["passed"].get<bool>());
  EXPECT_EQ(code, 0);
}

}  // namespace sweep_test
}  // namespace horde::testing
