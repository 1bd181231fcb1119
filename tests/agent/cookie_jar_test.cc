// The flow's cookie jar (agent/cookie_jar.h): Set-Cookie's attributes as RFC
// 6265 section 5.2 reads them, path-match and order of the Cookie header
// (sections 5.1.4 and 5.4), replacement, deletion, expiry and the bounds.
#include "agent/cookie_jar.h"

#include <gtest/gtest.h>

#include <string>

namespace horde {
namespace cookie_jar_test {

using namespace std::chrono_literals;

// 2026-12-02 20:00:00 UTC: the clock of every test here.
const CookieJar::Clock::time_point kNow = CookieJar::Clock::time_point(1'796'241'600s);

std::string header(CookieJar& jar, std::string_view path, CookieJar::Clock::time_point now = kNow) {
  char buf[8192];
  size_t n = 0;
  EXPECT_TRUE(jar.cookie_header(path, buf, sizeof buf, &n, now));
  return std::string(buf, n);
}

CookieResult set(CookieJar& jar, std::string_view value, std::string_view path = "/",
                 CookieJar::Clock::time_point now = kNow) {
  return jar.set_cookie(value, path, now);
}

TEST(CookieJar, SeveralCookiesGoBackInOneHeader) {
  CookieJar jar;
  EXPECT_EQ(header(jar, "/"), "");  // none: no Cookie header
  EXPECT_EQ(set(jar, "session=abc123; HttpOnly; Secure; SameSite=Lax"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "theme = dark ; Domain=example.com"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "empty="), CookieResult::kStored);
  EXPECT_EQ(set(jar, "eq=a=b==; Path=/"), CookieResult::kStored);  // the value keeps its '='
  EXPECT_EQ(jar.size(), 4u);
  EXPECT_EQ(header(jar, "/cart?x=1"), "session=abc123; theme=dark; empty=; eq=a=b==");
  jar.clear();
  EXPECT_EQ(jar.size(), 0u);
  EXPECT_EQ(header(jar, "/"), "");
  EXPECT_EQ(set(jar, "a=1"), CookieResult::kStored);  // usable again after clear
  EXPECT_EQ(header(jar, "/"), "a=1");
}

TEST(CookieJar, WhatIsNoCookieIsIgnored) {
  CookieJar jar;
  EXPECT_EQ(set(jar, "novalue"), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, "=value"), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, " =value; Path=/"), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, ""), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, "; a=b"), CookieResult::kIgnored);  // '=' only in an attribute
  EXPECT_EQ(set(jar, "a=b\r\nX-Injected: 1"), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, std::string("a=b\0c", 5)), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, "a\x7f=b"), CookieResult::kIgnored);
  EXPECT_EQ(set(jar, "tab=a\tb"), CookieResult::kStored);  // a tab is allowed
  EXPECT_EQ(header(jar, "/"), "tab=a\tb");
}

TEST(CookieJar, PathAttributeAndDefaultPath) {
  CookieJar jar;
  EXPECT_EQ(set(jar, "root=1; Path=/"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "api=2; path=/api"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "v1=3; PATH=/api/v1/"), CookieResult::kStored);
  // No Path, an empty one or one not starting with '/': the request's directory.
  EXPECT_EQ(set(jar, "d=4", "/shop/cart/items?x=/y"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "e=5; Path=", "/shop/cart/items"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "f=6; Path=shop", "/shop/cart/items"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "g=7", "/login"), CookieResult::kStored);            // "/" when only one '/'
  EXPECT_EQ(set(jar, "h=8; Path=/x; Path=/api"), CookieResult::kStored);  // the last Path
  // Section 5.1.4's path-match: equal, or a prefix ending in '/' or followed by '/'.
  EXPECT_EQ(header(jar, "/"), "root=1; g=7");
  EXPECT_EQ(header(jar, "/api"), "api=2; h=8; root=1; g=7");
  EXPECT_EQ(header(jar, "/api/"), "api=2; h=8; root=1; g=7");
  EXPECT_EQ(header(jar, "/apis"), "root=1; g=7");
  EXPECT_EQ(header(jar, "/api/v1"), "api=2; h=8; root=1; g=7");  // "/api/v1/" needs its '/'
  EXPECT_EQ(header(jar, "/api/v1/users?id=3"), "v1=3; api=2; h=8; root=1; g=7");
  EXPECT_EQ(header(jar, "/shop/cart"), "d=4; e=5; f=6; root=1; g=7");
  EXPECT_EQ(header(jar, "/shop/cart#frag"), "d=4; e=5; f=6; root=1; g=7");
  EXPECT_EQ(header(jar, "/shop/carts"), "root=1; g=7");
  EXPECT_EQ(header(jar, "*"), "");  // not a path: no cookie path matches it
}

