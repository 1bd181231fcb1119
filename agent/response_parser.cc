#include "agent/response_parser.h"

namespace horde {

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
  static_cast<ResponseParser*>(p->data)->in_response_ = true;
  return 0;
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

ResponseParser::Step ResponseParser::feed(const char* data, size_t len) {
  Step step;
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
