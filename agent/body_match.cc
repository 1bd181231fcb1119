#include "agent/body_match.h"

#include <algorithm>

namespace horde {

Needle::Needle(std::string_view text) : text_(text), fail_(text.size(), 0) {
  size_t k = 0;
  for (size_t i = 1; i < text_.size(); ++i) {
    while (k > 0 && text_[i] != text_[k]) k = fail_[k - 1];
    if (text_[i] == text_[k]) ++k;
    fail_[i] = static_cast<uint16_t>(k);
  }
}

void BodyMatch::feed(const char* data, size_t len) {
  if (found_ || len == 0) return;
  const std::string_view t = needle_->text_;
  const std::vector<uint16_t>& fail = needle_->fail_;
  // Knuth-Morris-Pratt from `m` matched bytes over data[from, len): the bytes
  // matched at the end, or t.size() at the first whole match.
  const auto step = [&](size_t m, size_t from, size_t to, size_t* at) {
    size_t i = from;
    for (; i < to; ++i) {
      while (m > 0 && data[i] != t[m]) m = fail[m - 1];
      if (data[i] == t[m]) ++m;
      if (m == t.size()) break;
      if (m == 0 && at != nullptr) break;  // the partial match is gone
    }
    if (at != nullptr) *at = i + (i < to ? 1 : 0);
    return m;
  };
  size_t i = 0;
  size_t m = matched_;
  if (m > 0) {
    // A match begun in an earlier piece: follow it until it ends or fails.
    m = step(m, 0, len, &i);
    if (m == t.size()) {
      found_ = true;
      return;
    }
    if (m > 0) {  // the whole piece continued it
      matched_ = m;
      return;
    }
  }
  // Nothing pending from before data + i: a whole match lies in the rest, or
  // the longest prefix of the needle the piece ends with starts in its last
  // t.size() - 1 bytes.
  if (std::string_view(data + i, len - i).find(t) != std::string_view::npos) {
    found_ = true;
    return;
  }
  const size_t tail = std::max(i, len - std::min(len, t.size() - 1));
  matched_ = step(0, tail, len, nullptr);
}

}  // namespace horde
