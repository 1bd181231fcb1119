// libFuzzer target for the agent's HTTP/1.1 response parser: the bytes a
// hostile or broken server may send. The input is fed in pieces whose sizes come
// from the first byte, so responses split across reads are covered, then EOF.
// Checks the parser's own contract: it never consumes more than it was given
// and always makes progress unless it reports an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "agent/response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = (data[0] % 64) + 1;
  const bool head = data[0] & 0x80;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  horde::ResponseParser parser;
  parser.expect_head(head);
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
      if (step.complete) parser.expect_head(head);
    }
  }
  (void)parser.feed_eof();
  (void)parser.error_name();
  return 0;
}
