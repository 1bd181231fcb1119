// Incremental HTTP/1.1 response parser for one connection, a thin wrapper over
// http-parser (the C library nginx and Node grew up on). It stops after every
// complete response so the engine can account for it before looking at further
// bytes, and it understands content-length, chunked and close-delimited bodies,
// responses split over any number of reads and several responses in one read.
// No allocation: it keeps only the status code of the response being parsed.
// A response that arrives whole in one read and is plainly formed (HTTP/1.1,
// Content-Length, keep-alive, printable header bytes, nothing else http-parser
// treats specially) takes a fast path: one table-driven pass over its head.
// Anything else goes to http-parser from its first byte, so both agree on every
// input the fast path takes and http-parser alone judges the rest.
#pragma once

#include <http_parser.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/body_match.h"

namespace horde {

class ResponseParser {
 public:
  struct Step {
    size_t consumed = 0;      // bytes of the input used by this step
    bool complete = false;    // a whole response ended within `consumed`
    bool error = false;       // malformed input (HPE_*); the connection is unusable
    uint16_t status = 0;      // of the complete response
    bool keep_alive = false;  // of the complete response: the connection may be reused
  };

  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Starts over, for a new connection.
  void reset();
  // The next response answers a HEAD request: it has no body whatever its headers say.
  void expect_head(bool head) { head_ = head; }
  // The next response's body goes to `match` (expect.body_contains; reset by
  // the caller), or is skipped unread when null (the default, and no cost).
  // Bodies are fed decoded: chunk framing is not part of them.
  void expect_body(BodyMatch* match) {
    body_ = match;
    settings_.on_body = match == nullptr ? nullptr : &ResponseParser::on_body;
  }
  // Keep the value of the header `lower_name` (lower case; it must outlive the
  // parser) of every response: header_value() after a complete step. Empty:
  // no header is kept (the default, and no cost).
  void watch_header(std::string_view lower_name);
  // The watched header's value in the last complete response (trimmed, at most
  // kMaxValue bytes); empty when it had none.
  // (http-parser hands a value without its leading white space; the trailing
  // is dropped here, since a value may arrive in pieces.)
  std::string_view header_value() const {
    size_t n = value_len_;
    while (n > 0 && (value_[n - 1] == ' ' || value_[n - 1] == '\t')) --n;
    return {value_.data(), n};
  }
  static constexpr size_t kMaxValue = 128;
  // Parses from `data` until the end of one response or of the input. Call again
  // with the rest of the input after a complete response.
  Step feed(const char* data, size_t len);
  // The peer closed the connection: completes a close-delimited body, else an
  // error if a response had begun. Without a response in progress, nothing happens.
  Step feed_eof();
  // Some bytes of a response have arrived but not all of it.
  bool in_response() const { return in_response_; }
  const char* error_name() const;

 private:
  // The fast path: true with `step` filled when `data` begins with a whole plain
  // response; false (nothing consumed) to let http-parser read it.
  bool feed_plain(const char* data, size_t len, Step& step);
  static int on_message_begin(http_parser* p);
  static int on_headers_complete(http_parser* p);
  static int on_message_complete(http_parser* p);
  static int on_header_field(http_parser* p, const char* at, size_t n);
  static int on_header_value(http_parser* p, const char* at, size_t n);
  static int on_body(http_parser* p, const char* at, size_t n);
  void keep_value(const char* b, const char* e);

  http_parser parser_;
  http_parser_settings settings_;
  bool head_ = false;
  BodyMatch* body_ = nullptr;
  bool in_response_ = false;
  bool complete_ = false;
  // The watched header: its name, how much of the current field name matched
  // it so far (field names may arrive in pieces), and its value.
  std::string_view watch_;
  size_t name_matched_ = 0;
  bool name_ok_ = false;
  bool in_value_ = true;
  bool capturing_ = false;
  std::array<char, kMaxValue> value_{};
  size_t value_len_ = 0;
};

}  // namespace horde
