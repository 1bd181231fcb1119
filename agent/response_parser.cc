#include "agent/response_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace horde {

namespace {

// Header name bytes (RFC 9110 tchar).
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Reason phrase and field value bytes the fast path takes: visible ASCII,
// space and tab. obs-text and control bytes are left to http-parser.
constexpr std::array<bool, 256> kText = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}();

// `s` (of length n) equals `lower` ignoring ASCII case.
bool iequals(const char* s, size_t n, std::string_view lower) {
  if (n != lower.size()) return false;
  for (size_t i = 0; i < n; ++i) {
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

// Text bytes from `p` up to CR LF: the position of the CR, or nullptr when a
// byte is not text, CR is not followed by LF, or the input ends first.
const char* text_to_crlf(const char* p, const char* end) {
  while (p < end && kText[static_cast<unsigned char>(*p)]) ++p;
  if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return nullptr;
  return p;
}

// Drops what http-parser skips around a value: spaces and tabs before it,
// spaces after it (it rejects a tab after a Content-Length).
void trim(const char*& b, const char*& e) {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && e[-1] == ' ') --e;
}

}  // namespace

ResponseParser::ResponseParser() {
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &ResponseParser::on_message_begin;
  settings_.on_headers_complete = &ResponseParser::on_headers_complete;
  settings_.on_message_complete = &ResponseParser::on_message_complete;
  reset();
}

void ResponseParser::reset() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  in_response_ = false;
  complete_ = false;
}

int ResponseParser::on_message_begin(http_parser* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  self->in_response_ = true;
  self->value_len_ = 0;
  self->in_value_ = true;  // the first field name starts a new header
  self->capturing_ = false;
  return 0;
}

void ResponseParser::watch_header(std::string_view lower_name) {
  watch_ = lower_name;
  settings_.on_header_field = watch_.empty() ? nullptr : &ResponseParser::on_header_field;
  settings_.on_header_value = watch_.empty() ? nullptr : &ResponseParser::on_header_value;
}

int ResponseParser::on_header_field(http_parser* p, const char* at, size_t n) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (self->in_value_) {  // a new field name begins
    self->in_value_ = false;
    self->name_matched_ = 0;
    self->name_ok_ = true;
  }
  if (!self->name_ok_) return 0;
  const std::string_view want = self->watch_;
  if (self->name_matched_ + n > want.size() ||
      !iequals(at, n, want.substr(self->name_matched_, n))) {
    self->name_ok_ = false;
    return 0;
  }
  self->name_matched_ += n;
  return 0;
}

int ResponseParser::on_header_value(http_parser* p, const char* at, size_t n) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (!self->in_value_) {  // the first piece of this field's value
    self->in_value_ = true;
    self->capturing_ = self->name_ok_ && self->name_matched_ == self->watch_.size();
    if (self->capturing_) self->value_len_ = 0;
  }
  if (!self->capturing_) return 0;
  const size_t room = self->value_.size() - self->value_len_;
  const size_t take = std::min(room, n);
  std::memcpy(self->value_.data() + self->value_len_, at, take);
  self->value_len_ += take;
  return 0;
}

int ResponseParser::on_body(http_parser* p, const char* at, size_t n) {
  static_cast<ResponseParser*>(p->data)->body_->feed(at, n);
  return 0;
}

void ResponseParser::keep_value(const char* b, const char* e) {
  trim(b, e);
  while (e > b && e[-1] == '\t') --e;
  value_len_ = std::min(static_cast<size_t>(e - b), value_.size());
  std::memcpy(value_.data(), b, value_len_);
}

int ResponseParser::on_headers_complete(http_parser* p) {
  // http-parser takes any 1-3 digit status ("HTTP/1.1 5 OK"). Codes outside
  // 100..999 would make the agent's report invalid at the controller (which drops
  // the agent), so such a response is a protocol error here. Found by fuzz/.
  if (p->status_code < 100) return -1;
  // Returning 1 tells http-parser the response has no body (answer to HEAD).
  return static_cast<ResponseParser*>(p->data)->head_ ? 1 : 0;
}

int ResponseParser::on_message_complete(http_parser* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  self->complete_ = true;
  self->in_response_ = false;
  // Pausing makes http_parser_execute return right after this response, so a
  // second (pipelined or unexpected) response is seen by a separate feed().
  http_parser_pause(p, 1);
  return 0;
}

