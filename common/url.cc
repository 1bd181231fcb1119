#include "common/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/text.h"

namespace horde {

using text::has_space_or_control;
using text::lower;
using text::parse_uint;
using text::quote;
using text::trim;

Result<Url> parse_url(const std::string& text) {
  const std::string_view t = trim(text);
  const std::string expected = std::string("expected ") + kUrlForm;
  if (t.empty()) return Error{"empty URL; " + expected};
  if (has_space_or_control(t)) {
    return Error{quote(t) + " contains spaces or control characters; " + expected +
                 " with the path percent-encoded"};
  }
  const size_t sep = t.find("://");
  if (sep == std::string_view::npos) return Error{quote(t) + " is not a URL; " + expected};
  Url url;
  url.text = std::string(t);
  url.scheme = lower(t.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https" && url.scheme != "h2c" &&
      url.scheme != "grpc" && url.scheme != "grpcs") {
    return Error{quote(t) + ": unsupported scheme " + quote(url.scheme) +
                 "; supported: http, https, h2c (HTTP/2 cleartext), grpc, grpcs"};
  }
  std::string_view rest = t.substr(sep + 3);
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);  // never sent to servers
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    url.path = std::string(rest.substr(path_start));
    if (url.path.front() == '?') url.path.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Error{quote(t) + ": credentials in URLs are not supported; " + expected};
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Error{quote(t) + ": unclosed '[' in IPv6 host; expected http://[::1]:8080/"};
    }
    url.host = std::string(authority.substr(1, close - 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, url.host.c_str(), &addr) != 1) {
      return Error{quote(t) + ": invalid IPv6 address " + quote(url.host) +
                   "; expected http://[::1]:8080/"};
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Error{quote(t) + ": unexpected text after ']'; " + expected};
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return Error{quote(t) + " has no host; " + expected};
    const bool valid = std::all_of(url.host.begin(), url.host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!valid || url.host.front() == '.' || url.host.front() == '-') {
      return Error{quote(t) + ": invalid host " + quote(url.host) +
                   "; expected a host name, an IPv4 address or [IPv6]"};
    }
  }
  url.port = default_port(url.scheme);
  if (has_port) {
    uint64_t port = 0;
    if (!parse_uint(port_text, &port) || port < 1 || port > 65535) {
      return Error{quote(t) + ": invalid port " + quote(port_text) + "; expected 1..65535"};
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

bool url_uses_tls(const Url& url) { return url.scheme == "https" || url.scheme == "grpcs"; }

uint16_t default_port(const std::string& scheme) {
  return scheme == "https" || scheme == "grpcs" ? 443 : 80;
}

}  // namespace horde
