#include "agent/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace horde {
namespace response_parser_test {

struct Seen {
  std::vector<uint16_t> statuses;
  std::vector<bool> keep_alive;
  bool error = false;
};

// Feeds `chunks` in order as a connection would receive them, then EOF when asked.
Seen parse(const std::vector<std::string>& chunks, bool eof, bool head = false) {
  ResponseParser parser;
  parser.expect_head(head);
  Seen seen;
  for (const std::string& chunk : chunks) {
    const char* data = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      const auto step = parser.feed(data, left);
      if (step.error) {
        seen.error = true;
        return seen;
      }
      data += step.consumed;
      left -= step.consumed;
      if (!step.complete) break;
      seen.statuses.push_back(step.status);
      seen.keep_alive.push_back(step.keep_alive);
    }
  }
  if (eof) {
    const auto step = parser.feed_eof();
    if (step.error) seen.error = true;
    if (step.complete) {
      seen.statuses.push_back(step.status);
      seen.keep_alive.push_back(step.keep_alive);
    }
  }
  return seen;
}

// Every way of cutting `text` in two gives the same responses as reading it whole.
void expect_split_invariant(const std::string& text, bool eof,
                            const std::vector<uint16_t>& statuses) {
  const Seen whole = parse({text}, eof);
  ASSERT_FALSE(whole.error);
  EXPECT_EQ(whole.statuses, statuses);
  for (size_t cut = 1; cut < text.size(); ++cut) {
    const Seen split = parse({text.substr(0, cut), text.substr(cut)}, eof);
    EXPECT_FALSE(split.error) << "cut at " << cut;
    EXPECT_EQ(split.statuses, statuses) << "cut at " << cut;
  }
  // And byte by byte.
  std::vector<std::string> bytes;
  for (char ch : text) bytes.emplace_back(1, ch);
  const Seen single = parse(bytes, eof);
  EXPECT_FALSE(single.error);
  EXPECT_EQ(single.statuses, statuses);
}

TEST(ResponseParser, ContentLengthAtEverySplit) {
  expect_split_invariant("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", false,
                         {200});
}

TEST(ResponseParser, ChunkedAtEverySplit) {
  expect_split_invariant(
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
      false, {201});
}

TEST(ResponseParser, CloseDelimitedCompletesAtEof) {
  const std::string text = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
  expect_split_invariant(text, true, {200});
  const Seen no_eof = parse({text}, false);
  EXPECT_TRUE(no_eof.statuses.empty());  // the body is not over until the peer closes
  const Seen with_eof = parse({text}, true);
  ASSERT_EQ(with_eof.keep_alive.size(), 1u);
  EXPECT_FALSE(with_eof.keep_alive[0]);
}

TEST(ResponseParser, PipelinedResponsesInOneRead) {
  const std::string a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const std::string b = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  const std::string c = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
  expect_split_invariant(a + b + c, false, {200, 404, 503});

  ResponseParser parser;
  const std::string all = a + b;
  const auto first = parser.feed(all.data(), all.size());
  EXPECT_TRUE(first.complete);
  EXPECT_EQ(first.consumed, a.size());  // stops right after the first response
  EXPECT_TRUE(first.keep_alive);
  const auto second = parser.feed(all.data() + first.consumed, all.size() - first.consumed);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.status, 404);
  EXPECT_EQ(second.consumed, b.size());
}

TEST(ResponseParser, ConnectionCloseHeaderClearsKeepAlive) {
  const Seen seen =
      parse({"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"}, false);
  ASSERT_EQ(seen.statuses, std::vector<uint16_t>{200});
  EXPECT_FALSE(seen.keep_alive[0]);
}

TEST(ResponseParser, HeadResponseHasNoBody) {
  const Seen seen = parse({"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"}, false, true);
  EXPECT_EQ(seen.statuses, std::vector<uint16_t>{200});
}

TEST(ResponseParser, GarbageIsAnError) {
  EXPECT_TRUE(parse({"this is not http\r\n\r\n"}, false).error);
  EXPECT_TRUE(parse({"HTTP/1.1 abc OK\r\n\r\n"}, false).error);
}

TEST(ResponseParser, EofInsideABodyIsAnError) {
  const Seen seen = parse({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, true);
  EXPECT_TRUE(seen.error);
  EXPECT_TRUE(seen.statuses.empty());
}

TEST(ResponseParser, EofBetweenResponsesIsQuiet) {
  const Seen seen = parse({"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}, true);
  EXPECT_FALSE(seen.error);
  EXPECT_EQ(seen.statuses, std::vector<uint16_t>{200});
}

TEST(ResponseParser, ResetStartsOver) {
  ResponseParser parser;
  const std::string partial = "HTTP/1.1 200 OK\r\nContent-Le";
  parser.feed(partial.data(), partial.size());
  EXPECT_TRUE(parser.in_response());
  parser.reset();
  EXPECT_FALSE(parser.in_response());
  const std::string full = "HTTP/1.1 204 No Content\r\n\r\n";
  const auto step = parser.feed(full.data(), full.size());
  EXPECT_TRUE(step.complete);
  EXPECT_EQ(step.status, 204);
}

}  // namespace response_parser_test
}  // namespace horde
