#include "common/workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace horde {
namespace workload_test {

using std::chrono::microseconds;
using ::testing::HasSubstr;

// ---- durations ----

TEST(DurationTest, ParsesUnits) {
  const std::pair<const char*, int64_t> good[] = {
      {"250us", 250},
      {"1µs", 1},
      {"500ms", 500'000},
      {"10s", 10'000'000},
      {"2m", 120'000'000},
      {"1h", 3'600'000'000},
      {"0s", 0},
      {"0ms", 0},
      {" 10s ", 10'000'000},
      {"1.5s", 1'500'000},
      {"0.25ms", 250},
      {".5s", 500'000},
      {"1m30s", 90'000'000},
      {"1h2m3s4ms5us", 3'723'004'005},
      {"36000000s", 36'000'000'000'000},
  };
  for (const auto& [text, us] : good) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.error().message;
    EXPECT_EQ(d->count(), us) << text;
  }
}

TEST(DurationTest, RejectsBadText) {
  const std::pair<const char*, const char*> bad[] = {
      {"10", "no unit"},
      {"-1s", "negative"},
      {"1x", "unknown unit"},
      {"", "empty"},
      {"   ", "empty"},
      {"s", "not a duration"},
      {"1.5", "no unit"},
      {"0.5us", "finer than 1us"},
      {"1m30", "no unit"},
      {"10 s", "unknown unit"},
      {"99999999999999999999s", "too large"},
      {"9999999999999h", "too large"},
      {"1sec", "unknown unit"},
      {"1.2.3s", "no unit"},
  };
  for (const auto& [text, why] : bad) {
    auto d = parse_duration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_THAT(d.error().message, HasSubstr(why)) << text;
    EXPECT_THAT(d.error().message, HasSubstr("expected")) << text;
  }
}

TEST(DurationTest, FormatsShortestExactUnitAndRoundTrips) {
  const std::pair<int64_t, const char*> cases[] = {
      {0, "0s"},           {250, "250us"},      {1'000, "1ms"},      {1'500'000, "1500ms"},
      {10'000'000, "10s"}, {90'000'000, "90s"}, {120'000'000, "2m"}, {3'600'000'000, "1h"},
      {1'001, "1001us"},   {-2'000'000, "-2s"},
  };
  for (const auto& [us, text] : cases) {
    EXPECT_EQ(format_duration(microseconds(us)), text);
    if (us >= 0) {
      auto back = parse_duration(text);
      ASSERT_TRUE(back.ok()) << text;
      EXPECT_EQ(back->count(), us);
    }
  }
  EXPECT_EQ(format_duration(Millis(3'000)), "3s");
}

// ---- URLs ----

TEST(UrlTest, ParsesGoodUrls) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
    const char* path;
  };
  const Case cases[] = {
      {"http://localhost", "localhost", 80, "/"},
      {"http://localhost/", "localhost", 80, "/"},
      {"http://127.0.0.1:8080", "127.0.0.1", 8080, "/"},
      {"http://127.0.0.1:8080/api/items?id=1&x=2", "127.0.0.1", 8080, "/api/items?id=1&x=2"},
      {"http://example.com?q=1", "example.com", 80, "/?q=1"},
      {"http://[::1]:9000/x", "::1", 9000, "/x"},
      {"http://[::1]", "::1", 80, "/"},
      {"http://[2001:db8::1]/", "2001:db8::1", 80, "/"},
      {"HTTP://Svc-1.internal_x:1/", "Svc-1.internal_x", 1, "/"},
      {"http://h:65535/a#frag", "h", 65535, "/a"},
  };
  for (const Case& c : cases) {
    auto u = parse_url(c.text);
    ASSERT_TRUE(u.ok()) << c.text << ": " << u.error().message;
    EXPECT_EQ(u->scheme, "http");
    EXPECT_EQ(u->host, c.host) << c.text;
    EXPECT_EQ(u->port, c.port) << c.text;
    EXPECT_EQ(u->path, c.path) << c.text;
    EXPECT_EQ(u->text, c.text);
  }
}

TEST(UrlTest, RejectsBadUrls) {
  const std::pair<const char*, const char*> bad[] = {
      {"ftp://example.com/", "supported: http, https"},
      {"ws://x/", "unsupported scheme \"ws\""},
      {"", "empty"},
      {"example.com", "not a URL"},
      {"http://", "no host"},
      {"http:///path", "no host"},
      {"http://:8080/", "no host"},
      {"http://host:0/", "invalid port"},
      {"http://host:65536/", "invalid port"},
      {"http://host:/", "invalid port"},
      {"http://host:80x/", "invalid port"},
      {"http://ho st/", "spaces"},
      {"http://host/a b", "spaces"},
      {"http://h$t/", "invalid host"},
      {"http://user:pw@host/", "credentials"},
      {"http://[::1/", "unclosed"},
      {"http://[nope]/", "invalid IPv6"},
      {"http://[::1]x/", "after ']'"},
      {"garbage", "not a URL"},
  };
  for (const auto& [text, why] : bad) {
    auto u = parse_url(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_THAT(u.error().message, HasSubstr(why)) << text;
  }
}

// ---- thresholds ----

TEST(ThresholdTest, ParsesTable) {
  struct Case {
    const char* text;
    Metric metric;
    Comparison op;
    double value;
  };
  const Case cases[] = {
      {"p99 < 200ms", Metric::kP99, Comparison::kLess, 200},
      {"p50<=1.5s", Metric::kP50, Comparison::kLessEqual, 1500},
      {"p90 > 250us", Metric::kP90, Comparison::kGreater, 0.25},
      {"p999 >= 1s", Metric::kP999, Comparison::kGreaterEqual, 1000},
      {"p99.9 < 1s", Metric::kP999, Comparison::kLess, 1000},
      {"max < 2m", Metric::kMax, Comparison::kLess, 120'000},
      {"mean < 10ms", Metric::kMean, Comparison::kLess, 10},
      {"error_rate < 1%", Metric::kErrorRate, Comparison::kLess, 0.01},
      {"error_rate <= 0.5 %", Metric::kErrorRate, Comparison::kLessEqual, 0.005},
      {"error_rate < 0.01", Metric::kErrorRate, Comparison::kLess, 0.01},
      {"rps > 1000", Metric::kThroughput, Comparison::kGreater, 1000},
      {"throughput >= 2.5e3", Metric::kThroughput, Comparison::kGreaterEqual, 2500},
      {"  P99   <   200ms  ", Metric::kP99, Comparison::kLess, 200},
  };
  for (const Case& c : cases) {
    auto t = parse_threshold(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.error().message;
    EXPECT_EQ(t->metric, c.metric) << c.text;
    EXPECT_EQ(t->op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(t->value, c.value) << c.text;
  }
  EXPECT_EQ(parse_threshold("  p99 < 200ms ")->text, "p99 < 200ms");
}

TEST(ThresholdTest, RejectsBadOnes) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "empty"},
      {"p98 < 1s", "unknown metric \"p98\""},
      {"p99 = 1s", "missing comparison"},
      {"p99 <", "missing value"},
      {"p99 < 200", "no unit"},
      {"p99 < -1s", "negative"},
      {"error_rate < 101%", "error_rate needs"},
      {"error_rate < 2", "error_rate needs"},
      {"error_rate < abc", "error_rate needs"},
      {"rps > fast", "requests/s"},
      {"rps > -5", "requests/s"},
      {"rps > 1000ms", "requests/s"},
  };
  for (const auto& [text, why] : bad) {
    auto t = parse_threshold(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_THAT(t.error().message, HasSubstr(why)) << text;
    EXPECT_THAT(t.error().message, HasSubstr("<metric>[{name:NAME}] <op> <value>")) << text;
  }
}

TEST(ThresholdTest, HoldsAndNames) {
  const Threshold lt{Metric::kP99, Comparison::kLess, 200, "p99 < 200ms", "", ""};
  EXPECT_TRUE(threshold_holds(lt, 199.9));
  EXPECT_FALSE(threshold_holds(lt, 200));
  const Threshold le{Metric::kP99, Comparison::kLessEqual, 200, "", "", ""};
  EXPECT_TRUE(threshold_holds(le, 200));
  EXPECT_FALSE(threshold_holds(le, 200.1));
  const Threshold gt{Metric::kThroughput, Comparison::kGreater, 1000, "", "", ""};
  EXPECT_TRUE(threshold_holds(gt, 1000.5));
  EXPECT_FALSE(threshold_holds(gt, 1000));
  const Threshold ge{Metric::kThroughput, Comparison::kGreaterEqual, 1000, "", "", ""};
  EXPECT_TRUE(threshold_holds(ge, 1000));
  EXPECT_FALSE(threshold_holds(ge, 999));

  EXPECT_EQ(metric_name(Metric::kP50), "p50");
  EXPECT_EQ(metric_name(Metric::kP90), "p90");
  EXPECT_EQ(metric_name(Metric::kP99), "p99");
  EXPECT_EQ(metric_name(Metric::kP999), "p999");
  EXPECT_EQ(metric_name(Metric::kMax), "max");
  EXPECT_EQ(metric_name(Metric::kMean), "mean");
  EXPECT_EQ(metric_name(Metric::kErrorRate), "error_rate");
  EXPECT_EQ(metric_name(Metric::kThroughput), "rps");
  // Every name parses back to its metric.
  for (Metric m : {Metric::kP50, Metric::kP90, Metric::kP99, Metric::kP999, Metric::kMax,
                   Metric::kMean, Metric::kErrorRate, Metric::kThroughput}) {
    const bool latency = m != Metric::kErrorRate && m != Metric::kThroughput;
    auto t = parse_threshold(metric_name(m) + " < " + (latency ? "1s" : "1"));
    ASSERT_TRUE(t.ok()) << metric_name(m);
    EXPECT_EQ(t->metric, m);
  }
}

// ---- whole workloads ----

TEST(WorkloadTest, MinimalFileGetsDefaults) {
  auto w = parse_workload("target: http://127.0.0.1:8080/health\n", "dir/quick.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->name, "quick");  // from the file name when not given
  ASSERT_EQ(w->targets.size(), 1u);
  EXPECT_EQ(w->targets[0].port, 8080);
  EXPECT_EQ(w->targets[0].path, "/health");
  ASSERT_EQ(w->requests.size(), 1u);
  EXPECT_EQ(w->requests[0], RequestSpec{});
  EXPECT_EQ(w->requests[0].path, "");
  EXPECT_EQ(w->load, LoadSpec{});
  EXPECT_EQ(w->load.mode, LoadMode::kClosed);
  EXPECT_EQ(w->load.connections, 10u);
  EXPECT_EQ(w->load.duration, Millis(10'000));
  EXPECT_EQ(w->load.interval, Millis(1'000));
  EXPECT_EQ(w->load.connect_timeout, Millis(3'000));
  EXPECT_EQ(w->load.request_timeout, Millis(10'000));
  EXPECT_TRUE(w->thresholds.empty());
  EXPECT_FALSE(w->builtin_target.has_value());
}

const char* kFull = R"(
name: checkout
targets:
  - http://10.0.0.1:8080/
  - http://[::1]:8081/base
requests:
  - method: get
    path: /items?id=1
    weight: 3
  - method: POST
    path: /orders
    headers:
      Content-Type: application/json
      X-Count: 5
    body: '{"sku": 42}'
load:
  rate: 2500.5
  connections: 64
  duration: 2m
  warmup: 10s
  interval: 500ms
  connect_timeout: 1.5s
  request_timeout: 2s
thresholds:
  - p99 < 200ms
  - error_rate < 1%
  - rps >= 2000
)";

TEST(WorkloadTest, FullFileParsesToTypedValues) {
  auto w = parse_workload(kFull, "full.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->name, "checkout");
  ASSERT_EQ(w->targets.size(), 2u);
  EXPECT_EQ(w->targets[1].host, "::1");
  EXPECT_EQ(w->targets[1].path, "/base");
  ASSERT_EQ(w->requests.size(), 2u);
  EXPECT_EQ(w->requests[0].method, "GET");
  EXPECT_EQ(w->requests[0].path, "/items?id=1");
  EXPECT_EQ(w->requests[0].weight, 3u);
  EXPECT_EQ(w->requests[1].method, "POST");
  EXPECT_EQ(w->requests[1].weight, 1u);
  using H = std::pair<std::string, std::string>;
  EXPECT_EQ(w->requests[1].headers,
            (std::vector<H>{{"Content-Type", "application/json"}, {"X-Count", "5"}}));
  EXPECT_EQ(w->requests[1].body, "{\"sku\": 42}");
  EXPECT_EQ(w->load.mode, LoadMode::kOpen);  // implied by rate
  EXPECT_DOUBLE_EQ(w->load.rate, 2500.5);
  EXPECT_EQ(w->load.connections, 64u);
  EXPECT_EQ(w->load.duration, Millis(120'000));
  EXPECT_EQ(w->load.warmup, Millis(10'000));
  EXPECT_EQ(w->load.interval, Millis(500));
  EXPECT_EQ(w->load.connect_timeout, Millis(1'500));
  EXPECT_EQ(w->load.request_timeout, Millis(2'000));
  ASSERT_EQ(w->thresholds.size(), 3u);
  EXPECT_EQ(w->thresholds[0].metric, Metric::kP99);
  EXPECT_DOUBLE_EQ(w->thresholds[0].value, 200);
  EXPECT_DOUBLE_EQ(w->thresholds[1].value, 0.01);
  EXPECT_EQ(w->thresholds[2].metric, Metric::kThroughput);
}

TEST(WorkloadTest, JsonInputWorks) {
  const char* json =
      "{\n\t\"name\": \"j\",\n\t\"target\": \"http://127.0.0.1:9/\",\n"
      "\t\"load\": {\"mode\": \"closed\", \"connections\": 3, \"duration\": \"5s\"},\n"
      "\t\"requests\": [{\"method\": \"PUT\", \"path\": \"/x\", \"weight\": 2}],\n"
      "\t\"thresholds\": [\"p50 < 1s\"]\n}\n";
  auto w = parse_workload(json, "w.json");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->name, "j");
  EXPECT_EQ(w->load.mode, LoadMode::kClosed);
  EXPECT_EQ(w->load.connections, 3u);
  EXPECT_EQ(w->load.duration, Millis(5'000));
  EXPECT_EQ(w->requests[0].method, "PUT");
  EXPECT_EQ(w->requests[0].weight, 2u);
  EXPECT_EQ(w->thresholds.size(), 1u);
}

TEST(WorkloadTest, BuiltinTarget) {
  auto w = parse_workload("builtin_target:\n", "b.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->builtin_target.has_value());
  EXPECT_EQ(*w->builtin_target, BuiltinTarget{});
  EXPECT_TRUE(w->targets.empty());
  EXPECT_TRUE(finalize_workload(*w, "b.yaml").ok());

  w = parse_workload("builtin_target: {instances: 4, workers: 8, service_time: 5ms}\n", "b.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->builtin_target->instances, 4u);
  EXPECT_EQ(w->builtin_target->workers, 8u);
  EXPECT_EQ(w->builtin_target->service_time, Millis(5));

  w = parse_workload("builtin_target: false\ntarget: http://h/\n", "b.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_FALSE(w->builtin_target.has_value());
}

TEST(WorkloadTest, MissingTargetFailsOnlyInFinalize) {
  auto w = parse_workload("load: {connections: 2}\n", "t.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto f = finalize_workload(*w, "t.yaml");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message,
            "t.yaml: target: missing; give `target: http://host:port/` or `builtin_target:`");
  // The CLI sets a target from a flag, then finalizes.
  w->targets.push_back(*parse_url("http://127.0.0.1:8080/"));
  auto g = finalize_workload(*w, "t.yaml");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->requests.size(), 1u);
}

TEST(WorkloadTest, FinalizeChecksOverriddenLoad) {
  auto w = parse_workload("target: http://h/\n", "f.yaml");
  ASSERT_TRUE(w.ok());
  Workload open = *w;
  open.load.mode = LoadMode::kOpen;  // a CLI flag switched the mode but gave no rate
  auto r = finalize_workload(open, "f.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("f.yaml: load.rate: "));
  Workload closed = *w;
  closed.load.rate = 5;
  r = finalize_workload(closed, "f.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("load.rate: not allowed in closed mode"));
  Workload cleared = *w;
  cleared.requests.clear();
  r = finalize_workload(cleared, "f.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->requests.size(), 1u);
}

struct BadCase {
  const char* yaml;
  const char* message_part;  // must appear in the error, usually the field path
};

TEST(WorkloadTest, BadInputsNameTheField) {
  const BadCase cases[] = {
      // Unknown keys at every level, with suggestions.
      {"target: http://h/\nlaod: {}\n", "bad.yaml: laod: unknown key; did you mean \"load\"?"},
      {"target: http://h/\nload: {conections: 5}\n",
       "bad.yaml: load.conections: unknown key; did you mean \"connections\"?"},
      {"target: http://h/\nload: {zzzzzzzz: 5}\n", "load.zzzzzzzz: unknown key; allowed keys: "},
      {"target: http://h/\nrequests: [{methd: GET}]\n",
       "requests[0].methd: unknown key; did you mean \"method\"?"},
      {"builtin_target: {worker: 3}\n", "builtin_target.worker: unknown key; did you mean"},
      {"target: http://h/\ntarget: http://g/\n", "target: given twice"},
      // Top level shape.
      {"- a\n- b\n", "bad.yaml: top level: got a list; expected a map"},
      {"just a string\n", "top level"},
      {"", "top level: empty"},
      // Targets.
      {"target: ftp://h/\n", "target: \"ftp://h/\": unsupported scheme"},
      {"target: [http://h/]\n", "target: got a list; expected a URL"},
      {"targets: http://h/\n", "targets: got \"http://h/\"; expected a list of URLs"},
      {"targets: [http://h/, http://:1/]\n", "targets[1]: "},
      {"target: http://h/\ntargets: [http://g/]\n", "targets: given together with target"},
      {"target: http://h/\nbuiltin_target:\n", "builtin_target: given together with target"},
      {"builtin_target: {instances: 0}\n", "builtin_target.instances: got \"0\""},
      {"builtin_target: {workers: many}\n", "builtin_target.workers: got \"many\""},
      {"builtin_target: {service_time: 0ms}\n", "builtin_target.service_time: got \"0ms\""},
      {"builtin_target: [1]\n", "builtin_target: got a list; expected a map"},
      // Requests.
      {"target: http://h/\nrequests: {method: GET}\n", "requests: got a map; expected a list"},
      {"target: http://h/\nrequests: []\n", "requests: got an empty list"},
      {"target: http://h/\nrequests: [GET /]\n", "requests[0]: got \"GET /\"; expected a map"},
      {"target: http://h/\nrequests: [{method: FETCH}]\n",
       "requests[0].method: got \"FETCH\"; expected one of GET, POST"},
      {"target: http://h/\nrequests: [{path: /a}, {path: api}]\n",
       "requests[1].path: got \"api\"; expected a path starting with '/'"},
      {"target: http://h/\nrequests: [{path: /a b}]\n", "requests[0].path: "},
      {"target: http://h/\nrequests: [{weight: 0}]\n", "requests[0].weight: got \"0\""},
      {"target: http://h/\nrequests: [{weight: 1.5}]\n", "requests[0].weight: got \"1.5\""},
      {"target: http://h/\nrequests: [{weight: [1]}]\n", "requests[0].weight: got a list"},
      {"target: http://h/\nrequests: [{headers: [a]}]\n", "requests[0].headers: got a list"},
      {"target: http://h/\nrequests: [{headers: {Host: x}}]\n",
       "requests[0].headers.Host: set by the engine"},
      {"target: http://h/\nrequests: [{headers: {content-length: 3}}]\n",
       "requests[0].headers.content-length: set by the engine"},
      {"target: http://h/\nrequests: [{headers: {X-A: \"a\\r\\nB: c\"}}]\n",
       "requests[0].headers.X-A: value contains CR, LF"},
      {"target: http://h/\nrequests: [{headers: {\"X-A\\nB\": c}}]\n",
       "requests[0].headers.\"X-A\\nB\": header name contains CR or LF"},
      {"target: http://h/\nrequests: [{headers: {\"X A\": c}}]\n",
       "requests[0].headers.X A: invalid header name"},
      {"target: http://h/\nrequests: [{body: {a: 1}}]\n", "requests[0].body: got a map"},
      // Load.
      {"target: http://h/\nload: [1]\n", "load: got a list; expected a map"},
      {"target: http://h/\nload: {rate: -5}\n",
       "bad.yaml: load.rate: got \"-5\"; expected a number > 0"},
      {"target: http://h/\nload: {rate: 0}\n", "load.rate: got \"0\""},
      {"target: http://h/\nload: {rate: fast}\n", "load.rate: got \"fast\""},
      {"target: http://h/\nload: {mode: open}\n", "load.rate: missing; open mode needs a rate"},
      {"target: http://h/\nload: {mode: closed, rate: 10}\n",
       "load.rate: not allowed in closed mode"},
      {"target: http://h/\nload: {mode: sideways}\n", "load.mode: got \"sideways\""},
      {"target: http://h/\nload: {connections: 0}\n",
       "load.connections: got 0; expected an integer from 1 to 1000000"},
      {"target: http://h/\nload: {connections: 1000001}\n", "load.connections: got \"1000001\""},
      {"target: http://h/\nload: {connections: ten}\n", "load.connections: got \"ten\""},
      {"target: http://h/\nload: {connections: -1}\n", "load.connections: got \"-1\""},
      {"target: http://h/\nload: {connections: {a: 1}}\n", "load.connections: got a map"},
      {"target: http://h/\nload: {connections: }\n", "load.connections: got nothing"},
      {"target: http://h/\nload: {duration: 10}\n", "load.duration: \"10\" has no unit"},
      {"target: http://h/\nload: {duration: -1s}\n", "load.duration: \"-1s\" is negative"},
      {"target: http://h/\nload: {duration: 1x}\n", "load.duration: \"1x\" has an unknown unit"},
      {"target: http://h/\nload: {duration: ''}\n", "load.duration: empty"},
      {"target: http://h/\nload: {duration: 0s}\n", "load.duration: got \"0s\""},
      {"target: http://h/\nload: {duration: 1500us}\n",
       "load.duration: got \"1500us\"; expected a whole number of milliseconds"},
      {"target: http://h/\nload: {warmup: -1s}\n", "load.warmup: "},
      {"target: http://h/\nload: {interval: 50ms}\n",
       "load.interval: got \"50ms\"; expected a duration from 100ms to 60s"},
      {"target: http://h/\nload: {interval: 61s}\n", "load.interval: got \"61s\""},
      {"target: http://h/\nload: {connect_timeout: 0s}\n", "load.connect_timeout: got \"0s\""},
      {"target: http://h/\nload: {request_timeout: 5}\n", "load.request_timeout: \"5\""},
      // Thresholds.
      {"target: http://h/\nthresholds: p99 < 1s\n",
       "thresholds: got \"p99 < 1s\"; expected a list"},
      {"target: http://h/\nthresholds: [p99 < 1s, p50 < 1s, p97 < 1s]\n",
       "thresholds[2]: \"p97 < 1s\": unknown metric"},
      {"target: http://h/\nthresholds: [p99 < 1s, {a: 1}]\n", "thresholds[1]: got a map"},
      {"target: http://h/\nthresholds: [p99 < 1s, p99 < 200]\n",
       "thresholds[1]: \"p99 < 200\": p99 needs a duration"},
      // Other scalar types.
      {"name: [a]\ntarget: http://h/\n", "name: got a list; expected a string"},
      // Syntax.
      {"target: http://h/\nload: {connections: 5\n", "bad.yaml: line "},
      {"target: http://h/\nload:\n  a: 1\n b: 2\n", "bad.yaml: line "},
  };
  for (const BadCase& c : cases) {
    auto w = parse_workload(c.yaml, "bad.yaml");
    ASSERT_FALSE(w.ok()) << c.yaml;
    EXPECT_THAT(w.error().message, HasSubstr(c.message_part)) << c.yaml;
    EXPECT_EQ(w.error().message.rfind("bad.yaml: ", 0), 0u) << w.error().message;
  }
}

TEST(WorkloadTest, UnknownKeyListsAllowedKeys) {
  auto w = parse_workload("target: http://h/\nload: {conections: 5}\n", "q.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message,
              HasSubstr("allowed keys: mode, connections, rate, duration, warmup, interval, "
                        "connect_timeout, request_timeout"));
}

TEST(WorkloadTest, SyntaxErrorReportsLineAndColumn) {
  auto w = parse_workload("target: http://h/\nload: {connections: [5\n", "s.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message, ::testing::MatchesRegex("s\\.yaml: line [0-9]+, column [0-9]+: "
                                                         "YAML syntax error: .*"));
}

TEST(WorkloadTest, ModeAndRateRules) {
  auto w = parse_workload("target: http://h/\nload: {mode: OPEN, rate: 1e3}\n", "m.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.mode, LoadMode::kOpen);
  EXPECT_DOUBLE_EQ(w->load.rate, 1000);
  w = parse_workload("target: http://h/\nload: {mode: closed, rate: null}\n", "m.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.mode, LoadMode::kClosed);
  EXPECT_EQ(w->load.rate, 0);
}

TEST(WorkloadTest, FileLoading) {
  auto missing = load_workload_file("/nonexistent/dir/w.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "/nonexistent/dir/w.yaml: cannot read file: No such file or directory");
  auto dir = load_workload_file("/tmp");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.error().message, HasSubstr("/tmp: cannot read file: "));

  char path[] = "/tmp/horde_workload_testXXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "load: {connections: 0}\n";
  }
  auto bad = load_workload_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr(std::string(path) + ": load.connections: "));
  {
    std::ofstream out(path);
    out << kFull;
  }
  auto good = load_workload_file(path);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(*good, *parse_workload(kFull, path));
  {
    std::ofstream out(path);
    out << "load: {connections: 2}\n";  // no target: loads, finalize fails
  }
  auto no_target = load_workload_file(path);
  ASSERT_TRUE(no_target.ok()) << no_target.error().message;
  EXPECT_FALSE(finalize_workload(*no_target, path).ok());
  std::remove(path);
}

TEST(WorkloadTest, ToJsonHasResolvedDefaultsAndRoundTrips) {
  auto w = parse_workload("target: http://127.0.0.1:8080/\n", "d.yaml");
  ASSERT_TRUE(w.ok());
  const nlohmann::json j = to_json(*w);
  for (const char* key : {"name", "targets", "requests", "load", "thresholds"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_FALSE(j.contains("builtin_target"));
  EXPECT_EQ(j["name"], "d");
  EXPECT_EQ(j["targets"], nlohmann::json::array({"http://127.0.0.1:8080/"}));
  const auto& load = j["load"];
  EXPECT_EQ(load["mode"], "closed");
  EXPECT_TRUE(load["rate"].is_null());
  EXPECT_EQ(load["connections"], 10);
  EXPECT_EQ(load["duration"], "10s");
  EXPECT_EQ(load["warmup"], "0s");
  EXPECT_EQ(load["interval"], "1s");
  EXPECT_EQ(load["connect_timeout"], "3s");
  EXPECT_EQ(load["request_timeout"], "10s");
  ASSERT_EQ(j["requests"].size(), 1u);
  for (const char* key : {"method", "path", "headers", "body", "weight"}) {
    EXPECT_TRUE(j["requests"][0].contains(key)) << key;
  }
  EXPECT_EQ(j["requests"][0]["method"], "GET");
  // The JSON is itself a valid workload that parses back to the same value.
  auto back = parse_workload(j.dump(2), "d.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *w);

  auto full = parse_workload(kFull, "full.yaml");
  ASSERT_TRUE(full.ok());
  const nlohmann::json jf = to_json(*full);
  EXPECT_EQ(jf["load"]["mode"], "open");
  EXPECT_DOUBLE_EQ(jf["load"]["rate"].get<double>(), 2500.5);
  EXPECT_EQ(jf["load"]["connect_timeout"], "1500ms");
  EXPECT_EQ(jf["thresholds"][1], "error_rate < 1%");
  auto full_back = parse_workload(jf.dump(), "full.json");
  ASSERT_TRUE(full_back.ok()) << full_back.error().message;
  EXPECT_EQ(*full_back, *full);  // headers were already in name order

  auto b = parse_workload("builtin_target: {instances: 3}\n", "b.yaml");
  ASSERT_TRUE(b.ok());
  const nlohmann::json jb = to_json(*b);
  EXPECT_EQ(jb["builtin_target"]["instances"], 3);
  EXPECT_EQ(jb["builtin_target"]["service_time"], "2ms");
  auto b_back = parse_workload(jb.dump(), "b.json");
  ASSERT_TRUE(b_back.ok()) << b_back.error().message;
  EXPECT_EQ(*b_back, *b);
}

// ---- https, tls, arrival, stages, max_connections ----

TEST(UrlTest, HttpsDefaultsToPort443) {
  auto u = parse_url("https://example.com/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  auto p = parse_url("HTTPS://[::1]:8443/");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->scheme, "https");
  EXPECT_EQ(p->port, 8443);
}

TEST(WorkloadTest, TlsReadsTheCaFileRelativeToTheWorkload) {
  char dir[] = "/tmp/horde_tls_testXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  {
    std::ofstream out(std::string(dir) + "/ca.pem");
    out << pem;
    std::ofstream w(std::string(dir) + "/w.yaml");
    w << "target: https://h/\ntls: {ca_file: ca.pem, server_name: api.example}\n";
    std::ofstream bad(std::string(dir) + "/bad.pem");
    bad << "not a certificate\n";
  }
  auto w = load_workload_file(std::string(dir) + "/w.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->tls.ca_file, "ca.pem");
  EXPECT_EQ(w->tls.ca_pem, pem);
  EXPECT_EQ(w->tls.server_name, "api.example");
  EXPECT_FALSE(w->tls.insecure_skip_verify);

  auto insecure = parse_workload("target: https://h/\ntls: {insecure_skip_verify: true}\n", "w");
  ASSERT_TRUE(insecure.ok()) << insecure.error().message;
  EXPECT_TRUE(insecure->tls.insecure_skip_verify);

  auto missing = parse_workload("target: https://h/\ntls: {ca_file: /nonexistent/ca.pem}\n", "w");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("w: tls.ca_file: cannot read \"/nonexistent/ca.pem\""));
  auto not_pem =
      parse_workload("target: https://h/\ntls: {ca_file: " + std::string(dir) + "/bad.pem}\n", "w");
  ASSERT_FALSE(not_pem.ok());
  EXPECT_THAT(not_pem.error().message, HasSubstr("holds no certificate"));
  std::system((std::string("rm -rf ") + dir).c_str());
}

TEST(WorkloadTest, ArrivalAndMaxConnections) {
  auto w = parse_workload(
      "target: http://h/\nload: {rate: 100, arrival: poisson, connections: 5, max_connections: "
      "50}\n",
      "w");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.mode, LoadMode::kOpen);
  EXPECT_EQ(w->load.arrival, Arrival::kPoisson);
  EXPECT_EQ(w->load.max_connections, 50u);
  EXPECT_EQ(w->load.connections, 5u);  // opened in advance, as asked
  auto d = parse_workload("target: http://h/\nload: {rate: 100}\n", "w");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->load.arrival, Arrival::kUniform);
  // Open loop connects on demand: none in advance, at most 10 unless asked.
  EXPECT_EQ(d->load.connections, 0u);
  EXPECT_EQ(d->load.max_connections, 10u);
  auto c = parse_workload("target: http://h/\nload: {rate: 100, connections: 32}\n", "w");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->load.connections, 32u);
  EXPECT_EQ(c->load.max_connections, 32u);
  auto zero = parse_workload("target: http://h/\nload: {rate: 100, connections: 0}\n", "w");
  ASSERT_TRUE(zero.ok()) << zero.error().message;
  auto closed = parse_workload("target: http://h/\nload: {connections: 0}\n", "w");
  ASSERT_FALSE(closed.ok());
  EXPECT_NE(closed.error().message.find("load.connections"), std::string::npos);
}

TEST(WorkloadTest, OpenLoopStages) {
  auto w = parse_workload(
      "target: http://h/\nload:\n  stages:\n    - {duration: 30s, rate: 100}\n"
      "    - {duration: 1m, rate: 100}\n    - {duration: 0s, rate: 500}\n"
      "    - {duration: 10s, rate: 0}\n",
      "w");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.mode, LoadMode::kOpen);
  EXPECT_EQ(w->load.duration, Millis(100'000));  // the sum of the stages
  EXPECT_EQ(w->load.rate, 0);
  ASSERT_EQ(w->load.stages.size(), 4u);
  EXPECT_EQ(w->load.stages[1], (Stage{Millis(60'000), 100, 0}));
  EXPECT_EQ(w->load.stages[2], (Stage{Millis(0), 500, 0}));
  auto same = parse_workload(
      "target: http://h/\nload: {duration: 3s, stages: [{duration: 3s, rate: 5}]}\n", "w");
  EXPECT_TRUE(same.ok());
}

TEST(WorkloadTest, ClosedLoopStages) {
  auto w = parse_workload(
      "target: http://h/\nload:\n  stages: [{duration: 10s, connections: 50}, "
      "{duration: 10s, connections: 20}]\n",
      "w");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.mode, LoadMode::kClosed);
  EXPECT_EQ(w->load.connections, 50u);  // the pool: the largest stage
  EXPECT_EQ(w->load.duration, Millis(20'000));
  EXPECT_EQ(w->load.stages[1], (Stage{Millis(10'000), 0, 20}));
}

TEST(WorkloadTest, StageAndTlsErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"load: {duration: 5s, stages: [{duration: 3s, rate: 5}]}\n",
       "w: load.duration: got 5s but load.stages add up to 3s"},
      {"load: {warmup: 1s, stages: [{duration: 3s, rate: 5}]}\n",
       "w: load.warmup: not allowed with load.stages"},
      {"load: {rate: 10, stages: [{duration: 3s, rate: 5}]}\n",
       "w: load.rate: not allowed with load.stages"},
      {"load: {stages: [{duration: 3s, rate: 5}, {duration: 1s, connections: 5}]}\n",
       "w: load.stages[1]: mixes rate and connections"},
      {"load: {stages: [{duration: 3s, rate: 5, connections: 2}]}\n",
       "w: load.stages[0]: expected exactly one of rate"},
      {"load: {stages: [{rate: 5}]}\n", "w: load.stages[0].duration: missing"},
      {"load: {stages: [{duration: 3s, rat: 5}]}\n",
       "w: load.stages[0].rat: unknown key; did you mean \"rate\"?"},
      {"load: {stages: [{duration: 3s, rate: -1}]}\n", "w: load.stages[0].rate: got \"-1\""},
      {"load: {stages: [{duration: 3s, rate: 0}]}\n", "w: load.stages: every stage has rate 0"},
      {"load: {stages: []}\n", "w: load.stages: got "},
      {"load: {mode: closed, stages: [{duration: 3s, rate: 5}]}\n",
       "w: load.stages: set rate but load.mode is closed"},
      {"load: {connections: 5, stages: [{duration: 3s, connections: 9}]}\n",
       "w: load.connections: got 5 but a stage wants 9"},
      {"load: {arrival: bursty, rate: 5}\n", "w: load.arrival: got \"bursty\"; expected uniform"},
      {"load: {connections: 5, max_connections: 50}\n", "w: load.max_connections: only for open"},
      {"load: {rate: 5, connections: 10, max_connections: 5}\n",
       "w: load.max_connections: got 5; expected at least load.connections (10)"},
      {"tls: {insecure_skip_verify: maybe}\n", "w: tls.insecure_skip_verify: got \"maybe\""},
      {"tls: {ca: x}\n", "w: tls.ca: unknown key"},
      {"tls: [a]\n", "w: tls: got a list"},
  };
  for (const auto& [yaml, message] : cases) {
    auto w = parse_workload(std::string("target: https://h/\n") + yaml, "w");
    ASSERT_FALSE(w.ok()) << yaml;
    EXPECT_THAT(w.error().message, HasSubstr(message)) << yaml;
  }
}

namespace {
Result<Workload> finalized(const std::string& yaml) {
  auto w = parse_workload(yaml, "w.yaml");
  if (!w) return w.error();
  return finalize_workload(std::move(*w), "w.yaml");
}
}  // namespace

TEST(RequestNames, DefaultsSharedNamesSelectorsAndExpect) {
  auto w = finalized(
      "target: http://127.0.0.1:9/\n"
      "requests:\n"
      "  - {path: /a}\n"
      "  - {name: b, path: /b1, expect: {status: [201, 4xx]}}\n"
      "  - {name: b, path: /b2, expect: {body_contains: '\"state\": \"up\"'}}\n"
      "thresholds: ['p99{name:b} < 1s', 'error_rate{ name: GET /a } < 1%']\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(request_names(*w), (std::vector<std::string>{"GET /a", "b"}));
  EXPECT_EQ(w->requests[0].name_index, 0);
  EXPECT_EQ(w->requests[1].name_index, 1);
  EXPECT_EQ(w->requests[2].name_index, 1);
  ASSERT_EQ(w->requests[1].expect_status.size(), 101u);  // 201 and 400..499
  EXPECT_EQ(w->requests[1].expect_status.front(), 201);
  EXPECT_EQ(w->requests[1].expect_status.back(), 499);
  EXPECT_TRUE(w->requests[1].expect_body.empty());
  EXPECT_TRUE(w->requests[2].expect_status.empty());  // the default rule, and the body
  EXPECT_EQ(w->requests[2].expect_body, "\"state\": \"up\"");
  EXPECT_EQ(w->thresholds[0].name, "b");
  EXPECT_EQ(w->thresholds[1].name, "GET /a");
  // to_json parses back to the same requests.
  auto again = finalized(to_json(*w).dump());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->requests, w->requests);
}

TEST(RequestNames, BadOnesNameTheFieldAndTheFix) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"requests: [{path: /, expect: {status: [200, 700]}}]", "expected a status code 100..599"},
      {"requests: [{path: /, expect: {status: []}}]", "an empty list"},
      {"requests: [{path: /, expect: {codes: [200]}}]", "codes"},
      {"requests: [{path: /, expect: {}}]", "expected a map like {status: [200, 404]}"},
      {"requests: [{path: /, expect: {body_contains: ''}}]",
       "requests[0].expect.body_contains: got 0 bytes; expected the text"},
      {"requests: [{path: /, expect: {body_contains: " + std::string(4097, 'x') + "}}]",
       "got 4097 bytes; expected the text a good response's body contains (1 to 4096 bytes)"},
      {"requests: [{path: /, expect: {body_contains: [ok]}}]", "requests[0].expect.body_contains"},
      {"requests: [{method: HEAD, path: /, expect: {body_contains: ok}}]",
       "a response to HEAD has no body"},
      {"requests: [{path: /, name: ''}]", "1 to 100 characters"},
      {"requests: [{path: /, name: a}]\nthresholds: ['p99{name:b} < 1s']",
       "no request is named \"b\""},
      {"requests: [{path: /}]\nthresholds: ['p99{host:b} < 1s']", "unknown selector"},
      {"requests: [{path: /}]\nthresholds: ['p99{name:b < 1s']", "no closing }"},
  };
  for (const auto& [yaml, why] : bad) {
    auto w = finalized("target: http://127.0.0.1:9/\n" + yaml + "\n");
    ASSERT_FALSE(w.ok()) << yaml;
    EXPECT_THAT(w.error().message, HasSubstr(why)) << yaml;
  }
  // More than 100 names given is an error; 200 default names of a URL list are one name.
  std::string named = "target: http://127.0.0.1:9/\nrequests:\n";
  std::string plain = named;
  for (int i = 0; i < 101; ++i) named += "  - {name: n" + std::to_string(i) + ", path: /}\n";
  for (int i = 0; i < 200; ++i) plain += "  - {path: /p" + std::to_string(i) + "}\n";
  auto n = finalized(named);
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.error().message, HasSubstr("at most 100"));
  auto p = finalized(plain);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(request_names(*p), (std::vector<std::string>{"all requests"}));
}
}  // namespace workload_test
}  // namespace horde
