// libFuzzer target for what the controller decodes from outside: an agent's
// Report (protobuf bytes -> from_wire, then the checks the merger relies on) and
// a latency.hlog line (decode_compressed_base64, for `horde report`). The first
// byte picks the decoder so one corpus drives both.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/wire.h"
#include "controller/hlog.h"
#include "horde/v1/session.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  ++data;
  --size;
  if (which & 1) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto h = horde::decode_compressed_base64(text);
    if (h) {
      // A decoded histogram must survive the round trip and answer queries.
      (void)h->value_at_percentile(99.9);
      auto again = horde::decode_compressed_base64(horde::encode_compressed_base64(*h));
      if (!again || again->total_count() != h->total_count()) std::abort();
    }
    return 0;
  }
  horde::v1::Report wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto r = horde::from_wire(wire);
  if (!r) return 0;
  if (r->latency.total_count() > r->counters.requests) std::abort();
  (void)r->latency.value_at_percentile(50);
  (void)r->latency.max();
  horde::v1::Report back;
  horde::to_wire(*r, wire.run_id(), &back);
  auto again = horde::from_wire(back);
  if (!again) std::abort();  // what we accepted we must be able to re-encode
  return 0;
}
