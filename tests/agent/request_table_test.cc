#include "agent/request_table.h"

#include <gtest/gtest.h>

namespace horde {
namespace request_table_test {

Url url(const std::string& host, uint16_t port, const std::string& path) {
  Url u;
  u.scheme = "http";
  u.host = host;
  u.port = port;
  u.path = path;
  return u;
}

TEST(SerializeRequest, GetUsesTargetPathAndHost) {
  RequestSpec spec;
  spec.headers = {{"Accept", "*/*"}};
  EXPECT_EQ(serialize_request(url("example.com", 8080, "/api?x=1"), spec),
            "GET /api?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(serialize_request(url("example.com", 80, "/"), spec),
            "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
}

TEST(SerializeRequest, BodyAndContentLength) {
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/items";
  spec.body = "{\"a\":1}";
  EXPECT_EQ(serialize_request(url("10.0.0.1", 9000, "/"), spec),
            "POST /items HTTP/1.1\r\nHost: 10.0.0.1:9000\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  RequestSpec empty_put;
  empty_put.method = "PUT";
  EXPECT_EQ(serialize_request(url("h", 80, "/x"), empty_put),
            "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeRequest, UserHostHeaderWins) {
  RequestSpec spec;
  spec.headers = {{"host", "virtual.example"}};
  EXPECT_EQ(serialize_request(url("127.0.0.1", 8080, "/"), spec),
            "GET / HTTP/1.1\r\nhost: virtual.example\r\n\r\n");
}

TEST(SerializeRequest, Ipv6HostIsBracketed) {
  EXPECT_EQ(serialize_request(url("::1", 8080, "/"), RequestSpec{}),
            "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
}

TEST(RequestTable, PicksByWeight) {
  RequestSpec a, b, c;
  a.path = "/a";
  a.weight = 3;
  b.path = "/b";
  b.weight = 1;
  c.path = "/never";
  c.weight = 0;
  RequestTable table(url("h", 80, "/"), {a, c, b});
  FastRandom rng(42);
  int counts[3] = {0, 0, 0};
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const auto& e = table.pick(rng);
    for (int k = 0; k < 3; ++k) counts[k] += &e == &table.entries()[k] ? 1 : 0;
  }
  EXPECT_NEAR(counts[0] / double(kDraws), 0.75, 0.01);
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[2] / double(kDraws), 0.25, 0.01);
}

TEST(RequestTable, HeadIsMarked) {
  RequestSpec head;
  head.method = "HEAD";
  RequestTable table(url("h", 80, "/"), {head});
  FastRandom rng(1);
  EXPECT_TRUE(table.pick(rng).head);
}

}  // namespace request_table_test
}  // namespace horde
