// `capture: {header: Location}`: a response header's value copied into a
// CaptureBuffer. Two entry points for the two ways a driver sees headers:
// capture_header_value() for one field a parser or nghttp2 hands over whole
// (HTTP/2, or HTTP/1.1 fields assembled by the response parser), and
// capture_header() for a complete HTTP/1.1 response head in one piece.
// The value is trimmed of the spaces and tabs around it (RFC 9110 section 5.5);
// the first field with the name wins when a response repeats it (a later
// Location is not read); names compare ASCII case-insensitively. A header that
// is absent is kNoSuchValue, an empty one is captured empty, one longer than
// the buffer is kTooLong (out stays empty).
#pragma once

#include <string_view>

#include "agent/capture.h"

namespace horde {

// `value` as a header field's value: trimmed, into `out`.
CaptureStatus capture_header_value(std::string_view value, CaptureBuffer& out);

// The first header named `name` in `head`: a response's status line and
// header lines, each ending in CRLF (a bare LF is accepted), up to the empty
// line (or the end of `head`). Folded lines (obsolete, RFC 9112 section 5.2)
// are not joined: a line starting with a space or tab is skipped.
CaptureStatus capture_header(std::string_view head, std::string_view name, CaptureBuffer& out);

}  // namespace horde