// http-parser walks a state machine byte by byte and compares every header name
// with the ones it knows: on a keep-alive benchmark that was a third of the
// engine's user-space time per request. Plain responses need far less.
bool ResponseParser::feed_plain(const char* data, size_t len, Step& step) {
  const char* p = data;
  const char* const end = data + len;
  // "HTTP/1.1 NNN " with a final status that may carry a body (no 1xx, 204,
  // 304); the answer to HEAD has none whatever its headers say.
  if (head_ || len < 19 || std::memcmp(p, "HTTP/1.1 ", 9) != 0) return false;
  p += 9;
  if (p[0] < '2' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
      p[3] != ' ') {
    return false;
  }
  const auto status = static_cast<uint16_t>((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
  if (status == 204 || status == 304) return false;
  p = text_to_crlf(p + 4, end);
  if (p == nullptr) return false;
  p += 2;
  bool have_length = false;
  uint64_t length = 0;
  value_len_ = 0;
  for (;;) {
    if (end - p < 2) return false;
    if (p[0] == '\r') {
      if (p[1] != '\n') return false;
      p += 2;
      break;  // the blank line: end of the head
    }
    const char* name = p;
    while (p < end && kToken[static_cast<unsigned char>(*p)]) ++p;
    if (p == name || p == end || *p != ':') return false;
    const size_t name_len = static_cast<size_t>(p - name);
    const char* value = p + 1;
    const char* value_end = text_to_crlf(value, end);
    if (value_end == nullptr) return false;
    p = value_end + 2;
    if (!watch_.empty() && iequals(name, name_len, watch_)) keep_value(value, value_end);
    // Only these names change how the response is framed or whether the
    // connection lives on; the first letter keeps the common case to one compare.
    switch (name[0] | 0x20) {
      case 'c':
        if (iequals(name, name_len, "content-length")) {
          if (have_length) return false;  // duplicates are http-parser's call
          trim(value, value_end);
          if (value == value_end || value_end - value > 15) return false;
          for (const char* d = value; d < value_end; ++d) {
            if (*d < '0' || *d > '9') return false;
            length = length * 10 + static_cast<uint64_t>(*d - '0');
          }
          have_length = true;
        } else if (iequals(name, name_len, "connection")) {
          trim(value, value_end);
          const auto n = static_cast<size_t>(value_end - value);
          // After "close" http-parser refuses further bytes until reset; left
          // to it, so its state after any fast-path response is exactly the
          // state it would have reached itself. A closing connection is rare.
          if (!iequals(value, n, "keep-alive")) return false;
        }
        break;
      case 't':
        if (iequals(name, name_len, "transfer-encoding")) return false;
        break;
      case 'u':
        if (iequals(name, name_len, "upgrade")) return false;
        break;
      case 'p':
        if (iequals(name, name_len, "proxy-connection")) return false;
        break;
      default:
        break;
    }
  }
  // Without Content-Length the body is chunked or close-delimited; a body not
  // wholly in this read continues in the next: both are http-parser's.
  if (!have_length || length > static_cast<uint64_t>(end - p)) return false;
  if (body_ != nullptr) body_->feed(p, static_cast<size_t>(length));
  step.consumed = static_cast<size_t>(p - data) + static_cast<size_t>(length);
  step.complete = true;
  step.status = status;
  step.keep_alive = true;
  return true;
}

ResponseParser::Step ResponseParser::feed(const char* data, size_t len) {
  Step step;
  // Between responses http-parser waits at the start of the next one, so a
  // response the fast path takes leaves it exactly where it would have been.
  if (!in_response_ && feed_plain(data, len, step)) return step;
  complete_ = false;
  step.consumed = http_parser_execute(&parser_, &settings_, data, len);
  const auto err = HTTP_PARSER_ERRNO(&parser_);
  if (complete_) {
    step.complete = true;
    step.status = static_cast<uint16_t>(parser_.status_code);
    step.keep_alive = http_should_keep_alive(&parser_) != 0;
    if (err == HPE_PAUSED) http_parser_pause(&parser_, 0);
    complete_ = false;
    return step;
  }
  if (err != HPE_OK) step.error = true;
  return step;
}

ResponseParser::Step ResponseParser::feed_eof() {
  if (!in_response_) return Step{};
  Step step = feed(nullptr, 0);
  step.consumed = 0;
  if (!step.complete) step.error = true;
  // A close-delimited body ends the connection: nothing can follow.
  step.keep_alive = false;
  return step;
}

const char* ResponseParser::error_name() const {
  return http_errno_name(HTTP_PARSER_ERRNO(&parser_));
}

}  // namespace horde
