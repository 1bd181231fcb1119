// Text an agent sends back must never cost the results (issue #14 item 1): a
// refusal quoting a long non-ASCII target URL is cut by the controller to 512
// bytes; cut inside a UTF-8 character it used to make summary.json's writer
// throw, and the controller died of SIGABRT (exit 134) with no results at all.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace agent_text_test {

TEST(AgentText, RefusalQuotingALongUtf8UrlStillWritesTheResults) {
  const auto dir = temp_dir("agent-text");
  std::string url = "http://127.0.0.2:8080/x";
  for (int i = 0; i < 300; ++i) url += "\xc3\xa9";
  write_file(dir / "w.yaml", "target: \"" + url + "\"\nload: {connections: 1, duration: 1s}\n");
  auto [controller, address] = start_controller(
      dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "30s", "--out",
                       (dir / "out").string(), "--no-live", "--insecure-no-token"});
  ASSERT_FALSE(address.empty());
  Subprocess agent =
      start_horde({"agent", "--controller", address, "--once", "--name", "refuser", "--threads",
                   "1", "--insecure-no-token", "--allow-target", "127.0.0.1"});
  controller.read_all(in(std::chrono::seconds(40)));
  EXPECT_EQ(controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);  // refused
  agent.signal(SIGTERM);
  agent.wait_until(in(std::chrono::seconds(10)));

  const auto summary =
      nlohmann::json::parse(read_file(dir / "out" / "summary.json"), nullptr, false);
  ASSERT_FALSE(summary.is_discarded());
  ASSERT_EQ(summary["agents"].size(), 1u);
  const std::string why = summary["agents"][0].value("lost_reason", "");
  EXPECT_NE(why.find("refused: target http://127.0.0.2:8080/x\xc3\xa9"), std::string::npos) << why;
  EXPECT_LE(why.size(), 600u);  // still cut, on a character boundary
  EXPECT_NE(read_file(dir / "out" / "report.html").find("</html>"), std::string::npos);
}

}  // namespace agent_text_test
}  // namespace horde::testing
