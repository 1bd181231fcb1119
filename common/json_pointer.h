// A JSON Pointer (RFC 6901) as a flow's `capture: {json: /a/b}` names it:
// parsed and checked once when the workload is loaded, into its reference
// tokens with `~1` and `~0` already turned back into '/' and '~'. The agent's
// capture (agent/json_capture.h) walks a response body with the tokens; how a
// token is read (an object member's name, or an array index) depends on the
// value it meets there, so both readings are kept: `index` is the token as an
// array index when it is one (RFC 6901 section 4: "0" or digits without a
// leading zero), else kNotAnIndex ("-", the element after the last one, is
// never an index here: it names no value to capture).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace horde {

// Bounds at load: a pointer is at most this long and this deep (deeper bodies
// are still read: agent/json_capture.h has its own nesting bound).
inline constexpr size_t kMaxJsonPointerBytes = 1024;
inline constexpr size_t kMaxJsonPointerTokens = 32;

class JsonPointer {
 public:
  static constexpr uint64_t kNotAnIndex = UINT64_MAX;
  struct Token {
    std::string name;  // unescaped
    uint64_t index = kNotAnIndex;
    bool operator==(const Token&) const = default;
  };

  // `text` is "" (the whole body) or "/" followed by tokens separated by '/'.
  // The error says what is wrong and how to write it, without a field path
  // (the caller prefixes the field, e.g. "flows[0].steps[1].capture.token.json").
  static Result<JsonPointer> parse(std::string_view text);

  const std::string& text() const { return text_; }
  const std::vector<Token>& tokens() const { return tokens_; }
  bool operator==(const JsonPointer&) const = default;

 private:
  std::string text_;
  std::vector<Token> tokens_;
};

}  // namespace horde
