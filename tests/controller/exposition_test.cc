// The exposition-format reader (controller/exposition.h) on every syntax form
// the format has, on garbage, on a body over the limit; and counter rates
// across resets, checked against increases computed by hand.
#include "controller/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace horde {
namespace exposition_test {

using ::testing::HasSubstr;

std::vector<Sample> parse_ok(const std::string& text) {
  auto r = parse_exposition(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::vector<Sample>{};
}

TEST(Exposition, ReadsEverySyntaxForm) {
  const std::string body =
      "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
      "# TYPE node_cpu_seconds_total counter\n"
      "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1234.5\n"
      "node_cpu_seconds_total{mode=\"user\",cpu=\"0\",} 77 1700000000000\n"
      "\n"
      "   # an indented comment\n"
      "up 1\r\n"
      "http_requests_total{path=\"/a \\\"b\\\"\\\\c\\nd\"} +3.5e2 -5\n"
      "rpc_duration_seconds_bucket{le=\"+Inf\"} +Inf\n"
      "weird\t{ a = \"x\" }\t-inf\n"
      "nothing_yet NaN\n"
      "colon:name_total{} 0x0\n";
  auto r = parse_exposition(body);
  // 0x0 is not a value Go reads in this format: the whole body is refused, naming the line.
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("line 12: value"));

  const auto samples = parse_ok(body.substr(0, body.rfind("colon:")) + "colon:name_total{} 0\n");
  ASSERT_EQ(samples.size(), 8u);
  EXPECT_EQ(samples[0].name, "node_cpu_seconds_total");
  EXPECT_EQ(samples[0].labels,
            (std::vector<std::pair<std::string, std::string>>{{"cpu", "0"}, {"mode", "idle"}}));
  EXPECT_DOUBLE_EQ(samples[0].value, 1234.5);
  EXPECT_FALSE(samples[0].timestamp_ms.has_value());
  // Labels sorted by name whatever their order, a trailing comma allowed, a timestamp read.
  EXPECT_EQ(samples[1].labels,
            (std::vector<std::pair<std::string, std::string>>{{"cpu", "0"}, {"mode", "user"}}));
  EXPECT_EQ(samples[1].timestamp_ms, 1700000000000);
  EXPECT_EQ(samples[2].name, "up");  // \r\n line ends
  EXPECT_DOUBLE_EQ(samples[2].value, 1);
  EXPECT_EQ(samples[3].labels[0].second, "/a \"b\"\\c\nd");  // the three escapes
  EXPECT_DOUBLE_EQ(samples[3].value, 350);
  EXPECT_EQ(samples[3].timestamp_ms, -5);
  EXPECT_EQ(samples[4].labels[0].second, "+Inf");
  EXPECT_TRUE(std::isinf(samples[4].value) && samples[4].value > 0);
  EXPECT_EQ(samples[5].name, "weird");  // tabs and blanks inside the braces
  EXPECT_EQ(samples[5].labels[0], (std::pair<std::string, std::string>{"a", "x"}));
  EXPECT_TRUE(std::isinf(samples[5].value) && samples[5].value < 0);
  EXPECT_TRUE(std::isnan(samples[6].value));
  EXPECT_EQ(samples[7].name, "colon:name_total");
  EXPECT_TRUE(samples[7].labels.empty());
}

TEST(Exposition, GarbageNamesTheLineAndTheProblem) {
  struct Case {
    const char* body;
    const char* error;
  };
  for (const Case& c : {
           Case{"9lives 1\n", "line 1: expected a metric name"},
           Case{"ok 1\nm{a=\"x\" 1\n", "line 2: expected ',' or '}'"},
           Case{"m{a=x} 1\n", "label a: expected a value in double quotes"},
           Case{"m{a=\"x\\t\"} 1\n", "label a: expected a value in double quotes"},
           Case{"m{a=\"x} 1\n", "label a: expected a value in double quotes"},
           Case{"m{a\"x\"} 1\n", "label a: expected '='"},
           Case{"m{=\"x\"} 1\n", "expected a label name"},
           Case{"m{a=\"1\",a=\"2\"} 1\n", "label a appears twice"},
           Case{"m\n", "value: got ''"},
           Case{"m one\n", "value: got 'one'"},
           Case{"m ++1\n", "value: got '++1'"},
           Case{"m 1 12.5\n", "timestamp: got '12.5'"},
           Case{"m 1 2 3\n", "unexpected text after the timestamp"},
           Case{"<html><body>Not Found</body></html>\n", "line 1: expected a metric name"},
       }) {
    SCOPED_TRACE(c.body);
    auto r = parse_exposition(c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr(c.error));
  }
}

TEST(Exposition, ABodyOverTenMegabytesIsRefusedWhole) {
  std::string big;
  while (big.size() <= kMaxExpositionBytes) big += "metric_with_a_long_name_total{a=\"b\"} 1\n";
  auto r = parse_exposition(big);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("over the limit of 10 MiB"));
  EXPECT_TRUE(parse_exposition("").ok());
  EXPECT_TRUE(parse_exposition("# only comments\n").value().empty());
}