TEST(CookieJar, ASameNameAndPathReplacesAndKeepsItsPlace) {
  CookieJar jar;
  EXPECT_EQ(set(jar, "a=1"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "b=2"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "a=one-longer-now"), CookieResult::kStored);
  EXPECT_EQ(jar.size(), 2u);
  EXPECT_EQ(header(jar, "/"), "a=one-longer-now; b=2");        // a is still the older
  EXPECT_EQ(set(jar, "a=x; Path=/p"), CookieResult::kStored);  // another path: another cookie
  EXPECT_EQ(jar.size(), 3u);
  EXPECT_EQ(header(jar, "/p"), "a=x; a=one-longer-now; b=2");
  EXPECT_EQ(set(jar, "A=case"), CookieResult::kStored);  // names are case-sensitive
  EXPECT_EQ(jar.size(), 4u);
}

TEST(CookieJar, MaxAgeZeroOrNegativeDeletes) {
  CookieJar jar;
  EXPECT_EQ(set(jar, "a=1"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "b=2"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "c=3; Path=/x"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "a=; Max-Age=0"), CookieResult::kDeleted);
  EXPECT_EQ(header(jar, "/x"), "c=3; b=2");
  EXPECT_EQ(set(jar, "c=; max-age=-1"), CookieResult::kDeleted);  // another path: not deleted
  EXPECT_EQ(header(jar, "/x"), "c=3; b=2");
  EXPECT_EQ(set(jar, "c=; max-age=-1; Path=/x"), CookieResult::kDeleted);
  EXPECT_EQ(header(jar, "/x"), "b=2");
  EXPECT_EQ(set(jar, "nothere=; Max-Age=0"), CookieResult::kDeleted);
  EXPECT_EQ(jar.size(), 1u);
  // Not a number: the attribute is ignored, the cookie stored.
  EXPECT_EQ(set(jar, "d=4; Max-Age=soon"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "e=5; Max-Age=1x"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "f=6; Max-Age="), CookieResult::kStored);
  EXPECT_EQ(set(jar, "g=7; Max-Age=-"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "g=; Max-Age=-0"), CookieResult::kDeleted);
  EXPECT_EQ(header(jar, "/"), "b=2; d=4; e=5; f=6");
}

