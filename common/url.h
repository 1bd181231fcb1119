// Target URLs: parsed once at the edge into host, port and path so the load
// engine never re-parses text. http:// and https:// (HTTP/1.1, or HTTP/2 over
// TLS with `protocol: http2`), h2c:// (HTTP/2 cleartext), grpc:// and grpcs://.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace horde {

// For "expected ..." parts of error messages.
inline constexpr const char* kUrlForm = "http[s]://host[:port][/path]";

struct Url {
  std::string scheme;  // "http", "https", "h2c", "grpc" or "grpcs"
  std::string host;    // IPv6 without brackets ("::1")
  uint16_t port = 0;
  std::string path = "/";  // path plus query, always starting with '/'
  std::string text;        // as given
  bool operator==(const Url&) const = default;
};
// Accepts http[s]://host[:port][/path]; other schemes get an error naming them.
// Port defaults to default_port(scheme); a path starting with '?' gets a leading '/'; a
// #fragment is dropped; user:password@ is rejected.
Result<Url> parse_url(const std::string& text);
// https and grpcs.
bool url_uses_tls(const Url& url);
// 443 for https and grpcs, 80 for the others.
uint16_t default_port(const std::string& scheme);

}  // namespace horde
