// RFC 6901 JSON Pointers as the workload loads them: tokens unescaped (~1
// before ~0, as the RFC orders it), array-index readings, and the errors for
// what is no pointer.
#include "common/json_pointer.h"

#include <gtest/gtest.h>

#include <string>

namespace horde {
namespace json_pointer_test {

using Token = JsonPointer::Token;

std::vector<Token> tokens(std::string_view text) {
  auto p = JsonPointer::parse(text);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? p->tokens() : std::vector<Token>{};
}

std::string error(std::string_view text) {
  auto p = JsonPointer::parse(text);
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? "" : p.error().message;
}

TEST(JsonPointer, TokensAreUnescapedAndIndexesRead) {
  EXPECT_TRUE(tokens("").empty());  // the whole document
  EXPECT_EQ(tokens("/token"), (std::vector<Token>{{"token"}}));
  EXPECT_EQ(tokens("/items/0/id"), (std::vector<Token>{{"items"}, {"0", 0}, {"id"}}));
  // RFC 6901 section 3's examples: "~01" is "~1", not "/".
  EXPECT_EQ(tokens("/a~1b"), (std::vector<Token>{{"a/b"}}));
  EXPECT_EQ(tokens("/m~0n"), (std::vector<Token>{{"m~n"}}));
  EXPECT_EQ(tokens("/~01"), (std::vector<Token>{{"~1"}}));
  EXPECT_EQ(tokens("/"), (std::vector<Token>{{""}}));  // the member named ""
  EXPECT_EQ(tokens("//"), (std::vector<Token>{{""}, {""}}));
  EXPECT_EQ(tokens("/ "), (std::vector<Token>{{" "}}));
  // Indexes: no leading zero, no sign, "-" names no element.
  EXPECT_EQ(tokens("/10")[0].index, 10u);
  EXPECT_EQ(tokens("/01")[0].index, JsonPointer::kNotAnIndex);
  EXPECT_EQ(tokens("/-")[0].index, JsonPointer::kNotAnIndex);
  EXPECT_EQ(tokens("/+1")[0].index, JsonPointer::kNotAnIndex);
  EXPECT_EQ(tokens("/18446744073709551615")[0].index, JsonPointer::kNotAnIndex);
  EXPECT_EQ(tokens("/1234567890123456789")[0].index, 1234567890123456789u);
  EXPECT_EQ(JsonPointer::parse("/a~1b/0")->text(), "/a~1b/0");
}

TEST(JsonPointer, WhatIsNoPointerIsAnErrorThatSaysHowToWriteIt) {
  EXPECT_NE(error("token").find("starts with '/'"), std::string::npos);
  EXPECT_NE(error("#/token").find("starts with '/'"), std::string::npos);
  EXPECT_NE(error("/a~2").find("'~' at byte 2 not followed by 0 or 1"), std::string::npos);
  EXPECT_NE(error("/a~").find("write ~0 for '~' and ~1 for '/'"), std::string::npos);
  EXPECT_NE(error("/a~/b").find("'~' at byte 2"), std::string::npos);
  EXPECT_NE(error("/" + std::string(1024, 'a')).find("longer than 1024"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "/a";
  EXPECT_NE(error(deep).find("more than 32 reference tokens"), std::string::npos);
  deep.resize(64);  // 32 tokens: the bound itself is fine
  EXPECT_EQ(tokens(deep).size(), 32u);
}

}  // namespace json_pointer_test
}  // namespace horde
