// expect.body_contains: the streamed match against a plain search of the
// whole body, for every way of cutting the body into pieces, and the
// response parser feeding it bodies (fast path, chunked, split reads).
#include "agent/body_match.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "agent/response_parser.h"

namespace horde {
namespace body_match_test {

bool streamed(const std::string& needle, const std::vector<std::string>& pieces) {
  const Needle n(needle);
  BodyMatch m;
  m.reset(&n);
  for (const std::string& p : pieces) m.feed(p.data(), p.size());
  return m.found();
}

// Every cut into two pieces, and byte by byte, agrees with std::string::find.
void agrees_at_every_split(const std::string& needle, const std::string& body) {
  const bool want = body.find(needle) != std::string::npos;
  EXPECT_EQ(streamed(needle, {body}), want) << needle << " in " << body;
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    EXPECT_EQ(streamed(needle, {body.substr(0, cut), body.substr(cut)}), want)
        << needle << " in " << body << " cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (const char c : body) bytes.emplace_back(1, c);
  EXPECT_EQ(streamed(needle, bytes), want) << needle << " in " << body << " byte by byte";
}

TEST(BodyMatch, FindsTheTextWhereverThePiecesAreCut) {
  agrees_at_every_split("ok", "ok");
  agrees_at_every_split("ok", "{\"status\": \"ok\"}");
  agrees_at_every_split("ok", "o k");
  agrees_at_every_split("\"ok\"", "\"o\"ok\"");
  // Self-overlapping needles: a partial match that fails must fall back to the
  // longest prefix it still ends with, not to nothing.
  agrees_at_every_split("aab", "aaab");
  agrees_at_every_split("abab", "ababab");
  agrees_at_every_split("abac", "ababac");
  agrees_at_every_split("aaaa", "aaabaaa");
  agrees_at_every_split("aaaa", "aaabaaaa");
  agrees_at_every_split("x", "");
  agrees_at_every_split("needle", "no needl");
}

TEST(BodyMatch, RandomBodiesOverASmallAlphabetAgreeWithFind) {
  std::mt19937 rng(7);
  const auto word = [&](size_t max) {
    std::string s(1 + rng() % max, 'a');
    for (char& c : s) c = static_cast<char>('a' + rng() % 3);
    return s;
  };
  for (int i = 0; i < 2000; ++i) {
    const std::string needle = word(6);
    const std::string body = word(40);
    const bool want = body.find(needle) != std::string::npos;
    // Random cuts into up to 5 pieces.
    std::vector<std::string> pieces;
    size_t at = 0;
    while (at < body.size()) {
      const size_t n = 1 + rng() % (body.size() - at);
      pieces.push_back(body.substr(at, n));
      at += n;
    }
    EXPECT_EQ(streamed(needle, pieces), want) << needle << " in " << body;
  }
}

TEST(BodyMatch, NoNeedleIsFoundAtOnceAndResetStartsOver) {
  BodyMatch m;
  m.reset(nullptr);
  EXPECT_TRUE(m.found());
  const Needle n("ok");
  m.reset(&n);
  EXPECT_FALSE(m.found());
  m.feed("o", 1);
  m.reset(&n);  // a new body: the "o" of the last one does not count
  m.feed("k", 1);
  EXPECT_FALSE(m.found());
  m.feed("ok", 2);
  EXPECT_TRUE(m.found());
}

// What the parser feeds the match, response by response.
std::vector<bool> parsed(const std::string& needle, const std::vector<std::string>& reads) {
  const Needle n(needle);
  BodyMatch m;
  ResponseParser parser;
  std::vector<bool> found;
  m.reset(&n);
  parser.expect_body(&m);
  for (const std::string& chunk : reads) {
    const char* data = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      const auto step = parser.feed(data, left);
      EXPECT_FALSE(step.error);
      if (step.error) return found;
      data += step.consumed;
      left -= step.consumed;
      if (!step.complete) break;
      found.push_back(m.found());
      m.reset(&n);
    }
  }
  return found;
}

TEST(BodyMatch, TheParserFeedsWholeAndSplitBodies) {
  const std::string good = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"state\": \"up\"}";
  const std::string bad = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"state\": \"down\"}";
  // The fast path (whole in one read), two in one read, and every split.
  EXPECT_EQ(parsed("\"up\"", {good}), std::vector<bool>{true});
  EXPECT_EQ(parsed("\"up\"", {bad}), std::vector<bool>{false});
  EXPECT_EQ(parsed("\"up\"", {good + bad + good}), (std::vector<bool>{true, false, true}));
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_EQ(parsed("\"up\"", {good.substr(0, cut), good.substr(cut)}), std::vector<bool>{true})
        << "cut at " << cut;
  }
  // The header block is not the body: a needle only in a header is not found.
  EXPECT_EQ(parsed("OK", {good}), std::vector<bool>{false});
}

TEST(BodyMatch, ChunkedBodiesAreMatchedWithoutTheirFraming) {
  // "status: up" split over chunks "stat" and "us: up"; the chunk sizes
  // between them are not part of the body.
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n6\r\nus: up\r\n0\r\n\r\n";
  for (size_t cut = 1; cut < chunked.size(); ++cut) {
    EXPECT_EQ(parsed("status: up", {chunked.substr(0, cut), chunked.substr(cut)}),
              std::vector<bool>{true})
        << "cut at " << cut;
  }
  EXPECT_EQ(parsed("stat\r\n6", {chunked}), std::vector<bool>{false});
}

}  // namespace body_match_test
}  // namespace horde