TEST(Exposition, MatchEqualNotEqualAndMissingLabels) {
  const auto samples = parse_ok(
      "cpu{mode=\"idle\",cpu=\"0\"} 10\ncpu{mode=\"user\",cpu=\"0\"} 2\n"
      "cpu{mode=\"system\",cpu=\"1\"} 3\ncpu{cpu=\"1\"} 100\nother{mode=\"user\"} 1000\n");
  EXPECT_EQ(sum_matching(samples, {"cpu", {}}), 115.0);
  EXPECT_EQ(sum_matching(samples, {"cpu", {{"mode", "!idle"}}}), 105.0);  // missing = ""
  EXPECT_EQ(sum_matching(samples, {"cpu", {{"mode", "!idle"}, {"mode", "!"}}}), 5.0);
  EXPECT_EQ(sum_matching(samples, {"cpu", {{"mode", "user"}}}), 2.0);
  EXPECT_EQ(sum_matching(samples, {"cpu", {{"cpu", "1"}, {"mode", "system"}}}), 3.0);
  EXPECT_FALSE(sum_matching(samples, {"cpu", {{"mode", "steal"}}}).has_value());
  EXPECT_FALSE(sum_matching(samples, {"missing", {}}).has_value());
}

TEST(Exposition, CounterRatesAcrossResetsAsPrometheusComputesThem) {
  CounterRate rate({"cpu_seconds_total", {{"mode", "!idle"}}});
  auto scrape = [](double user, double sys, double idle) {
    return parse_ok("cpu_seconds_total{mode=\"user\"} " + std::to_string(user) +
                    "\ncpu_seconds_total{mode=\"system\"} " + std::to_string(sys) +
                    "\ncpu_seconds_total{mode=\"idle\"} " + std::to_string(idle) + "\n");
  };
  EXPECT_FALSE(rate.add(scrape(10, 5, 100), 0.0).has_value());  // the first scrape
  // user +3, system +1 in 2 s: 2 cores' worth of... 2 per second.
  EXPECT_DOUBLE_EQ(*rate.add(scrape(13, 6, 101), 2.0), 2.0);
  // user restarted from 0 (a reset): its increase is its new value, 1.5; system +0.5.
  EXPECT_DOUBLE_EQ(*rate.add(scrape(1.5, 6.5, 102), 3.0), 2.0);
  // A clock that did not advance gives no rate, and the next one is measured from it.
  EXPECT_FALSE(rate.add(scrape(2.5, 7.5, 103), 3.0).has_value());
  EXPECT_DOUBLE_EQ(*rate.add(scrape(3.5, 8.5, 104), 4.0), 2.0);

  // A series that appears later adds nothing until its second scrape.
  CounterRate grow({"req_total", {}});
  EXPECT_FALSE(grow.add(parse_ok("req_total{pod=\"a\"} 100\n"), 0).has_value());
  EXPECT_DOUBLE_EQ(*grow.add(parse_ok("req_total{pod=\"a\"} 110\nreq_total{pod=\"b\"} 500\n"), 1),
                   10.0);
  EXPECT_DOUBLE_EQ(*grow.add(parse_ok("req_total{pod=\"a\"} 120\nreq_total{pod=\"b\"} 505\n"), 2),
                   15.0);
  // No matching series at all: no rate, not 0.
  EXPECT_FALSE(grow.add(parse_ok("other 1\n"), 3).has_value());
}

}  // namespace exposition_test
}  // namespace horde
