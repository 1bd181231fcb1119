#include "common/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "common/text.h"

namespace horde {

namespace {

using std::chrono::microseconds;
using text::parse_uint;
using text::quote;
using text::trim;

struct Unit {
  const char* name;
  int64_t us;
};
constexpr Unit kUnits[] = {{"us", 1},        {"µs", 1},         {"ms", 1'000},
                           {"s", 1'000'000}, {"m", 60'000'000}, {"h", 3'600'000'000}};

}  // namespace

Result<microseconds> parse_duration(const std::string& text) {
  const std::string_view t = trim(text);
  const std::string expected = std::string("expected a duration with a unit, ") + kDurationExamples;
  if (t.empty()) return Error{"empty; " + expected};
  if (t.front() == '-') return Error{quote(t) + " is negative; " + expected};
  // One or more <number><unit> terms ("1m30s"); a term may have a fraction
  // ("1.5s") as long as the total is a whole number of microseconds.
  int64_t total = 0;
  size_t i = 0;
  while (i < t.size()) {
    const size_t start = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    const std::string_view whole = t.substr(start, i - start);
    std::string_view frac;
    if (i < t.size() && t[i] == '.') {
      const size_t fstart = ++i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
      frac = t.substr(fstart, i - fstart);
    }
    if (whole.empty() && frac.empty()) return Error{quote(t) + " is not a duration; " + expected};
    const size_t ustart = i;
    while (i < t.size() && !std::isdigit(static_cast<unsigned char>(t[i])) && t[i] != '.') ++i;
    const std::string_view unit_text = t.substr(ustart, i - ustart);
    if (unit_text.empty()) return Error{quote(t) + " has no unit; " + expected};
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (unit_text == u.name) unit = &u;
    }
    if (unit == nullptr) {
      return Error{quote(t) + " has an unknown unit " + quote(unit_text) +
                   "; expected one of us, ms, s, m, h"};
    }
    uint64_t w = 0;
    if (!whole.empty() && !parse_uint(whole, &w))
      return Error{quote(t) + " is too large; " + expected};
    if (frac.size() > 12) return Error{quote(t) + " has too many decimals; " + expected};
    uint64_t f = 0;
    uint64_t scale = 1;
    for (char c : frac) {
      f = f * 10 + uint64_t(c - '0');
      scale *= 10;
    }
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    if (w > uint64_t(kMax / unit->us)) return Error{quote(t) + " is too large; " + expected};
    // f < scale <= 10^12 and unit <= 3.6e9 could overflow 64 bits; use 128.
    const unsigned __int128 frac_us = static_cast<unsigned __int128>(f) * uint64_t(unit->us);
    if (frac_us % scale != 0) {
      return Error{quote(t) + " is finer than 1us; " + expected};
    }
    const int64_t term = int64_t(w) * unit->us + int64_t(frac_us / scale);
    if (term > kMax - total) return Error{quote(t) + " is too large; " + expected};
    total += term;
  }
  return microseconds(total);
}

std::string format_duration(microseconds d) {
  int64_t us = d.count();
  if (us == 0) return "0s";
  std::string sign;
  if (us < 0) {
    sign = "-";
    us = us == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -us;
  }
  // The largest unit that represents the value exactly, so parse_duration of
  // the text gives back the same value.
  for (const auto& [name, unit] :
       {std::pair{"h", int64_t{3'600'000'000}}, std::pair{"m", int64_t{60'000'000}},
        std::pair{"s", int64_t{1'000'000}}, std::pair{"ms", int64_t{1'000}}}) {
    if (us % unit == 0) return sign + std::to_string(us / unit) + name;
  }
  return sign + std::to_string(us) + "us";
}

}  // namespace horde
