// capture: {json: ...}: values by type, nesting, arrays, ~0 ~1, duplicate
// names, the 4 KiB bound, bodies that are not JSON and bodies too deep; every
// failure leaves the buffer empty.
#include "agent/json_capture.h"

#include <gtest/gtest.h>

#include <string>

namespace horde {
namespace json_capture_test {

// The captured value, or "<status>" when the capture failed.
std::string cap(std::string_view pointer, std::string_view body, size_t capacity = kMaxCapture) {
  auto p = JsonPointer::parse(pointer);
  EXPECT_TRUE(p.ok()) << pointer;
  CaptureBuffer out(capacity);
  out.assign("stale");
  const CaptureStatus s = capture_json(*p, body.data(), body.size(), out);
  if (s != CaptureStatus::kOk) {
    EXPECT_EQ(out.size(), 0u) << "a failure leaves nothing behind";
    return std::string("<") + capture_status_name(s) + ">";
  }
  return std::string(out.view());
}

TEST(JsonCapture, ValuesByType) {
  const std::string body =
      R"({"token": "abc.def", "n": -1.5e3, "zero": 0, "t": true, "f": false, "none": null,)"
      R"( "obj": {"a": [1, {"b": 2}] }, "arr": [ ], "empty": ""})";
  EXPECT_EQ(cap("/token", body), "abc.def");
  EXPECT_EQ(cap("/n", body), "-1.5e3");  // as written
  EXPECT_EQ(cap("/zero", body), "0");
  EXPECT_EQ(cap("/t", body), "true");
  EXPECT_EQ(cap("/f", body), "false");
  EXPECT_EQ(cap("/none", body), "null");
  EXPECT_EQ(cap("/empty", body), "");
  // Objects and arrays: their text, byte for byte.
  EXPECT_EQ(cap("/obj", body), R"({"a": [1, {"b": 2}] })");
  EXPECT_EQ(cap("/arr", body), "[ ]");
  EXPECT_EQ(cap("", "  [1, 2]\n"), "[1, 2]");  // the whole body, without surrounding space
  EXPECT_EQ(cap("", "\"s\""), "s");
  EXPECT_EQ(cap("", "7"), "7");
}

TEST(JsonCapture, NestedObjectsAndArrayIndexes) {
  const std::string body =
      R"({"user": {"id": 7, "roles": ["a", "b", {"name": "admin"}]}, "items": [[10, 11], [20]]})";
  EXPECT_EQ(cap("/user/id", body), "7");
  EXPECT_EQ(cap("/user/roles/0", body), "a");
  EXPECT_EQ(cap("/user/roles/1", body), "b");
  EXPECT_EQ(cap("/user/roles/2/name", body), "admin");
  EXPECT_EQ(cap("/items/0/1", body), "11");
  EXPECT_EQ(cap("/items/1/0", body), "20");
  // What names nothing: past the end, "-", a leading zero, a key on an array,
  // a token into a scalar, a missing member.
  EXPECT_EQ(cap("/user/roles/3", body), "<no_such_value>");
  EXPECT_EQ(cap("/user/roles/-", body), "<no_such_value>");
  EXPECT_EQ(cap("/items/01", body), "<no_such_value>");
  EXPECT_EQ(cap("/user/roles/name", body), "<no_such_value>");
  EXPECT_EQ(cap("/user/id/x", body), "<no_such_value>");
  EXPECT_EQ(cap("/nobody", body), "<no_such_value>");
  EXPECT_EQ(cap("/User/id", body), "<no_such_value>");  // names are case-sensitive
  // A token of digits is a member name on an object.
  EXPECT_EQ(cap("/0", R"({"0": "zero", "1": "one"})"), "zero");
  EXPECT_EQ(cap("/1", R"({"0": "zero", "1": "one"})"), "one");
}

TEST(JsonCapture, TildeEscapesAndEscapedNames) {
  const std::string body = R"({"a/b": 1, "m~n": 2, "~1": 3, "": 4, " ": 5, "\u0061\/c": 6})";
  EXPECT_EQ(cap("/a~1b", body), "1");
  EXPECT_EQ(cap("/m~0n", body), "2");
  EXPECT_EQ(cap("/~01", body), "3");
  EXPECT_EQ(cap("/", body), "4");
  EXPECT_EQ(cap("/ ", body), "5");
  EXPECT_EQ(cap("/a~1c", body), "6");  // a name written with escapes is compared unescaped
}

TEST(JsonCapture, StringsAreUnescapedToUtf8) {
  EXPECT_EQ(cap("/s", R"({"s": "a\"b\\c\/d\b\f\n\r\t"})"), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(cap("/s", R"({"s": "\u00e9\u20AC"})"), "\xC3\xA9\xE2\x82\xAC");  // é €
  EXPECT_EQ(cap("/s", R"({"s": "\ud83d\ude00"})"), "\xF0\x9F\x98\x80");      // 😀, a pair
  EXPECT_EQ(cap("/s", R"({"s": "\u0000"})"), std::string(1, '\0'));
  EXPECT_EQ(cap("/s", "{\"s\": \"caf\xC3\xA9\"}"), "caf\xC3\xA9");  // raw UTF-8 kept
  // No UTF-8 for a lone surrogate; a control character must be escaped.
  EXPECT_EQ(cap("/s", R"({"s": "\ud83d"})"), "<not_json>");
  EXPECT_EQ(cap("/s", R"({"s": "\ud83dx"})"), "<not_json>");
  EXPECT_EQ(cap("/s", R"({"s": "\ude00"})"), "<not_json>");
  EXPECT_EQ(cap("/s", R"({"s": "\ud83d\u0041"})"), "<not_json>");
  EXPECT_EQ(cap("/s", "{\"s\": \"a\nb\"}"), "<not_json>");
  EXPECT_EQ(cap("/s", R"({"s": "\x"})"), "<not_json>");
  EXPECT_EQ(cap("/s", R"({"s": "\u12g4"})"), "<not_json>");
}

TEST(JsonCapture, TheFirstOfDuplicateNamesWins) {
  EXPECT_EQ(cap("/a", R"({"a": 1, "a": 2})"), "1");
  EXPECT_EQ(cap("/a/b", R"({"a": {"c": 0}, "a": {"b": 2}})"), "<no_such_value>");
  // The later duplicate is still read: a broken one makes the body not JSON.
  EXPECT_EQ(cap("/a", R"({"a": 1, "a": [})"), "<not_json>");
}

TEST(JsonCapture, ABodyThatIsNotJsonFailsWhereverTheValueIs) {
  EXPECT_EQ(cap("/token", ""), "<not_json>");
  EXPECT_EQ(cap("/token", "<html>502 Bad Gateway</html>"), "<not_json>");
  EXPECT_EQ(cap("/token", R"({"token": "abc")"), "<not_json>");            // cut short
  EXPECT_EQ(cap("/token", R"({"token": "abc"} trailing)"), "<not_json>");  // after the value
  EXPECT_EQ(cap("/token", R"({"token": "abc"}{})"), "<not_json>");
  EXPECT_EQ(cap("/token", R"({"token": "abc",})"), "<not_json>");
  EXPECT_EQ(cap("/token", R"({token: "abc"})"), "<not_json>");
  EXPECT_EQ(cap("/token", R"({'token': 'abc'})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": 01})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": 1.})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": .5})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": 1e})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": -})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": +1})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": tru})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": True})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a": NaN})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"({"a" 1})"), "<not_json>");
  EXPECT_EQ(cap("/a", R"([1 2])"), "<not_json>");
  EXPECT_EQ(cap("/a", std::string("{\"a\": 1}\0", 9)), "<not_json>");
  // Valid numbers.
  EXPECT_EQ(cap("/a", R"({"a": 1E+2})"), "1E+2");
  EXPECT_EQ(cap("/a", R"({"a": -0.0e-0})"), "-0.0e-0");
}

