// A target that is down (issue #17 item 1): `horde run` against a port with
// nothing listening used to exit 0 with `errors: connect=30` and no warning.
// Now the run failed: exit 3, "target unreachable: HOST:PORT: connection refused".
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace {

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

}  // namespace
}  // namespace horde::testing
