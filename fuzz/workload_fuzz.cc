// libFuzzer target for the workload loader: parse_workload takes YAML or JSON
// from a user's file, and finalize_workload the result. Any input must come
// back as a workload or a clear error, never a crash, hang or exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/text.h"
#include "common/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // workload files are small; keep iterations fast
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto w = horde::parse_workload(text, "fuzz.yaml");
  if (!w) return 0;
  auto f = horde::finalize_workload(std::move(*w), "fuzz.yaml");
  // The workload is written the way summary.json and `horde validate` write it:
  // through the JSON writer that replaces invalid UTF-8 instead of throwing.
  if (f) (void)horde::text::dump_json(horde::to_json(*f));
  return 0;
}
