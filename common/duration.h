// Durations as users write them: "500ms", "10s", "2m", "1h", "250us", or
// several terms ("1m30s"). A unit is always required, so `duration: 10` cannot
// silently mean 10 ms. format_duration writes the text back so that parsing it
// gives the same value.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace horde {

using Millis = std::chrono::milliseconds;

// For "expected ..." parts of error messages.
inline constexpr const char* kDurationExamples = "like 500ms, 10s, 2m, 1h or 250us";

// "500ms", "10s", "2m", "1h", "250us" -> duration. Plain numbers are rejected
// (a unit is required) so `duration: 10` cannot silently mean 10 ms.
Result<std::chrono::microseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::microseconds d);

}  // namespace horde
