// Regression for fuzz/response_parser_fuzz.cc's first find: http-parser takes
// "HTTP/1.1 5 OK" as status 5, which the controller rejects in a report (and
// drops the agent). The agent's parser must call it a protocol error instead.
#include <gtest/gtest.h>

#include <string>

#include "agent/response_parser.h"

namespace horde {
namespace response_status_test {

TEST(ResponseStatus, StatusBelow100IsAProtocolError) {
  ResponseParser p;
  const std::string bad = "HTTP/1.1 5 03 Busy\r\nContent-Length: 0\r\n\r\n";
  const auto step = p.feed(bad.data(), bad.size());
  EXPECT_TRUE(step.error);
  EXPECT_FALSE(step.complete);
}

TEST(ResponseStatus, ThreeDigitStatusesStillParse) {
  ResponseParser p;
  const std::string ok = "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n";
  const auto step = p.feed(ok.data(), ok.size());
  EXPECT_TRUE(step.complete);
  EXPECT_EQ(step.status, 599);
}

}  // namespace response_status_test
}  // namespace horde