TEST(CookieJar, MaxAgeAndExpiresExpire) {
  CookieJar jar;
  EXPECT_EQ(set(jar, "short=1; Max-Age=2"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "huge=1; Max-Age=99999999999999999999999"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "dated=1; Expires=Wed, 02 Dec 2026 20:00:05 GMT"), CookieResult::kStored);
  EXPECT_EQ(header(jar, "/"), "short=1; huge=1; dated=1");
  EXPECT_EQ(header(jar, "/", kNow + 2s), "huge=1; dated=1");  // expired: not sent
  EXPECT_EQ(header(jar, "/", kNow + 5s), "huge=1");
  // A past Expires deletes; Max-Age wins over Expires wherever it stands.
  EXPECT_EQ(set(jar, "huge=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), CookieResult::kDeleted);
  EXPECT_EQ(set(jar, "m=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            CookieResult::kStored);
  EXPECT_EQ(set(jar, "m=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Max-Age=0"),
            CookieResult::kDeleted);
  EXPECT_EQ(set(jar, "now=1; Expires=Wed, 02 Dec 2026 20:00:00 GMT"), CookieResult::kDeleted);
  EXPECT_EQ(set(jar, "bad=1; Expires=someday"), CookieResult::kStored);  // ignored attribute
  EXPECT_EQ(header(jar, "/"), "short=1; dated=1; bad=1");
  EXPECT_EQ(header(jar, "/", kNow + 5s), "bad=1");
}

TEST(CookieJar, CookieDatesReadAsSection511Says) {
  int64_t t = 0;
  ASSERT_TRUE(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));  // RFC 1123
  EXPECT_EQ(t, 784111777);
  ASSERT_TRUE(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));  // RFC 850
  EXPECT_EQ(t, 784111777);
  ASSERT_TRUE(parse_cookie_date("Sun Nov  6 08:49:37 1994", &t));  // asctime
  EXPECT_EQ(t, 784111777);
  ASSERT_TRUE(parse_cookie_date("06 november 69 8:9:7", &t));  // 2-digit years to 69: 20xx
  EXPECT_EQ(t, 3150950947);
  ASSERT_TRUE(parse_cookie_date("29 Feb 2024 00:00:00", &t));
  EXPECT_EQ(t, 1709164800);
  EXPECT_FALSE(parse_cookie_date("29 Feb 2023 00:00:00", &t));  // no such day
  EXPECT_FALSE(parse_cookie_date("31 Apr 2024 00:00:00", &t));
  EXPECT_FALSE(parse_cookie_date("06 Nov 1994", &t));        // no time
  EXPECT_FALSE(parse_cookie_date("06 Nov 08:49:37", &t));    // no year
  EXPECT_FALSE(parse_cookie_date("Nov 1994 08:49:37", &t));  // 1994 is no day
  EXPECT_FALSE(parse_cookie_date("06 Nov 1600 08:49:37", &t));
  EXPECT_FALSE(parse_cookie_date("06 Nov 1994 24:00:00", &t));
  EXPECT_FALSE(parse_cookie_date("32 Nov 1994 08:49:37", &t));
  EXPECT_FALSE(parse_cookie_date("", &t));
}

TEST(CookieJar, CountAndSizeAreBounded) {
  CookieJar jar(3, 100);
  EXPECT_EQ(set(jar, "a=1"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "b=2"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "c=3"), CookieResult::kStored);
  EXPECT_EQ(set(jar, "d=4"), CookieResult::kFull);     // a fourth
  EXPECT_EQ(set(jar, "c=33"), CookieResult::kStored);  // a replacement is no new cookie
  EXPECT_EQ(set(jar, "a=" + std::string(94, 'x')), CookieResult::kFull);    // 96 + 3 + 4 > 100
  EXPECT_EQ(set(jar, "a=" + std::string(90, 'x')), CookieResult::kStored);  // 92 + 3 + 4 bytes
  EXPECT_EQ(header(jar, "/"), "a=" + std::string(90, 'x') + "; b=2; c=33");
  EXPECT_EQ(set(jar, "b=; Max-Age=0"), CookieResult::kDeleted);
  EXPECT_EQ(set(jar, "d=4"), CookieResult::kStored);  // room again
  EXPECT_EQ(header(jar, "/"), "a=" + std::string(90, 'x') + "; c=33; d=4");

  CookieJar big;
  // Name, value and path "/" of 4,096 bytes fit; one more does not.
  EXPECT_EQ(set(big, "n=" + std::string(4095, 'v')), CookieResult::kTooLong);
  EXPECT_EQ(set(big, "n=" + std::string(4094, 'v')), CookieResult::kStored);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(set(big, "k" + std::to_string(i) + "=v"),
              i < 31 ? CookieResult::kStored : CookieResult::kFull);
  }
  // A header that does not fit the caller's buffer: false.
  char small[10];
  size_t n = 0;
  EXPECT_FALSE(big.cookie_header("/", small, sizeof small, &n));
  CookieJar two;
  set(two, "a=1");
  set(two, "b=2");
  char fits[8];  // "a=1; b=2" is 8 bytes
  EXPECT_TRUE(two.cookie_header("/", fits, sizeof fits, &n, kNow));
  EXPECT_EQ(std::string(fits, n), "a=1; b=2");
  EXPECT_FALSE(two.cookie_header("/", fits, 7, &n, kNow));
}

}  // namespace cookie_jar_test
}  // namespace horde
