// A target that is down (issue #17 item 1): `horde run` against a port with
// nothing listening used to exit 0 with `errors: connect=30` and no warning.
// Now the run failed: exit 3, "target unreachable: HOST:PORT: connection refused".
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace unreachable_test {

TEST(Unreachable, ADeadTargetFailsTheRunNamingItAndWhy) {
  const auto dir = temp_dir("unreachable");
  const uint16_t port = free_port();  // nothing listens there
  const std::string where = "127.0.0.1:" + std::to_string(port);
  auto f = run_horde({"run", "--target", "http://" + where + "/", "-c", "2", "-d", "2s",
                      "--local-agents", "1", "--threads", "1", "--no-live", "--out",
                      (dir / "out").string()});
  EXPECT_EQ(f.code, 3) << f.out;
  const std::string expected = "target unreachable: " + where + ": connection refused";
  EXPECT_NE(f.out.find("run aborted: " + expected), std::string::npos) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_TRUE(summary["aborted"].get<bool>());
  EXPECT_EQ(summary["abort_reason"].get<std::string>(), expected);
  EXPECT_GT(summary["totals"]["errors_by_class"]["connect"].get<uint64_t>(), 0u);
  EXPECT_EQ(summary["exit_code"].get<int>(), 3);
}

TEST(Unreachable, ACapacitySearchAgainstADeadTargetSaysTheTargetIsDown) {
  // Issue 17: the search used to bisect toward 0 rps over a dead port, warn
  // "raise load.max_connections or load.connections" and report capacity 0.
  const auto dir = temp_dir("unreachable-capacity");
  const uint16_t port = free_port();  // nothing listens there
  const std::string where = "127.0.0.1:" + std::to_string(port);
  write_file(dir / "w.yaml", "target: http://" + where +
                                 "/\n"
                                 "load: {connections: 2, max_connections: 4}\n"
                                 "capacity:\n"
                                 "  slo: [\"p99 < 100ms\"]\n"
                                 "  start_rate: 200\n"
                                 "  hold: 1s\n");
  auto f = run_horde_merged({"run", (dir / "w.yaml").string(), "--local-agents", "1", "--threads",
                             "1", "--no-live", "--out", (dir / "out").string()});
  EXPECT_EQ(f.code, 3) << f.out;
  EXPECT_EQ(f.out.find("max_connections"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("capacity: unknown - the target answered no request at 200 rps"),
            std::string::npos)
      << f.out;
  EXPECT_NE(f.out.find("run aborted: target unreachable: " + where + ": connection refused"),
            std::string::npos)
      << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["capacity"].size(), 1u);
  EXPECT_TRUE(summary["capacity"][0]["target_unreachable"].get<bool>());
  EXPECT_EQ(summary["capacity"][0]["steps"].get<int>(), 1);
  EXPECT_EQ(summary["phases"].size(), 1u);
}

}  // namespace unreachable_test
}  // namespace horde::testing
