// A target that never answered (issue #17 item 1), judged from merged counts,
// and the summary's last plain line with the share that failed.
#include "controller/reachability.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

namespace horde {
namespace reachability_test {

using testing::free_port;  // nothing listens on it

Url url(uint16_t port) {
  Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  return u;
}

TEST(Reachability, APhaseWithoutAnyResponseNamesTheTargetAndWhy) {
  PhaseResult p;
  p.counters.requests = 30;
  p.counters.errors = 30;
  p.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 30;
  const uint16_t port = free_port();
  auto why = unreachable_reason({p}, {url(port), url(port)});
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "target unreachable: 127.0.0.1:" + std::to_string(port) + ": connection refused");
}

TEST(Reachability, OneResponseOrNoRequestsIsNotUnreachable) {
  PhaseResult answered;
  answered.counters.requests = 30;
  answered.counters.errors = 29;
  answered.counters.status_codes[503] = 1;
  EXPECT_FALSE(unreachable_reason({answered}, {url(free_port())}));
  PhaseResult idle;  // no traffic at all (e.g. every agent refused): another failure
  EXPECT_FALSE(unreachable_reason({idle}, {url(free_port())}));
}

TEST(Reachability, ProbeOfAListeningPortConnects) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  EXPECT_EQ(probe_connect(url(ntohs(a.sin_port))), "");
  ::close(fd);
}

TEST(Reachability, FailedShareLine) {
  Counters c;
  EXPECT_EQ(failed_share_line(c), "");
  c.requests = 400;
  c.errors = 10;
  c.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 4;
  c.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)] = 6;
  EXPECT_EQ(failed_share_line(c), "10 of 400 requests (2.5%) failed: connect=4 http_5xx=6\n");
}

}  // namespace reachability_test
}  // namespace horde
