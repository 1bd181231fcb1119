// capture: {header: ...}: a field's value trimmed, from a whole HTTP/1.1 head
// or a field handed over alone; names case-insensitive, the first one wins.
#include "agent/header_capture.h"

#include <gtest/gtest.h>

#include <string>

namespace horde {
namespace header_capture_test {

std::string cap(std::string_view head, std::string_view name, size_t capacity = kMaxCapture) {
  CaptureBuffer out(capacity);
  out.assign("stale");
  const CaptureStatus s = capture_header(head, name, out);
  if (s != CaptureStatus::kOk) {
    EXPECT_EQ(out.size(), 0u);
    return std::string("<") + capture_status_name(s) + ">";
  }
  return std::string(out.view());
}

const std::string kHead =
    "HTTP/1.1 201 Created\r\n"
    "Content-Length: 0\r\n"
    "location:  /carts/42 \t\r\n"
    "X-Token:\r\n"
    "Location: /carts/43\r\n"
    "X-Folded: a\r\n"
    " b\r\n"
    "\r\n"
    "Body-Not-A-Header: x\r\n";

TEST(HeaderCapture, TheFirstFieldOfTheNameTrimmed) {
  EXPECT_EQ(cap(kHead, "Location"), "/carts/42");  // case-insensitive; the first one
  EXPECT_EQ(cap(kHead, "LOCATION"), "/carts/42");
  EXPECT_EQ(cap(kHead, "content-length"), "0");
  EXPECT_EQ(cap(kHead, "X-Token"), "");    // present and empty
  EXPECT_EQ(cap(kHead, "X-Folded"), "a");  // the folded line is not joined
  EXPECT_EQ(cap(kHead, "Set-Cookie"), "<no_such_value>");
  EXPECT_EQ(cap(kHead, "Body-Not-A-Header"), "<no_such_value>");     // after the empty line
  EXPECT_EQ(cap(kHead, "Locatio"), "<no_such_value>");               // a prefix is another name
  EXPECT_EQ(cap(kHead, "HTTP/1.1 201 Created"), "<no_such_value>");  // not the status line
  EXPECT_EQ(cap(kHead, ""), "<no_such_value>");
  EXPECT_EQ(cap("HTTP/1.1 200 OK\nA: 1\nB: 2\n\n", "b"), "2");  // bare LFs
  EXPECT_EQ(cap("HTTP/1.1 200 OK\r\nA: 1", "a"), "1");          // a head without its end
  EXPECT_EQ(cap("", "a"), "<no_such_value>");
  EXPECT_EQ(cap("HTTP/1.1 200 OK", "a"), "<no_such_value>");
}

TEST(HeaderCapture, AValueLongerThanTheBufferFails) {
  const std::string fits(kMaxCapture, 'v');
  EXPECT_EQ(cap("HTTP/1.1 200 OK\r\nX: " + fits + "  \r\n\r\n", "x"), fits);
  EXPECT_EQ(cap("HTTP/1.1 200 OK\r\nX: " + fits + "w\r\n\r\n", "x"), "<too_long>");
}

TEST(HeaderCapture, AFieldHandedOverAlone) {
  CaptureBuffer out(8);
  EXPECT_EQ(capture_header_value("  Bearer x ", out), CaptureStatus::kOk);
  EXPECT_EQ(out.view(), "Bearer x");
  EXPECT_EQ(capture_header_value("123456789", out), CaptureStatus::kTooLong);
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(capture_header_value("\t\t", out), CaptureStatus::kOk);
  EXPECT_EQ(out.view(), "");
}

}  // namespace header_capture_test
}  // namespace horde
