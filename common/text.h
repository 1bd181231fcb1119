// Small text helpers shared by the parsers of user input (durations, URLs,
// thresholds, the workload file): trimming, case, strict number parsing,
// quoting user text safely inside error messages, and UTF-8 hygiene for text
// that came from outside (agents, targets) on its way into result files:
// cutting on character boundaries, replacing invalid bytes, and one JSON
// writer that cannot throw on any byte string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
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
// An HTTP header field name (RFC 9110 token: letters, digits, !#$%&'*+-.^_`|~), 1..128 bytes.
bool is_header_name(std::string_view s);
// Strict unsigned decimal: digits only, no sign, no exponent, no leading '+'.
bool parse_uint(std::string_view s, uint64_t* out);
// A finite decimal number ("1000", "2.5", "1e3").
bool parse_number(std::string_view s, double* out);
// "a, b, c"
std::string join(std::initializer_list<const char*> items);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, at most U+10FFFF), or npos.
size_t invalid_utf8_at(std::string_view s);
inline bool valid_utf8(std::string_view s) { return invalid_utf8_at(s) == std::string_view::npos; }
// s with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);
// The way to shorten text from outside: at most max_bytes, always valid UTF-8,
// never cut inside a character (one that would not fit whole is left out;
// invalid bytes are replaced first, as by sanitize_utf8).
std::string truncate_utf8(std::string_view s, size_t max_bytes);

// The one way horde serializes JSON for files and the wire to users: never
// throws. Invalid UTF-8 in any string is replaced by U+FFFD (nlohmann's
// error_handler_t::replace); *replaced (if given) says whether that happened,
// so the caller can say so.
std::string dump_json(const nlohmann::json& j, int indent = -1, bool* replaced = nullptr);

}  // namespace horde::text
