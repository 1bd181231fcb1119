#include "agent/json_capture.h"

#include <cstdint>
#include <string>
#include <vector>

namespace horde {

namespace {

constexpr size_t kOffPath = SIZE_MAX;  // a value the pointer does not go through

class Scanner {
 public:
  Scanner(const std::vector<JsonPointer::Token>& tokens, const char* body, size_t n,
          CaptureBuffer& out)
      : tokens_(tokens), p_(body), end_(body + n), out_(out) {}

  CaptureStatus run() {
    out_.clear();
    skip_ws();
    const bool ok = value(0, 0) && (skip_ws(), p_ == end_);
    CaptureStatus s = CaptureStatus::kOk;
    if (!ok) {
      s = too_deep_ ? CaptureStatus::kTooDeep : CaptureStatus::kNotJson;
    } else if (!found_) {
      s = CaptureStatus::kNoSuchValue;
    } else if (too_long_) {
      s = CaptureStatus::kTooLong;
    }
    if (s != CaptureStatus::kOk) out_.clear();
    return s;
  }

 private:
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool eat(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // The value at p_. `token` is the index of the pointer's next token when this
  // value is on its path (tokens_.size(): this is the value to capture), else kOffPath.
  bool value(size_t depth, size_t token) {
    if (p_ == end_) return false;
    const bool target = token == tokens_.size();
    if (target) found_ = true;
    const char* start = p_;
    bool ok = false;
    switch (*p_) {
      case '{':
        ok = object(depth + 1, target ? kOffPath : token);
        break;
      case '[':
        ok = array(depth + 1, target ? kOffPath : token);
        break;
      case '"':
        if (target) return string([this](char c) { keep(c); });
        return string([](char) {});
      case 't':
        ok = literal("true");
        break;
      case 'f':
        ok = literal("false");
        break;
      case 'n':
        ok = literal("null");
        break;
      default:
        ok = number();
        break;
    }
    if (ok && target && !out_.append(start, static_cast<size_t>(p_ - start))) too_long_ = true;
    return ok;
  }

  bool object(size_t depth, size_t token) {
    if (depth > kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    ++p_;  // '{'
    skip_ws();
    if (eat('}')) return true;
    bool matched = false;  // a duplicate name: the first member wins
    for (;;) {
      bool same = false;
      if (token != kOffPath && !matched) {
        if (!name_is(tokens_[token].name, &same)) return false;
      } else if (p_ == end_ || *p_ != '"' || !string([](char) {})) {
        return false;
      }
      skip_ws();
      if (!eat(':')) return false;
      skip_ws();
      matched = matched || same;
      if (!value(depth, same ? token + 1 : kOffPath)) return false;
      skip_ws();
      if (eat('}')) return true;
      if (!eat(',')) return false;
      skip_ws();
    }
  }

  bool array(size_t depth, size_t token) {
    if (depth > kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    ++p_;  // '['
    skip_ws();
    if (eat(']')) return true;
    const uint64_t want = token != kOffPath ? tokens_[token].index : JsonPointer::kNotAnIndex;
    for (uint64_t i = 0;; ++i) {
      if (!value(depth, i == want ? token + 1 : kOffPath)) return false;
      skip_ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
      skip_ws();
    }
  }

  // A member name at p_, compared with `name` as it is unescaped.
  bool name_is(const std::string& name, bool* same) {
    if (p_ == end_ || *p_ != '"') return false;
    size_t at = 0;
    bool differs = false;
    const bool ok = string([&](char c) {
      if (at >= name.size() || name[at] != c) differs = true;
      ++at;
    });
    *same = ok && !differs && at == name.size();
    return ok;
  }

  // A string at p_ (its '"'), its unescaped bytes handed to `sink`.
  template <typename Sink>
  bool string(Sink sink) {
    ++p_;
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;  // a control character must be escaped
      if (c != '\\') {
        sink(static_cast<char>(c));
        continue;
      }
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"':
          sink('"');
          break;
        case '\\':
          sink('\\');
          break;
        case '/':
          sink('/');
          break;
        case 'b':
          sink('\b');
          break;
        case 'f':
          sink('\f');
          break;
        case 'n':
          sink('\n');
          break;
        case 'r':
          sink('\r');
          break;
        case 't':
          sink('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate alone
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!eat('\\') || !eat('u') || !hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8(cp, sink);
          break;
        }
        default:
          return false;
      }
    }
    return false;  // no closing quote
  }

  bool hex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }

  template <typename Sink>
  static void utf8(uint32_t cp, Sink& sink) {
    if (cp < 0x80) {
      sink(static_cast<char>(cp));
    } else if (cp < 0x800) {
      sink(static_cast<char>(0xC0 | (cp >> 6)));
      sink(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      sink(static_cast<char>(0xE0 | (cp >> 12)));
      sink(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      sink(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      sink(static_cast<char>(0xF0 | (cp >> 18)));
      sink(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      sink(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      sink(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  void keep(char c) {
    if (!too_long_ && !out_.push_back(c)) too_long_ = true;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  bool number() {
    eat('-');
    if (eat('0')) {
      // no more integer digits after a leading 0
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }
  bool digits() {
    const char* from = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > from;
  }

  const std::vector<JsonPointer::Token>& tokens_;
  const char* p_;
  const char* const end_;
  CaptureBuffer& out_;
  bool found_ = false;
  bool too_long_ = false;
  bool too_deep_ = false;
};

}  // namespace

CaptureStatus capture_json(const JsonPointer& pointer, const char* body, size_t n,
                           CaptureBuffer& out) {
  return Scanner(pointer.tokens(), body, n, out).run();
}

}  // namespace horde
