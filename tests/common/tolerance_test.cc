// Tolerances for horde compare and the workload's `baseline:`: relative
// metrics take a percentage, error_rate and distribution percentage points;
// bad items are refused naming the metric; `baseline:` round-trips through
// the workload's JSON and each wrong field is named.
#include "common/tolerance.h"

#include <gtest/gtest.h>

#include "common/workload.h"

namespace horde {
namespace tolerance_test {

TEST(Tolerance, ListOverDefaults) {
  auto t = parse_tolerance_list("p99=25%, throughput=2.5%,error_rate=0.5", default_tolerances());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_DOUBLE_EQ(t->at("p99"), 0.25);
  EXPECT_DOUBLE_EQ(t->at("throughput"), 0.025);
  EXPECT_DOUBLE_EQ(t->at("error_rate"), 0.005);  // 0.5 percentage points
  EXPECT_DOUBLE_EQ(t->at("p50"), 0.10);          // default kept
  EXPECT_DOUBLE_EQ(parse_tolerance("error_rate", "0.1%").value(), 0.001);
  EXPECT_TRUE(parse_tolerance_list("", default_tolerances()).ok());
}

TEST(Tolerance, BadItemsNameTheMetric) {
  auto bare = parse_tolerance("p99", "10");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().message.find("p99: got \"10\"; expected a percentage like 10%"),
            std::string::npos)
      << bare.error().message;
  auto unknown = parse_tolerance_list("p98=10%", default_tolerances());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("\"p98\": unknown metric"), std::string::npos);
  EXPECT_FALSE(parse_tolerance("max", "10%").ok());
  EXPECT_FALSE(parse_tolerance("p99", "-5%").ok());
  EXPECT_FALSE(parse_tolerance_list("p99:10%", default_tolerances()).ok());
}

TEST(Tolerance, BaselineInTheWorkload) {
  auto w = parse_workload(
      "target: http://127.0.0.1:8080/\n"
      "baseline: {dir: results/last, tolerance: {p99: 15%, error_rate: 0.2}, alpha: 0.05}\n",
      "w.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->baseline);
  EXPECT_EQ(w->baseline->dir, "results/last");
  EXPECT_DOUBLE_EQ(w->baseline->tolerance.at("p99"), 0.15);
  EXPECT_DOUBLE_EQ(w->baseline->tolerance.at("error_rate"), 0.002);
  EXPECT_DOUBLE_EQ(w->baseline->alpha, 0.05);
  // The resolved JSON (summary.json's workload) parses back to the same workload.
  auto back = parse_workload(to_json(*w).dump(), "json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back->baseline, *w->baseline);
}

TEST(Tolerance, BaselineErrorsNameTheField) {
  const auto error = [](const std::string& baseline) {
    auto w =
        parse_workload("target: http://127.0.0.1:8080/\nbaseline: " + baseline + "\n", "w.yaml");
    return w.ok() ? std::string("ok") : w.error().message;
  };
  EXPECT_NE(error("{tolerance: {p99: 10%}}").find("w.yaml: baseline.dir: missing"),
            std::string::npos);
  EXPECT_NE(error("{dir: r, tolerance: {p99: 10}}").find("baseline.tolerance: p99: got \"10\""),
            std::string::npos)
      << error("{dir: r, tolerance: {p99: 10}}");
  EXPECT_NE(error("{dir: r, tolerance: {p42: 10%}}").find("unknown metric"), std::string::npos);
  EXPECT_NE(error("{dir: r, alpha: 0.5}").find("baseline.alpha: got \"0.5\""), std::string::npos);
  EXPECT_NE(error("{dir: r, dirr: x}").find("baseline"), std::string::npos);
  EXPECT_NE(error("results/last").find("baseline: got"), std::string::npos);
}

}  // namespace tolerance_test
}  // namespace horde
