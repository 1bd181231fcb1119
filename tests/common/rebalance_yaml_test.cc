// Tests for the workload's `rebalance:` key: read as a boolean next to
// tolerate_lost_agents, written back by to_json only when on, and refused with
// the field named for closed loop with connection stages (not supported).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/workload.h"

namespace horde {
namespace rebalance_yaml_test {

using ::testing::HasSubstr;

const char* kTarget = "target: http://127.0.0.1:8080/\n";

Result<Workload> read(const std::string& yaml) {
  auto w = parse_workload(yaml, "w.yaml");
  if (!w) return w.error();
  return finalize_workload(*w, "w.yaml");
}

TEST(RebalanceYaml, ReadsTrueAndFalseAndDefaultsOff) {
  auto w = read(std::string(kTarget) + "rebalance: true\ntolerate_lost_agents: 1\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->faults.rebalance);
  w = read(std::string(kTarget) + "rebalance: false\n");
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->faults.rebalance);
  w = read(kTarget);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->faults.rebalance);
}

TEST(RebalanceYaml, ToJsonWritesItOnlyWhenOnAndItReadsBackEqual) {
  auto w =
      read(std::string(kTarget) + "load: {mode: open, rate: 300, duration: 5s}\nrebalance: true\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  const nlohmann::json j = to_json(*w);
  EXPECT_EQ(j.value("rebalance", false), true) << j.dump(2);
  auto back = read(j.dump());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *w);
  auto plain = read(kTarget);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(to_json(*plain).contains("rebalance"));
}

TEST(RebalanceYaml, ErrorsNameTheField) {
  auto w = read(std::string(kTarget) + "rebalance: maybe\n");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message, HasSubstr("rebalance"));
  EXPECT_THAT(w.error().message, HasSubstr("true or false"));
}

TEST(RebalanceYaml, ClosedLoopWithConnectionStagesIsNotSupported) {
  auto w =
      read(std::string(kTarget) +
           "load:\n  stages: [{duration: 2s, connections: 4}, {duration: 2s, connections: 8}]\n"
           "rebalance: true\n");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message, HasSubstr("rebalance"));
  EXPECT_THAT(w.error().message, HasSubstr("not supported"));
  // Constant connections and open-loop stages are fine.
  EXPECT_TRUE(read(std::string(kTarget) + "load: {connections: 8}\nrebalance: true\n").ok());
  EXPECT_TRUE(read(std::string(kTarget) +
                   "load:\n  stages: [{duration: 2s, rate: 100}, {duration: 2s, rate: 200}]\n"
                   "rebalance: true\n")
                  .ok());
}

}  // namespace rebalance_yaml_test
}  // namespace horde
