// Standard base64 (RFC 4648, with padding): the binary values of gRPC
// metadata (`-bin` keys) and the compressed histograms of latency.hlog.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace horde {

std::string base64_encode(std::string_view bytes);
// Strict: length a positive multiple of 4, padding only at the end.
Result<std::vector<uint8_t>> base64_decode(const std::string& text);

}  // namespace horde
