#include "agent/cookie_jar.h"

#include <strings.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace horde {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view v) {
  while (!v.empty() && is_wsp(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_wsp(v.back())) v.remove_suffix(1);
  return v;
}

bool iequals(std::string_view a, const char* b) {
  const size_t n = std::strlen(b);
  return a.size() == n && strncasecmp(a.data(), b, n) == 0;
}

// RFC 6265bis: a control character other than a tab makes the cookie ignored.
bool has_ctl(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

// The request target's path: up to '?' or '#'.
std::string_view uri_path(std::string_view target) {
  return target.substr(0, std::min(target.find_first_of("?#"), target.size()));
}

// Section 5.1.4's default-path.
std::string_view default_path(std::string_view request_path) {
  const std::string_view p = uri_path(request_path);
  if (p.empty() || p[0] != '/') return "/";
  const size_t last = p.rfind('/');
  return last == 0 ? std::string_view("/") : p.substr(0, last);
}

// Section 5.1.4's path-match.
bool path_matches(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path) return true;
  if (request_path.size() <= cookie_path.size() ||
      request_path.compare(0, cookie_path.size(), cookie_path) != 0) {
    return false;
  }
  return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

// Section 5.1.1: delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E.
bool is_date_delimiter(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads 1..max digits at the front of `t` (min of them at least), then
// requires the rest to be empty or start with a non-digit.
bool leading_digits(std::string_view* t, size_t min, size_t max, int* out) {
  size_t n = 0;
  int v = 0;
  while (n < t->size() && n < max && is_digit((*t)[n])) v = v * 10 + ((*t)[n++] - '0');
  if (n < min) return false;
  t->remove_prefix(n);
  *out = v;
  return true;
}
bool rest_ok(std::string_view t) { return t.empty() || !is_digit(t[0]); }

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

const char* cookie_result_name(CookieResult r) {
  switch (r) {
    case CookieResult::kStored:
      return "stored";
    case CookieResult::kDeleted:
      return "deleted";
    case CookieResult::kIgnored:
      return "ignored";
    case CookieResult::kTooLong:
      return "too_long";
    case CookieResult::kFull:
      return "full";
  }
  return "unknown";
}

bool parse_cookie_date(std::string_view text, int64_t* seconds) {
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  bool have_time = false, have_day = false, have_month = false, have_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && is_date_delimiter(text[at])) ++at;
    const size_t from = at;
    while (at < text.size() && !is_date_delimiter(text[at])) ++at;
    if (at == from) break;
    const std::string_view token = text.substr(from, at - from);
    if (!have_time) {
      std::string_view t = token;
      int h = 0, m = 0, s = 0;
      if (leading_digits(&t, 1, 2, &h) && !t.empty() && t[0] == ':' &&
          (t.remove_prefix(1), leading_digits(&t, 1, 2, &m)) && !t.empty() && t[0] == ':' &&
          (t.remove_prefix(1), leading_digits(&t, 1, 2, &s)) && rest_ok(t)) {
        have_time = true;
        hour = h;
        minute = m;
        second = s;
        continue;
      }
    }
    if (!have_day) {
      std::string_view t = token;
      if (leading_digits(&t, 1, 2, &day) && rest_ok(t)) {
        have_day = true;
        continue;
      }
    }
    if (!have_month && token.size() >= 3) {
      for (int i = 0; i < 12; ++i) {
        if (strncasecmp(token.data(), kMonths[i], 3) == 0) {
          have_month = true;
          month = i + 1;
          break;
        }
      }
      if (have_month) continue;
    }
    if (!have_year) {
      std::string_view t = token;
      if (leading_digits(&t, 2, 4, &year) && rest_ok(t)) have_year = true;
    }
  }
  if (!have_time || !have_day || !have_month || !have_year) return false;
  if (year >= 70 && year <= 99) year += 1900;
  if (year >= 0 && year <= 69) year += 2000;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) return false;
  *seconds =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second;
  return true;
}

CookieJar::CookieJar(size_t max_cookies, size_t max_bytes)
    : max_cookies_(max_cookies),
      max_bytes_(max_bytes),
      arena_(std::make_unique_for_overwrite<char[]>(std::max<size_t>(max_bytes, 1))),
      slots_(std::make_unique_for_overwrite<Slot[]>(std::max<size_t>(max_cookies, 1))),
      order_(std::make_unique_for_overwrite<uint16_t[]>(std::max<size_t>(max_cookies, 1))) {
  if (max_cookies > UINT16_MAX || max_bytes > UINT32_MAX) {
    throw std::invalid_argument("CookieJar: at most 65535 cookies and 4 GiB");
  }
}

void CookieJar::clear() {
  count_ = 0;
  used_ = 0;
}

size_t CookieJar::find(std::string_view name, std::string_view path) const {
  for (size_t i = 0; i < count_; ++i) {
    if (name_of(slots_[i]) == name && path_of(slots_[i]) == path) return i;
  }
  return count_;
}

void CookieJar::remove(size_t i) {
  const Slot gone = slots_[i];
  const size_t bytes = size_t{gone.name} + gone.value + gone.path;
  std::memmove(arena_.get() + gone.offset, arena_.get() + gone.offset + bytes,
               used_ - gone.offset - bytes);
  used_ -= bytes;
  for (size_t j = i + 1; j < count_; ++j) slots_[j - 1] = slots_[j];
  --count_;
  for (size_t j = 0; j < count_; ++j) {
    if (slots_[j].offset > gone.offset) slots_[j].offset -= static_cast<uint32_t>(bytes);
  }
}

