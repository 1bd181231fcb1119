// Small text helpers shared by the parsers of user input (durations, URLs,
// thresholds, the workload file): trimming, case, strict number parsing, and
// quoting user text safely inside error messages. Internal to common/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace horde::text {

std::string_view trim(std::string_view s);
std::string lower(std::string_view s);
std::string upper(std::string_view s);
// Quotes user text for an error message; control characters become visible and
// long values are cut so one bad field cannot flood the terminal.
std::string quote(std::string_view s);
bool has_space_or_control(std::string_view s);
// Strict unsigned decimal: digits only, no sign, no exponent, no leading '+'.
bool parse_uint(std::string_view s, uint64_t* out);
// A finite decimal number ("1000", "2.5", "1e3").
bool parse_number(std::string_view s, double* out);
// "a, b, c"
std::string join(std::initializer_list<const char*> items);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace horde::text
