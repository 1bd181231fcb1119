// UTF-8 hygiene for text from outside (issue #14 item 1): agent-supplied
// strings are cut on character boundaries, invalid bytes are replaced, and the
// one JSON writer never throws on any byte string.
#include "common/text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace horde::text {
namespace text_test {

TEST(Utf8, TruncateNeverCutsInsideACharacter) {
  std::string s = "a";
  for (int i = 0; i < 200; ++i) s += "\xc3\xa9";  // 'é', 401 bytes in all
  for (size_t max = 0; max <= s.size() + 1; ++max) {
    const std::string t = truncate_utf8(s, max);
    EXPECT_LE(t.size(), max);
    EXPECT_TRUE(valid_utf8(t)) << max;
    // Only the character the cut fell in is left out.
    EXPECT_GE(t.size() + 1, std::min(max, s.size())) << max;
  }
  EXPECT_EQ(truncate_utf8(s, 256).size(), 255u);
  const std::string rocket = "x\xf0\x9f\x9a\x80y";  // 4-byte character in the middle
  EXPECT_EQ(truncate_utf8(rocket, 2), "x");
  EXPECT_EQ(truncate_utf8(rocket, 4), "x");
  EXPECT_EQ(truncate_utf8(rocket, 5), "x\xf0\x9f\x9a\x80");
  EXPECT_EQ(truncate_utf8(rocket, 99), rocket);
  // Invalid input comes out valid, cut or not.
  EXPECT_EQ(truncate_utf8("ab\xff", 99), "ab\xef\xbf\xbd");
  EXPECT_EQ(truncate_utf8("ab\xff", 4), "ab");
}

TEST(Utf8, SanitizeReplacesEveryInvalidSequenceOnce) {
  EXPECT_EQ(sanitize_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(sanitize_utf8("a\xc3"), "a\xef\xbf\xbd");        // cut sequence
  EXPECT_EQ(sanitize_utf8("a\xffz"), "a\xef\xbf\xbdz");      // never valid
  EXPECT_EQ(sanitize_utf8("\xe2\x82z"), "\xef\xbf\xbdz");    // truncated 3-byte
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xc0\xaf!"), "\xef\xbf\xbd!");    // overlong
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_TRUE(valid_utf8(sanitize_utf8(one + "\xc3\xa9" + one))) << b;
  }
}

TEST(Utf8, DumpJsonNeverThrowsAndSaysWhenItReplaced) {
  nlohmann::json j = {{"host", std::string("a\xc3\xa9\xc3", 4)}, {"ok", "caf\xc3\xa9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what used to abort the controller
  bool replaced = false;
  std::string out;
  EXPECT_NO_THROW(out = dump_json(j, 2, &replaced));
  EXPECT_TRUE(replaced);
  auto back = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(back.is_discarded());
  EXPECT_EQ(back["host"], "a\xc3\xa9\xef\xbf\xbd");
  EXPECT_EQ(back["ok"], "caf\xc3\xa9");
  EXPECT_EQ(dump_json(nlohmann::json{{"ok", 1}}, -1, &replaced), "{\"ok\":1}");
  EXPECT_FALSE(replaced);
  // Every single byte, inside a key as well as a value.
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    nlohmann::json k = {{one, one}};
    EXPECT_NO_THROW((void)dump_json(k)) << b;
    EXPECT_FALSE(nlohmann::json::parse(dump_json(k), nullptr, false).is_discarded()) << b;
  }
}

}  // namespace text_test
}  // namespace horde::text
