// expect.body_contains: does a response body contain a string? The body
// arrives in pieces (reads, chunks, DATA frames) that may split the string
// anywhere, so the match is streamed: a `BodyMatch` per connection or stream
// carries how much of the string the bytes so far end with (Knuth-Morris-Pratt)
// from one piece to the next, and nothing of the body is kept. The `Needle`
// (the string and its failure table) is built once per request when the
// workload is loaded; matching allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace horde {

class Needle {
 public:
  // `text` is 1 to kMaxBodyContains (common/workload.h) bytes: checked by the workload's
  // validation.
  explicit Needle(std::string_view text);
  std::string_view text() const { return text_; }

 private:
  friend class BodyMatch;
  std::string text_;
  // fail_[i]: the length of the longest proper prefix of text_[0..i] that is
  // also its suffix.
  std::vector<uint16_t> fail_;
};

class BodyMatch {
 public:
  // A new body, to be searched for `needle` (null: nothing to find, found() is
  // true at once).
  void reset(const Needle* needle) {
    needle_ = needle;
    matched_ = 0;
    found_ = needle == nullptr;
  }
  // The next bytes of the body.
  void feed(const char* data, size_t len);
  bool found() const { return found_; }

 private:
  const Needle* needle_ = nullptr;
  size_t matched_ = 0;  // the body so far ends with this many bytes of the needle
  bool found_ = true;
};

}  // namespace horde
