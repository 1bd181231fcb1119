#include "agent/limits.h"

#include <gtest/gtest.h>

namespace horde {
namespace limits_test {

TargetAllowList allow(const std::string& text) {
  auto a = TargetAllowList::parse(text);
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  return a ? *a : TargetAllowList{};
}

IpAddress ip(const std::string& text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

TEST(IpAddress, ParsesBothFamiliesAndFoldsMappedV4) {
  EXPECT_FALSE(ip("10.1.2.3").v6);
  EXPECT_TRUE(ip("fd00::1").v6);
  EXPECT_EQ(ip("[::1]"), ip("::1"));
  EXPECT_EQ(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
  EXPECT_EQ(ip("::ffff:10.1.2.3").to_string(), "10.1.2.3");
  EXPECT_FALSE(IpAddress::parse("10.1.2"));
  EXPECT_FALSE(IpAddress::parse("example.internal"));
}

TEST(TargetAllowList, Ipv4Networks) {
  const auto a = allow("127.0.0.0/8, 10.20.0.0/16,192.168.1.7");
  EXPECT_TRUE(a.allows_address(ip("127.0.0.1")));
  EXPECT_TRUE(a.allows_address(ip("127.255.255.255")));
  EXPECT_FALSE(a.allows_address(ip("128.0.0.1")));
  EXPECT_TRUE(a.allows_address(ip("10.20.255.1")));
  EXPECT_FALSE(a.allows_address(ip("10.21.0.1")));
  EXPECT_TRUE(a.allows_address(ip("192.168.1.7")));  // a bare address is a /32
  EXPECT_FALSE(a.allows_address(ip("192.168.1.8")));
  EXPECT_TRUE(a.allows_address(ip("::ffff:127.0.0.1")));  // mapped: no way around the list
  EXPECT_FALSE(a.allows_address(ip("::1")));
}

TEST(TargetAllowList, PrefixesNotOnAByteBoundary) {
  const auto a = allow("172.16.0.0/12,fd00::/7");
  EXPECT_TRUE(a.allows_address(ip("172.31.255.255")));
  EXPECT_FALSE(a.allows_address(ip("172.32.0.0")));
  EXPECT_FALSE(a.allows_address(ip("172.15.255.255")));
  EXPECT_TRUE(a.allows_address(ip("fc00::1")));
  EXPECT_TRUE(a.allows_address(ip("fdff:ffff::1")));
  EXPECT_FALSE(a.allows_address(ip("fe00::1")));
}

TEST(TargetAllowList, Ipv6Networks) {
  const auto a = allow("2001:db8:1::/48,::1");
  EXPECT_TRUE(a.allows_address(ip("2001:db8:1:ffff::5")));
  EXPECT_FALSE(a.allows_address(ip("2001:db8:2::5")));
  EXPECT_TRUE(a.allows_address(ip("::1")));
  EXPECT_FALSE(a.allows_address(ip("::2")));
  EXPECT_FALSE(a.allows_address(ip("127.0.0.1")));
}

TEST(TargetAllowList, ZeroPrefixMatchesItsWholeFamily) {
  const auto a = allow("0.0.0.0/0");
  EXPECT_TRUE(a.allows_address(ip("8.8.8.8")));
  EXPECT_FALSE(a.allows_address(ip("2001:db8::1")));
}

TEST(TargetAllowList, NamesMatchWholeAndCaseInsensitive) {
  const auto a = allow("example.internal,API.test.");
  EXPECT_TRUE(a.allows_name("example.internal"));
  EXPECT_TRUE(a.allows_name("EXAMPLE.internal."));
  EXPECT_TRUE(a.allows_name("api.test"));
  EXPECT_FALSE(a.allows_name("evil.example.internal"));
  EXPECT_FALSE(a.allows_name("example.internal.evil"));
  EXPECT_FALSE(a.allows_address(ip("127.0.0.1")));
}

TEST(TargetAllowList, RejectsMalformedEntries) {
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host/8", "bad name", "a@b", ",,"}) {
    EXPECT_FALSE(TargetAllowList::parse(bad)) << bad;
  }
  EXPECT_TRUE(TargetAllowList::parse("").value().empty());
}

WorkloadSlice slice_for(const std::string& url) {
  WorkloadSlice s;
  s.targets.push_back(parse_url(url).value());
  s.load.connections = 4;
  return s;
}

Result<std::vector<IpAddress>> fake_dns(const std::string& host) {
  if (host == "inside.test") return std::vector<IpAddress>{ip("10.1.1.1"), ip("fd00::1")};
  if (host == "split.test") return std::vector<IpAddress>{ip("10.1.1.1"), ip("8.8.8.8")};
  if (auto literal = IpAddress::parse(host)) return std::vector<IpAddress>{*literal};
  return Error{"cannot resolve " + host};
}

TEST(CheckLimits, EveryResolvedAddressMustBeAllowed) {
  AgentLimits l;
  l.allow = allow("10.0.0.0/8,fd00::/8,named.test");
  EXPECT_FALSE(check_limits(l, slice_for("http://inside.test/"), fake_dns));
  EXPECT_FALSE(check_limits(l, slice_for("http://named.test/"), fake_dns));  // listed by name
  EXPECT_FALSE(check_limits(l, slice_for("http://[fd00::5]:8080/"), fake_dns));
  auto split = check_limits(l, slice_for("http://split.test/"), fake_dns);
  ASSERT_TRUE(split);
  EXPECT_NE(split->find("8.8.8.8"), std::string::npos) << *split;
  auto local = check_limits(l, slice_for("http://127.0.0.1:9/"), fake_dns);
  ASSERT_TRUE(local);
  EXPECT_NE(local->find("--allow-target"), std::string::npos) << *local;
  EXPECT_TRUE(check_limits(l, slice_for("http://nowhere.test/"), fake_dns));  // unresolvable
  WorkloadSlice two = slice_for("http://inside.test/");
  two.targets.push_back(parse_url("http://127.0.0.1/").value());
  EXPECT_TRUE(check_limits(l, two, fake_dns));  // one bad target refuses the assignment
}

TEST(CheckLimits, PinsTheCheckedAddressForTheEngine) {
  AgentLimits l;
  l.allow = allow("10.0.0.0/8,fd00::/8,named.test");
  std::map<std::string, std::vector<IpAddress>> pinned;
  WorkloadSlice s = slice_for("http://inside.test/");
  s.targets.push_back(parse_url("http://named.test/").value());
  EXPECT_FALSE(check_limits(l, s, fake_dns, &pinned));
  // inside.test was allowed by its addresses: the engine must dial those checked
  // and no others; named.test was allowed by name, so it may resolve freely.
  ASSERT_EQ(pinned.size(), 1u);
  EXPECT_EQ(pinned.at("inside.test"), fake_dns("inside.test").value());
}

TEST(CheckLimits, Connections) {
  AgentLimits l;
  l.max_connections = 4;
  WorkloadSlice s = slice_for("http://127.0.0.1/");
  EXPECT_FALSE(check_limits(l, s, fake_dns));
  s.load.connections = 5;
  auto why = check_limits(l, s, fake_dns);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("5 connections"), std::string::npos) << *why;
  s.load.connections = 2;
  s.load.max_connections = 8;  // open-loop growth counts too
  EXPECT_TRUE(check_limits(l, s, fake_dns));
  s.load.max_connections = 0;
  s.load.stages.push_back(Stage{std::chrono::milliseconds(1000), 0, 6});
  EXPECT_TRUE(check_limits(l, s, fake_dns));
}

TEST(CheckLimits, RateAndClosedLoop) {
  AgentLimits l;
  l.max_rate = 100;
  WorkloadSlice s = slice_for("http://127.0.0.1/");
  EXPECT_TRUE(check_limits(l, s, fake_dns));  // closed loop: unbounded rate
  s.load.mode = LoadMode::kOpen;
  s.load.rate = 100;
  EXPECT_FALSE(check_limits(l, s, fake_dns));
  s.load.rate = 100.5;
  EXPECT_TRUE(check_limits(l, s, fake_dns));
  s.load.rate = 50;
  s.load.stages.push_back(Stage{std::chrono::milliseconds(1000), 150, 0});
  EXPECT_TRUE(check_limits(l, s, fake_dns));
}

TEST(CheckLimits, NoLimitsAllowAnything) {
  EXPECT_FALSE(check_limits(AgentLimits{}, slice_for("http://nowhere.test/"), fake_dns));
}

}  // namespace limits_test
}  // namespace horde
