// `cookies: true` in a flow: one CookieJar per iteration in flight, holding
// what the iteration's responses set (Set-Cookie) and writing the Cookie
// header of its next requests. Storage (a byte arena and the cookie slots) is
// allocated once when the jar is made; set_cookie(), cookie_header() and
// clear() allocate nothing.
//
// Set-Cookie is read as RFC 6265 section 5.2 says a user agent reads it:
// "name=value" before the first ';' (no '=' or an empty name: the header is
// ignored, kIgnored; so is a name or value with a control character other than
// a tab, as RFC 6265bis says, since it would go out in a request header), then
// attributes, their names case-insensitive:
// - Path: the cookie's path; missing, empty or not starting with '/', the
//   default path of the request it answered (section 5.1.4: up to, not
//   including, the last '/' of the request path; "/" when that is the first).
// - Max-Age: seconds; 0 or negative deletes the cookie (kDeleted), a positive
//   one makes it expire then. It wins over Expires, wherever it stands.
// - Expires: an HTTP date read with section 5.1.1's algorithm (Sun, 06 Nov
//   1994 08:49:37 GMT, and the old forms); a date not after `now` deletes, a
//   later one makes it expire then; a date that does not read is ignored.
// - Domain, Secure, HttpOnly, SameSite and any other attribute: accepted and
//   ignored. A jar belongs to one iteration against one target on one
//   connection, so every cookie it holds goes back to that target, on any
//   scheme: the jar never decides between sites.
// A cookie replaces the one with the same name and path (keeping its place in
// the order); deleting one that is not there is still kDeleted. Bounds: at most
// `max_cookies` cookies (32 by default) and each cookie's name, value and
// path together at most kMaxCookieBytes (4 KiB, RFC 6265 section 6.1's
// minimum), all of them at most `max_bytes`: beyond, set_cookie() stores
// nothing and says kFull or kTooLong.
//
// cookie_header() writes "a=1; b=2" for the cookies whose path path-matches
// the request's path (section 5.1.4) and which have not expired, those with
// longer paths first, then the older first (section 5.4). The request path is
// the request target up to '?' or '#'.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace horde {

enum class CookieResult : uint8_t { kStored, kDeleted, kIgnored, kTooLong, kFull };
// "stored", "deleted", "ignored", "too_long", "full".
const char* cookie_result_name(CookieResult r);

class CookieJar {
 public:
  using Clock = std::chrono::system_clock;  // Expires is a calendar date
  static constexpr size_t kMaxCookies = 32;
  static constexpr size_t kMaxCookieBytes = 4096;

  explicit CookieJar(size_t max_cookies = kMaxCookies, size_t max_bytes = 4 * kMaxCookieBytes);

  // One Set-Cookie header's value, from a response to a request for `request_path`.
  CookieResult set_cookie(std::string_view header_value, std::string_view request_path,
                          Clock::time_point now = Clock::now());
  // The Cookie header's value for a request for `request_path` into out[0..capacity):
  // its length, or false when it does not fit (nothing usable in `out` then).
  // No cookie for that path: true with *length 0 (send no Cookie header).
  bool cookie_header(std::string_view request_path, char* out, size_t capacity, size_t* length,
                     Clock::time_point now = Clock::now());
  // Empty again, for the next iteration.
  void clear();
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t offset;  // name, value, path, one after the other in the arena
    uint16_t name;
    uint16_t value;
    uint16_t path;
    int64_t expires;   // seconds since 1970; kNever for a cookie that lasts the iteration
    uint64_t created;  // set order: ties between paths of the same length
  };
  static constexpr int64_t kNever = INT64_MAX;

  std::string_view name_of(const Slot& s) const { return {arena_.get() + s.offset, s.name}; }
  std::string_view value_of(const Slot& s) const {
    return {arena_.get() + s.offset + s.name, s.value};
  }
  std::string_view path_of(const Slot& s) const {
    return {arena_.get() + s.offset + s.name + s.value, s.path};
  }
  size_t find(std::string_view name, std::string_view path) const;  // count_ when absent
  void remove(size_t i);

  const size_t max_cookies_;
  const size_t max_bytes_;
  std::unique_ptr<char[]> arena_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint16_t[]> order_;  // cookie_header's scratch: slot indexes
  size_t count_ = 0;
  size_t used_ = 0;
  uint64_t next_created_ = 0;
};

// RFC 6265 section 5.1.1's cookie-date, as seconds since 1970 (UTC); false if
// it does not read as one. Exposed for its tests.
bool parse_cookie_date(std::string_view text, int64_t* seconds);

}  // namespace horde
