// Target URLs: parsed once at the edge into host, port and path so the load
// engine never re-parses text. http:// and https://.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace horde {

// For "expected ..." parts of error messages.
inline constexpr const char* kUrlForm = "http[s]://host[:port][/path]";

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // IPv6 without brackets ("::1")
  uint16_t port = 0;
  std::string path = "/";  // path plus query, always starting with '/'
  std::string text;        // as given
  bool operator==(const Url&) const = default;
};
// Accepts http[s]://host[:port][/path]; other schemes get an error naming them.
// Port defaults to 80 (http) or 443 (https); a path starting with '?' gets a leading '/'; a
// #fragment is dropped; user:password@ is rejected.
Result<Url> parse_url(const std::string& text);

}  // namespace horde
