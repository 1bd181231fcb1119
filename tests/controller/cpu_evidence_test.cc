// What the observed CPU beside each step of an instances sweep says limits it: full CPU where
// the capacity stops growing ("limited by CPU"), idle CPU there ("not the limit"), both flat
// without cores_available (said, not judged), CPU growing while the capacity does not
// (overhead), and nothing at all without a cores source or outside an instances sweep.
#include "controller/cpu_evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace horde {
namespace cpu_evidence_test {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A sweep over n = 1..k with these capacities (each +-1%) and mean busy cores (nullopt: no
// value at that step), classified as `shape`.
Scalability sweep(const std::vector<double>& capacity,
                  const std::vector<std::optional<double>>& busy, const std::string& shape,
                  double min_efficiency = 0.8) {
  Scalability s;
  s.kind = "instances";
  s.shape = shape;
  s.min_efficiency = min_efficiency;
  for (size_t i = 0; i < capacity.size(); ++i) {
    ScalabilityPoint p;
    p.n = static_cast<uint32_t>(i + 1);
    p.capacity_rps = capacity[i];
    p.capacity_ci = {capacity[i] * 0.99, capacity[i] * 1.01};
    p.efficiency = capacity[i] / (p.n * capacity[0]);
    ObservedStat o{"web_cpu", ObserveUnit::kCores, busy[i] ? 5u : 0u, busy[i], busy[i]};
    p.observed = {ObservedStat{"web_rss", ObserveUnit::kBytes, 5, 1e6, 1e6}, o};
    s.points.push_back(p);
  }
  return s;
}

TEST(CpuEvidence, FullCpuWhereTheCapacityStopsIsTheLimit) {
  // 2 cores: 1 instance uses one, 2 use both, more add nothing.
  const auto f =
      cpu_evidence(sweep({500, 980, 990, 985}, {0.98, 1.96, 1.97, 1.97}, "plateau"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kCpu);
  EXPECT_EQ(f->source, "web_cpu");
  EXPECT_EQ(f->from_n, 2u);
  EXPECT_EQ(f->text,
            "Limited by CPU: 1.96 of 2 cores busy from 2 instances on; the machine, not the "
            "code, is the limit.");
  EXPECT_EQ(f->to_json()["bound"], "cpu");
  EXPECT_EQ(f->to_json()["from_instances"], 2);
}

TEST(CpuEvidence, IdleCpuWhereTheCapacityStopsIsNotTheLimit) {
  // A lock: the capacity is flat from 1 instance on, the CPU mostly idle.
  const auto f = cpu_evidence(sweep({250, 252, 249, 251}, {0.6, 0.61, 0.62, 0.62}, "plateau"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kNotCpu);
  EXPECT_EQ(f->from_n, 1u);
  EXPECT_EQ(f->text,
            "CPU is not the limit (30% busy: 0.60 of 2 cores at 1 instance): look for a shared "
            "resource, the balancer or the database.");
}

TEST(CpuEvidence, RetrogradeIsJudgedAtThePeak) {
  const auto f = cpu_evidence(sweep({400, 700, 600, 500}, {0.5, 1.0, 1.1, 1.2}, "retrograde"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kNotCpu);
  EXPECT_EQ(f->from_n, 2u);
}

TEST(CpuEvidence, SublinearBelowTheRequiredEfficiencyCountsAsStopped) {
  const auto f = cpu_evidence(sweep({500, 800, 900, 950}, {1.0, 1.6, 1.8, 1.9}, "sublinear"), 2.0);
  ASSERT_TRUE(f);
  // Peak 950 at 4: 900 + 2% stays under 950 - 2%, so the capacity grew to the end and the
  // knee is the last step, where 1.9 of 2 cores are busy.
  EXPECT_EQ(f->bound, CpuBound::kCpu);
  EXPECT_EQ(f->from_n, 4u);
}

TEST(CpuEvidence, StillScalingWithRoomSaysSo) {
  const auto f = cpu_evidence(sweep({100, 200, 300}, {0.2, 0.4, 0.6}, "linear"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kRoom);
  EXPECT_EQ(f->text, "The CPU had room: at most 0.60 of 2 cores busy.");
}

TEST(CpuEvidence, StillScalingButFullAtTheEnd) {
  const auto f = cpu_evidence(sweep({100, 200, 300}, {0.6, 1.2, 1.85}, "linear"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kFullAtEnd);
  EXPECT_THAT(f->text, HasSubstr("The CPU is full at 3 instances (1.85 of 2 cores busy)"));
}

TEST(CpuEvidence, WithoutCoresAvailableFlatCpuIsSaidNotJudged) {
  const auto f =
      cpu_evidence(sweep({500, 980, 990, 985}, {0.98, 1.96, 1.97, 1.97}, "plateau"), std::nullopt);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kFlat);
  EXPECT_THAT(f->text, HasSubstr("1.96 cores busy from 2 instances on"));
  EXPECT_THAT(f->text, HasSubstr("give sweep.cores_available"));
  EXPECT_THAT(f->text, ::testing::Not(HasSubstr("Limited by CPU")));
}

TEST(CpuEvidence, WithoutCoresAvailableGrowingCpuIsOverhead) {
  const auto f =
      cpu_evidence(sweep({500, 980, 990, 985}, {0.5, 1.0, 1.4, 1.9}, "plateau"), std::nullopt);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kOverhead);
  EXPECT_THAT(f->text, HasSubstr("1.00 to 1.90 cores from 2 instances to 4 instances"));
}

TEST(CpuEvidence, WithoutCoresAvailableStillScalingSaysNothing) {
  const auto f = cpu_evidence(sweep({100, 200, 300}, {0.2, 0.4, 0.6}, "linear"), std::nullopt);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kRoom);
  EXPECT_THAT(f->text, IsEmpty());
}

TEST(CpuEvidence, MissingValuesAreSkippedNotZero) {
  // The source was down at the knee (2): judged at the next step with a value.
  const auto f =
      cpu_evidence(sweep({500, 980, 990, 985}, {0.98, std::nullopt, 1.97, 1.97}, "plateau"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kCpu);
  EXPECT_EQ(f->from_n, 3u);
}

TEST(CpuEvidence, TooFewValuesIsUndetermined) {
  const auto f =
      cpu_evidence(sweep({500, 980, 990}, {std::nullopt, std::nullopt, 1.97}, "plateau"), 2.0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bound, CpuBound::kUndetermined);
  EXPECT_THAT(f->text, HasSubstr("web_cpu has a value at 1 of the 3 steps"));
  EXPECT_TRUE(f->to_json()["busy_cores"].is_null());
}

TEST(CpuEvidence, NothingWithoutACoresSourceOrOutsideAnInstancesSweep) {
  Scalability s = sweep({500, 980}, {1.0, 2.0}, "linear");
  for (auto& p : s.points) p.observed.erase(p.observed.begin() + 1);
  EXPECT_FALSE(cpu_evidence(s, 2.0));
  Scalability agents = sweep({500, 980}, {1.0, 2.0}, "linear");
  agents.kind = "agents";
  EXPECT_FALSE(cpu_evidence(agents, 2.0));
}

}  // namespace cpu_evidence_test
}  // namespace horde
