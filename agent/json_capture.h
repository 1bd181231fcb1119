// `capture: {json: /pointer}`: the value a JSON Pointer (common/json_pointer.h)
// names in a complete response body, copied into a CaptureBuffer. A scanner
// over the bytes, not a DOM: members and elements off the pointer's path are
// skipped as they are read, nothing is allocated, and the whole body is read
// (a body that is not one JSON text fails wherever the value is in it).
//
// What is captured, by the value's type:
// - a string: its characters unescaped (\n, \", \/, ..., \uXXXX as UTF-8,
//   a surrogate pair as one 4-byte character); bytes outside escapes are
//   copied as they are (not checked as UTF-8). A lone surrogate (\uD800 not
//   followed by a low one) is kNotJson: it has no UTF-8 form.
// - a number: its text as written (-1.5e3 stays "-1.5e3").
// - true, false, null: "true", "false", "null".
// - an object or array: its text, byte for byte as in the body from its '{'
//   or '[' to the matching '}' or ']' (so it can be sent on as a JSON body).
// The empty pointer captures the whole body (without surrounding whitespace).
// A duplicate member name (RFC 8259 leaves it open): the first one wins, as
// the pointer's path meets it first; later ones are read and skipped.
// An array index is only "0" or digits without a leading zero (RFC 6901);
// "-" and "01" name no element; "1" also names a member "1" of an object.
// Statuses, most serious first: kNotJson (not one JSON text), kTooDeep (objects
// and arrays nested deeper than kMaxJsonDepth: the recursion's bound),
// kNoSuchValue (valid JSON without that value), kTooLong (the value does not
// fit in the buffer, 4 KiB by default). On any failure `out` is empty.
#pragma once

#include <cstddef>

#include "agent/capture.h"
#include "common/json_pointer.h"

namespace horde {

inline constexpr size_t kMaxJsonDepth = 64;

CaptureStatus capture_json(const JsonPointer& pointer, const char* body, size_t n,
                           CaptureBuffer& out);

}  // namespace horde
