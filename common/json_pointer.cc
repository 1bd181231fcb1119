#include "common/json_pointer.h"

#include <algorithm>
#include <string>

namespace horde {

namespace {

// RFC 6901 section 4: an array index is "0" or a digit 1-9 followed by digits;
// one too large for 64 bits indexes no array a response could hold.
uint64_t as_index(std::string_view token) {
  if (token.empty() || token.size() > 19) return JsonPointer::kNotAnIndex;
  if (token.size() > 1 && token[0] == '0') return JsonPointer::kNotAnIndex;
  uint64_t n = 0;
  for (char ch : token) {
    if (ch < '0' || ch > '9') return JsonPointer::kNotAnIndex;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  return n;
}

}  // namespace

Result<JsonPointer> JsonPointer::parse(std::string_view text) {
  if (text.size() > kMaxJsonPointerBytes) {
    return Error{"a JSON Pointer of " + std::to_string(text.size()) + " bytes is longer than " +
                 std::to_string(kMaxJsonPointerBytes)};
  }
  if (!text.empty() && text[0] != '/') {
    return Error{"\"" + std::string(text) +
                 "\" is no JSON Pointer (RFC 6901): it starts with '/', as in /token or "
                 "/items/0/id (\"\" is the whole body)"};
  }
  JsonPointer p;
  p.text_ = std::string(text);
  size_t at = 0;
  while (at < text.size()) {
    ++at;  // the '/'
    const size_t end = std::min(text.find('/', at), text.size());
    if (p.tokens_.size() == kMaxJsonPointerTokens) {
      return Error{"the JSON Pointer \"" + std::string(text) + "\" has more than " +
                   std::to_string(kMaxJsonPointerTokens) + " reference tokens"};
    }
    Token t;
    for (size_t i = at; i < end; ++i) {
      if (text[i] != '~') {
        t.name += text[i];
        continue;
      }
      const char next = i + 1 < end ? text[i + 1] : '\0';
      if (next != '0' && next != '1') {
        return Error{"the JSON Pointer \"" + std::string(text) + "\" has a '~' at byte " +
                     std::to_string(i) +
                     " not followed by 0 or 1: write ~0 for '~' and ~1 for '/' (RFC 6901)"};
      }
      t.name += next == '0' ? '~' : '/';
      ++i;
    }
    t.index = as_index(std::string_view(text).substr(at, end - at));
    p.tokens_.push_back(std::move(t));
    at = end;
  }
  return p;
}

}  // namespace horde
