// libFuzzer target for the Prometheus text exposition reader
// (controller/exposition.h), which reads what an `observe:` source's /metrics
// endpoint sends: any bytes parse or fail with a message, never crash; what
// parses keeps its promises (labels sorted with unique names), and a counter
// rate over it is never negative.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "controller/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto samples = horde::parse_exposition(text);
  if (!samples) {
    if (samples.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& s : *samples) {
    if (s.name.empty()) std::abort();
    for (size_t i = 1; i < s.labels.size(); ++i) {
      if (!(s.labels[i - 1].first < s.labels[i].first)) std::abort();
    }
  }
  if (!samples->empty()) {
    horde::CounterRate rate({samples->front().name, {}});
    (void)rate.add(*samples, 0);
    auto r = rate.add(*samples, 1);
    if (r && *r < 0) std::abort();
  }
  return 0;
}
