// libFuzzer target for the agent's HTTP/1.1 response parser: the bytes a
// hostile or broken server may send. The input is fed in pieces whose sizes come
// from the first byte, so responses split across reads are covered, then EOF.
// Checks the parser's own contract: it never consumes more than it was given
// and always makes progress unless it reports an error. Bodies go to an
// expect.body_contains match (a needle from the input); and the streamed match
// itself must agree with a plain search of the same bytes cut into pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = (data[0] % 64) + 1;
  const bool head = data[0] & 0x80;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  {
    // The streamed match against std::string_view::find over the whole input.
    const size_t n = 1 + (data[0] & 0x7) % (left > 0 ? left : 1);
    if (left > n) {
      const std::string_view needle(p, n);
      const std::string_view body(p + n, left - n);
      const horde::Needle want(needle);
      horde::BodyMatch m;
      m.reset(&want);
      for (size_t at = 0; at < body.size(); at += chunk) {
        m.feed(body.data() + at, std::min(chunk, body.size() - at));
      }
      if (m.found() != (body.find(needle) != std::string_view::npos)) std::abort();
    }
  }
  const horde::Needle needle("\r\n0");
  horde::BodyMatch body;
  body.reset(&needle);
  horde::ResponseParser parser;
  parser.expect_head(head);
  parser.expect_body(&body);
  while (left > 0) {
    size_t piece = left < chunk ? left : chunk;
    while (piece > 0) {
      const horde::ResponseParser::Step step = parser.feed(p, piece);
      if (step.consumed > piece) std::abort();
      if (step.error) return 0;  // the connection would be closed
      if (step.complete && (step.status < 100 || step.status > 999)) std::abort();
      if (step.consumed == 0 && !step.complete) std::abort();  // no progress
      p += step.consumed;
      left -= step.consumed;
      piece -= step.consumed;
      if (step.complete) {
        parser.expect_head(head);
        body.reset(&needle);
      }
    }
  }
  (void)parser.feed_eof();
  (void)parser.error_name();
  return 0;
}
