#include "agent/header_capture.h"

#include <strings.h>

namespace horde {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view v) {
  while (!v.empty() && is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
  return v;
}

}  // namespace

CaptureStatus capture_header_value(std::string_view value, CaptureBuffer& out) {
  const std::string_view v = trim(value);
  if (!out.assign(v)) {
    out.clear();
    return CaptureStatus::kTooLong;
  }
  return CaptureStatus::kOk;
}

CaptureStatus capture_header(std::string_view head, std::string_view name, CaptureBuffer& out) {
  out.clear();
  size_t at = head.find('\n');  // past the status line
  while (at != std::string_view::npos && at + 1 < head.size()) {
    const size_t from = at + 1;
    size_t end = head.find('\n', from);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(from, end - from);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the end of the head
    at = end;
    if (is_ows(line.front())) continue;  // an obsolete folded line
    const size_t colon = line.find(':');
    if (colon != name.size() || name.empty() ||
        strncasecmp(line.data(), name.data(), name.size()) != 0) {
      continue;
    }
    return capture_header_value(line.substr(colon + 1), out);
  }
  return CaptureStatus::kNoSuchValue;
}

}  // namespace horde
