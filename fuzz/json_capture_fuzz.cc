// libFuzzer target for the flow's JSON captures: a JSON Pointer (the input up
// to its first newline) parsed as the workload loader does, and, when it
// parses, captured from a body (the rest) as the agent does. Any input must
// give a pointer or an error, and a status, never a crash or hang; and the
// scanner must agree with nlohmann on what is JSON: a body nlohmann accepts is
// never kNotJson here, and one the scanner reads is JSON to nlohmann when it is
// UTF-8 (the scanner copies bytes in strings without checking UTF-8). nlohmann ends its
// input at a NUL byte ("10\0x" is 10 to it, not JSON to RFC 8259), so bodies
// with one are left out of that comparison.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "agent/json_capture.h"
#include "common/json_pointer.h"

namespace {

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  if (nl == std::string_view::npos) {
    (void)horde::JsonPointer::parse(input);
    return 0;
  }
  auto pointer = horde::JsonPointer::parse(input.substr(0, nl));
  if (!pointer.ok()) {
    if (pointer.error().message.empty()) std::abort();  // an error says what is wrong
    return 0;
  }
  const std::string_view body = input.substr(nl + 1);
  static horde::CaptureBuffer out(64);  // small: kTooLong is reached too
  const horde::CaptureStatus s = horde::capture_json(*pointer, body.data(), body.size(), out);
  if (out.size() > out.capacity()) std::abort();
  if (s != horde::CaptureStatus::kOk && out.size() != 0) std::abort();
  if (body.find('\0') != std::string_view::npos) return 0;
  // nlohmann's verdict: JSON, not JSON, or JSON with a number no double holds (1e999: an
  // out_of_range error of nlohmann's, valid RFC 8259 text).
  enum { kJson, kNotJson, kOverflow } verdict = kJson;
  try {
    (void)nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::out_of_range&) {
    verdict = kOverflow;
  } catch (const nlohmann::json::exception&) {
    verdict = kNotJson;
  }
  if (s == horde::CaptureStatus::kNotJson && verdict == kJson) std::abort();
  // And what the scanner reads as JSON, nlohmann does too when its bytes are UTF-8.
  const bool read = s == horde::CaptureStatus::kOk || s == horde::CaptureStatus::kNoSuchValue ||
                    s == horde::CaptureStatus::kTooLong;
  if (read && verdict == kNotJson && valid_utf8(body)) std::abort();
  return 0;
}
