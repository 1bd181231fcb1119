// horde against a real third-party server: Debian's nginx, started by the test
// on a free loopback port with its own config. nginx's access log is the truth
// the agents' counts are checked against.
#include "tests/integration/nginx.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace horde::testing {
namespace nginx_test {

TEST(Nginx, AgentCountsMatchNginxAccessLog) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx-light is not installed";
  const auto dir = temp_dir("nginx");
  Nginx nginx(dir);
  ASSERT_EQ(http_get(nginx.port(), "/"), "ok\n") << read_file(dir / "error.log");
  const std::string target = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/load";
  auto f = run_horde({"run", "--target", target, "-c", "8", "-d", "2s", "--local-agents", "2",
                      "--threads", "1", "--out", (dir / "out").string(), "--no-live"});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const uint64_t requests = summary["totals"]["requests"];
  const uint64_t logged = nginx.logged();
  EXPECT_GT(requests, 100u);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  EXPECT_LE(requests, logged);
  EXPECT_GE(requests + 8, logged);
  EXPECT_EQ(summary["agents"].size(), 2u);
}

}  // namespace nginx_test
}  // namespace horde::testing
