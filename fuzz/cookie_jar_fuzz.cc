// libFuzzer target for the flow's cookie jar and header capture: the input's
// first line is a request path, every later line a Set-Cookie value set into
// one jar (bounded to 4 cookies and 256 bytes, so kFull and kTooLong are
// reached), each followed by the Cookie header for the path; the whole input
// is also read as a response head for capture_header, and every line as a
// cookie-date. Checks the jar's contract: at most its bound of cookies, and a
// Cookie header that never carries a CR, LF or other control byte but a tab
// (it goes out in a request).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/cookie_jar.h"
#include "agent/header_capture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static horde::CookieJar jar(4, 256);
  static horde::CaptureBuffer value(64);
  static char header[512];
  jar.clear();
  const auto now = horde::CookieJar::Clock::time_point(std::chrono::seconds(1'796'241'600));
  size_t at = input.find('\n');
  const std::string_view path = input.substr(0, at);
  while (at != std::string_view::npos && at < input.size()) {
    const size_t from = at + 1;
    at = input.find('\n', from);
    const std::string_view line =
        input.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from);
    int64_t seconds = 0;
    (void)horde::parse_cookie_date(line, &seconds);
    (void)jar.set_cookie(line, path, now);
    if (jar.size() > 4) std::abort();
    size_t n = 0;
    if (jar.cookie_header(path, header, sizeof header, &n, now)) {
      if (n > sizeof header) std::abort();
      for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(header[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7F) std::abort();
      }
    }
  }
  const horde::CaptureStatus s = horde::capture_header(input, path, value);
  if (s != horde::CaptureStatus::kOk && value.size() != 0) std::abort();
  return 0;
}
