#include "target/request_parser.h"

#include <charconv>

namespace horde::target {
namespace {

// RFC 9110 tchar: the characters of methods and header names.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != lower[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A request that starts with non-token bytes (TLS, binary junk) is refused at once instead of
// waiting for a blank line that will never come.
bool StartsLikeAMethod(std::string_view data) {
  for (char c : data) {
    if (c == ' ') return true;
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool ParseRequestLine(std::string_view line, RequestHead& head) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  head.method = line.substr(0, sp1);
  for (char c : head.method) {
    if (!IsTokenChar(c)) return false;
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  head.path = target.substr(0, target.find('?'));
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    head.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    head.version_minor = 0;
  } else {
    return false;
  }
  return true;
}

// Connection is a comma-separated token list; only close and keep-alive matter here.
void ApplyConnection(std::string_view value, bool& saw_close, bool& saw_keep_alive) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = Trim(value.substr(0, comma));
    if (EqualsIgnoreCase(token, "close")) saw_close = true;
    if (EqualsIgnoreCase(token, "keep-alive")) saw_keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

ParseStatus ParseRequestHead(std::string_view data, RequestHead& head) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (!StartsLikeAMethod(data)) return ParseStatus::kBad;
    return data.size() >= kMaxRequestHead ? ParseStatus::kTooLarge : ParseStatus::kIncomplete;
  }
  if (end + 4 > kMaxRequestHead) return ParseStatus::kTooLarge;
  head = RequestHead{};
  head.head_size = end + 4;
  std::string_view rest = data.substr(0, end + 2);  // every line keeps its CRLF

  size_t eol = rest.find("\r\n");
  if (!ParseRequestLine(rest.substr(0, eol), head)) return ParseStatus::kBad;
  rest.remove_prefix(eol + 2);

  bool saw_length = false;
  bool saw_close = false;
  bool saw_keep_alive = false;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseStatus::kBad;
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      // Also refuses obsolete line folding (a line starting with whitespace).
      if (!IsTokenChar(c)) return ParseStatus::kBad;
    }
    std::string_view value = Trim(line.substr(colon + 1));
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') return ParseStatus::kBad;
    }
    if (EqualsIgnoreCase(name, "content-length")) {
      uint64_t length = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return ParseStatus::kBad;
      }
      // Differing duplicates are a request-smuggling signature.
      if (saw_length && length != head.content_length) return ParseStatus::kBad;
      saw_length = true;
      head.content_length = length;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return ParseStatus::kLengthRequired;
    } else if (EqualsIgnoreCase(name, "connection")) {
      ApplyConnection(value, saw_close, saw_keep_alive);
    }
  }
  head.keep_alive = head.version_minor == 1 ? !saw_close : (saw_keep_alive && !saw_close);
  return ParseStatus::kOk;
}

}  // namespace horde::target