TEST(JsonCapture, DepthIsBounded) {
  auto nested = [](size_t depth) {
    return std::string(depth, '[') + "1" + std::string(depth, ']');
  };
  EXPECT_EQ(cap("", nested(64)), nested(64));
  EXPECT_EQ(cap("/0", nested(65)), "<too_deep>");
  EXPECT_EQ(cap("/0", std::string(100'000, '[')), "<too_deep>");  // no stack overflow
  std::string pointer;
  for (int i = 0; i < 32; ++i) pointer += "/0";
  EXPECT_EQ(cap(pointer, nested(33)), "[1]");
}

TEST(JsonCapture, AValueLongerThanTheBufferFails) {
  const std::string fits(kMaxCapture, 'x');
  EXPECT_EQ(cap("/s", "{\"s\": \"" + fits + "\"}"), fits);
  EXPECT_EQ(cap("/s", "{\"s\": \"" + fits + "y\"}"), "<too_long>");
  // Escapes count as what they decode to: 4096 bytes written as \u0078.
  std::string escaped;
  for (size_t i = 0; i < kMaxCapture; ++i) escaped += "\\u0078";
  EXPECT_EQ(cap("/s", "{\"s\": \"" + escaped + "\"}"), fits);
  EXPECT_EQ(cap("/o", R"({"o": [1, 2, 3]})", 8), "<too_long>");
  EXPECT_EQ(cap("/o", R"({"o": [1, 2]})", 6), "[1, 2]");
  // Not JSON is said before too long.
  EXPECT_EQ(cap("/s", "{\"s\": \"" + fits + "y\""), "<not_json>");
}

}  // namespace json_capture_test
}  // namespace horde
