// The parser's fast path for plain responses must agree with http-parser on
// every input it takes. Feeding a response byte by byte never takes the fast
// path (one byte is never a whole response), so it is the reference; reading
// the same bytes whole may take it. Both must report the same responses, the
// same errors and the same byte counts, on plain responses and on thousands of
// corrupted variants of them.
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "agent/response_parser.h"

namespace horde {
namespace response_parser_plain_test {

struct Outcome {
  std::vector<uint16_t> statuses;
  std::vector<bool> keep_alive;
  std::vector<size_t> ends;  // offset just past each complete response
  bool error = false;
  bool operator==(const Outcome&) const = default;
};

// Stops at the first error. Goes on after a response that ends the connection
// (the engine would reconnect), so the state each path leaves is compared too.
Outcome parse(const std::string& text, size_t chunk, bool head = false) {
  ResponseParser parser;
  parser.expect_head(head);
  Outcome out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t stop = std::min(text.size(), (at / chunk + 1) * chunk);
    const auto step = parser.feed(text.data() + at, stop - at);
    if (step.error) {
      out.error = true;
      return out;
    }
    at += step.consumed;
    if (!step.complete) {
      if (step.consumed == 0 && at < stop) return out;  // paused without progress
      at = stop;
      continue;
    }
    out.statuses.push_back(step.status);
    out.keep_alive.push_back(step.keep_alive);
    out.ends.push_back(at);
  }
  return out;
}

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{statuses " << ::testing::PrintToString(o.statuses) << " keep_alive "
      << ::testing::PrintToString(o.keep_alive) << " ends " << ::testing::PrintToString(o.ends)
      << (o.error ? " error}" : "}");
}

void expect_same(const std::string& text, bool head = false) {
  const Outcome reference = parse(text, 1, head);
  const Outcome whole = parse(text, text.size() + 1, head);
  EXPECT_EQ(whole, reference) << "input: " << ::testing::PrintToString(text);
}

const std::vector<std::string>& plain_responses() {
  static const std::vector<std::string> all = {
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 01:00:00 GMT\r\n"
      "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
      "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
      "HTTP/1.1 503 \r\nCONTENT-LENGTH:  5 \r\nconnection: Close\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcHTTP/1.1 201 Created\r\n"
      "Content-Length: 1\r\n\r\nx",
      "HTTP/1.1 200 OK\r\nContent-Length:\t7 \r\nConnection: keep-alive \r\n\r\n1234567",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
      "Connection: close\r\n\r\nyHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
  };
  return all;
}

TEST(ResponseParserPlain, PlainResponsesMatchHttpParser) {
  for (const std::string& text : plain_responses()) expect_same(text);
  // The first one really is read whole: one step, the whole response.
  ResponseParser parser;
  const std::string& first = plain_responses()[0];
  const auto step = parser.feed(first.data(), first.size());
  EXPECT_TRUE(step.complete);
  EXPECT_EQ(step.consumed, first.size());
  EXPECT_EQ(step.status, 200);
  EXPECT_TRUE(step.keep_alive);
}

TEST(ResponseParserPlain, ResponsesTheFastPathLeavesToHttpParser) {
  const std::vector<std::string> unusual = {
      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
      "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
      "HTTP/1.1 200 OK\r\nContent-Length: 2 3\r\n\r\nokk",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: \xff\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/1.1 200 OK\r\n\r\nclose-delimited",
      "HTTP/1.1 5 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
  };
  for (const std::string& text : unusual) expect_same(text);
  expect_same("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", /*head=*/true);
}

TEST(ResponseParserPlain, CorruptedResponsesMatchHttpParser) {
  // Bytes that matter to either parser, and a few that do not.
  const std::string alphabet = std::string("\r\n :\t0123456789HTP/.,-cCkK\x7f\xff") + '\0';
  std::mt19937 rng(42);
  for (const std::string& base : plain_responses()) {
    for (int round = 0; round < 3000; ++round) {
      std::string text = base;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % text.size();
        const char ch = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            text[at] = ch;
            break;
          case 1:
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), ch);
            break;
          default:
            text.erase(at, 1);
            break;
        }
      }
      expect_same(text);
      if (HasFailure()) return;
    }
  }
}

}  // namespace response_parser_plain_test
}  // namespace horde