CookieResult CookieJar::set_cookie(std::string_view header_value, std::string_view request_path,
                                   Clock::time_point now) {
  const size_t semi = std::min(header_value.find(';'), header_value.size());
  const std::string_view pair = header_value.substr(0, semi);
  const size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return CookieResult::kIgnored;
  const std::string_view name = trim(pair.substr(0, eq));
  const std::string_view value = trim(pair.substr(eq + 1));
  if (name.empty() || has_ctl(name) || has_ctl(value)) return CookieResult::kIgnored;

  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string_view path;
  bool have_max_age = false;
  int64_t max_age_expiry = kNever;
  int64_t expires_expiry = kNever;
  size_t at = semi;
  while (at < header_value.size()) {
    ++at;  // the ';'
    const size_t end = std::min(header_value.find(';', at), header_value.size());
    const std::string_view av = header_value.substr(at, end - at);
    at = end;
    const size_t av_eq = av.find('=');
    const std::string_view av_name = trim(av.substr(0, std::min(av_eq, av.size())));
    const std::string_view av_value =
        av_eq == std::string_view::npos ? std::string_view() : trim(av.substr(av_eq + 1));
    if (iequals(av_name, "path")) {
      path = av_value;  // the last one wins; checked below
    } else if (iequals(av_name, "max-age")) {
      // Section 5.2.2: a '-' or digit first, digits after; else the attribute is ignored.
      if (av_value.empty() || (av_value[0] != '-' && !is_digit(av_value[0]))) continue;
      const std::string_view digits = av_value[0] == '-' ? av_value.substr(1) : av_value;
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) continue;
      int64_t delta = 0;
      for (char c : digits) delta = std::min<int64_t>(delta * 10 + (c - '0'), INT64_MAX / 20);
      have_max_age = true;
      max_age_expiry = av_value[0] == '-' || delta == 0 ? INT64_MIN : now_s + delta;
    } else if (iequals(av_name, "expires")) {
      int64_t t = 0;
      if (parse_cookie_date(av_value, &t)) expires_expiry = t;
    }
    // Domain, Secure, HttpOnly, SameSite, anything else: accepted and ignored.
  }
  if (path.empty() || path[0] != '/') path = default_path(request_path);
  const int64_t expires = have_max_age ? max_age_expiry : expires_expiry;

  const size_t old = find(name, path);
  if (expires != kNever && expires <= now_s) {
    if (old < count_) remove(old);
    return CookieResult::kDeleted;
  }
  const size_t bytes = name.size() + value.size() + path.size();
  if (bytes > kMaxCookieBytes) return CookieResult::kTooLong;
  const size_t freed =
      old < count_ ? size_t{slots_[old].name} + slots_[old].value + slots_[old].path : 0;
  if (used_ - freed + bytes > max_bytes_ || (old == count_ && count_ == max_cookies_)) {
    return CookieResult::kFull;
  }
  uint64_t created = next_created_++;
  if (old < count_) {
    created = slots_[old].created;  // a replacement keeps the old one's place (section 5.3)
    remove(old);
  }
  Slot& s = slots_[count_++];
  s.offset = static_cast<uint32_t>(used_);
  s.name = static_cast<uint16_t>(name.size());
  s.value = static_cast<uint16_t>(value.size());
  s.path = static_cast<uint16_t>(path.size());
  s.expires = expires;
  s.created = created;
  std::memcpy(arena_.get() + used_, name.data(), name.size());
  std::memcpy(arena_.get() + used_ + name.size(), value.data(), value.size());
  std::memcpy(arena_.get() + used_ + name.size() + value.size(), path.data(), path.size());
  used_ += bytes;
  return CookieResult::kStored;
}

bool CookieJar::cookie_header(std::string_view request_path, char* out, size_t capacity,
                              size_t* length, Clock::time_point now) {
  *length = 0;
  const std::string_view path = uri_path(request_path);
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  size_t n = 0;
  for (size_t i = 0; i < count_; ++i) {
    const Slot& s = slots_[i];
    if (s.expires <= now_s || !path_matches(path, path_of(s))) continue;
    // Insertion sort: longer paths first, then the older (at most max_cookies_ entries).
    size_t j = n++;
    while (j > 0) {
      const Slot& prev = slots_[order_[j - 1]];
      if (prev.path > s.path || (prev.path == s.path && prev.created < s.created)) break;
      order_[j] = order_[j - 1];
      --j;
    }
    order_[j] = static_cast<uint16_t>(i);
  }
  size_t len = 0;
  for (size_t k = 0; k < n; ++k) {
    const Slot& s = slots_[order_[k]];
    const size_t need = (k > 0 ? 2 : 0) + s.name + 1 + s.value;
    if (need > capacity - len) return false;
    if (k > 0) {
      out[len++] = ';';
      out[len++] = ' ';
    }
    std::memcpy(out + len, arena_.get() + s.offset, s.name);
    len += s.name;
    out[len++] = '=';
    std::memcpy(out + len, arena_.get() + s.offset + s.name, s.value);
    len += s.value;
  }
  *length = len;
  return true;
}

}  // namespace horde
