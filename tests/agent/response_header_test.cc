// backend.header: the parser keeps the watched header's value, on the fast
// path and through http-parser, whole or split over reads at any byte.
#include <gtest/gtest.h>

#include <string>

#include "agent/response_parser.h"

namespace horde {
namespace response_header_test {

// Feeds `text` in pieces of `piece` bytes; the value after the complete response.
std::string value_after(const std::string& text, size_t piece, const char* watch = "x-served-by") {
  ResponseParser p;
  p.watch_header(watch);
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min(piece, text.size() - at);
    const ResponseParser::Step s = p.feed(text.data() + at, n);
    EXPECT_FALSE(s.error);
    at += s.consumed;
    if (s.complete) return std::string(p.header_value());
    if (s.consumed == 0) break;
  }
  return "<incomplete>";
}

TEST(ResponseHeader, FastPathAndSplitReadsAgree) {
  const std::string plain =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By:  pod-a  \r\nServer: t\r\n\r\nok";
  EXPECT_EQ(value_after(plain, plain.size()), "pod-a");  // one read: the fast path
  for (size_t piece = 1; piece < 12; ++piece) {
    EXPECT_EQ(value_after(plain, piece), "pod-a") << piece;  // split: http-parser
  }
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nx-served-by: pod-b\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
      "\r\n";
  EXPECT_EQ(value_after(chunked, chunked.size()), "pod-b");
  const std::string none = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Served: no\r\n\r\n";
  EXPECT_EQ(value_after(none, none.size()), "");
  EXPECT_EQ(value_after(none, 3), "");
}

TEST(ResponseHeader, EachResponseHasItsOwnValue) {
  ResponseParser p;
  p.watch_header("x-served-by");
  const std::string a = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Served-By: a\r\n\r\n";
  const std::string b = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const std::string both = a + b;
  auto s = p.feed(both.data(), both.size());
  ASSERT_TRUE(s.complete);
  EXPECT_EQ(p.header_value(), "a");
  s = p.feed(both.data() + s.consumed, both.size() - s.consumed);
  ASSERT_TRUE(s.complete);
  EXPECT_EQ(p.header_value(), "");
}

TEST(ResponseHeader, UnwatchedParserKeepsNothing) {
  ResponseParser p;
  const std::string a = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Served-By: a\r\n\r\n";
  ASSERT_TRUE(p.feed(a.data(), a.size()).complete);
  EXPECT_EQ(p.header_value(), "");
}

TEST(ResponseHeader, LongValuesAreCut) {
  const std::string v(500, 'v');
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Served-By: " + v + "\r\n\r\n";
  EXPECT_EQ(value_after(r, r.size()).size(), ResponseParser::kMaxValue);
  EXPECT_EQ(value_after(r, 7).size(), ResponseParser::kMaxValue);
}

}  // namespace response_header_test
}  // namespace horde
