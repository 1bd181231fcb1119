// The flow's per-iteration pieces allocate nothing once made: 10,000
// iterations of JSON and header captures and a cookie jar's set, header and
// clear, counted by tests/agent/counting_allocator.h.
#include <gtest/gtest.h>

#include <string>

#include "agent/cookie_jar.h"
#include "agent/header_capture.h"
#include "agent/json_capture.h"
#include "tests/agent/counting_allocator.h"

namespace horde {
namespace capture_alloc_test {

using testing::allocations;
using testing::counting;

TEST(CaptureAlloc, TenThousandIterationsAllocateNothing) {
  const std::string body =
      R"({"user": {"name": "ann", "roles": ["a", {"id": "r\u00e9\ud83d\ude00"}]}, "token": )"
      R"("eyJhbGciOi.J9", "list": [1, 2.5e3, true, null, {"x": [[]]}]})";
  const std::string head =
      "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nLocation: /carts/42\r\n"
      "Set-Cookie: session=abc; Path=/; HttpOnly\r\n\r\n";
  const JsonPointer token = JsonPointer::parse("/token").value();
  const JsonPointer role = JsonPointer::parse("/user/roles/1/id").value();
  const JsonPointer list = JsonPointer::parse("/list").value();
  const JsonPointer missing = JsonPointer::parse("/user/nobody").value();
  CaptureBuffer a;
  CaptureBuffer b;
  CookieJar jar;
  char cookie[1024];
  size_t cookie_length = 0;
  const auto now = CookieJar::Clock::now();
  size_t ok = 0;

  allocations = 0;
  counting = true;
  for (int i = 0; i < 10'000; ++i) {
    ok += capture_json(token, body.data(), body.size(), a) == CaptureStatus::kOk;
    ok += capture_json(role, body.data(), body.size(), b) == CaptureStatus::kOk;
    ok += capture_json(list, body.data(), body.size(), b) == CaptureStatus::kOk;
    ok += capture_json(missing, body.data(), body.size(), b) == CaptureStatus::kNoSuchValue;
    ok += capture_header(head, "location", a) == CaptureStatus::kOk;
    ok += jar.set_cookie("session=abc; Path=/; HttpOnly", "/login", now) == CookieResult::kStored;
    ok += jar.set_cookie("cart=42; Max-Age=60", "/carts/42", now) == CookieResult::kStored;
    ok += jar.set_cookie("cart=43; Max-Age=60", "/carts/42", now) == CookieResult::kStored;
    ok += jar.set_cookie("old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/", now) ==
          CookieResult::kDeleted;
    ok += jar.cookie_header("/carts/pay?x=1", cookie, sizeof cookie, &cookie_length, now);
    jar.clear();
  }
  counting = false;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(ok, 10u * 10'000);
  EXPECT_EQ(std::string(cookie, cookie_length), "cart=43; session=abc");
  EXPECT_EQ(a.view(), "/carts/42");
}

}  // namespace capture_alloc_test
}  // namespace horde
