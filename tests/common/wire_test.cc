// Tests for the wire codec: every value type survives a round trip unchanged,
// and hostile or inconsistent input from a peer is rejected with an error
// before anything uses it.
#include "common/wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

namespace horde {
namespace wire_test {

using ::testing::HasSubstr;

Histogram realistic_histogram(uint64_t seed, int samples) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(5000.0), 0.8);
  Histogram h;
  for (int i = 0; i < samples; ++i) h.record(static_cast<int64_t>(dist(rng)));
  return h;
}

size_t non_empty_buckets(const Histogram& h) {
  size_t n = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) n += h.count_at(i) != 0;
  return n;
}

template <typename T, typename Wire>
T round_trip(const T& value) {
  Wire w;
  to_wire(value, &w);
  auto back = from_wire(w);
  EXPECT_TRUE(back.ok()) << back.error().message;
  return back.ok() ? *back : T{};
}

TEST(WireHistogram, RoundTripKeepsCountsAndExactExtremes) {
  Histogram h;
  h.record(1);
  h.record(1234567);  // not a bucket edge: min and max must come back exact
  h.record(3003);
  h.record_n(42, 5);
  const Histogram back = round_trip<Histogram, v1::SparseHistogram>(h);
  EXPECT_EQ(back, h);
  EXPECT_EQ(back.min(), 1);
  EXPECT_EQ(back.max(), 1234567);
  EXPECT_EQ(back.total_count(), 8u);

  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Histogram r = realistic_histogram(seed, 1 + static_cast<int>(seed * 500));
    EXPECT_EQ((round_trip<Histogram, v1::SparseHistogram>(r)), r);
  }
  EXPECT_EQ((round_trip<Histogram, v1::SparseHistogram>(Histogram{})), Histogram{});
  Histogram top;
  top.record(Histogram::kHighestUs);
  top.record(0);
  EXPECT_EQ((round_trip<Histogram, v1::SparseHistogram>(top)), top);
}

TEST(WireHistogram, SparseEncodingIsSmall) {
  // A busy interval: ~200 distinct latency buckets around a few ms, with large counts.
  std::mt19937_64 rng(99);
  std::lognormal_distribution<double> dist(std::log(5000.0), 0.4);
  Histogram h;
  while (non_empty_buckets(h) < 200) {
    h.record_n(static_cast<int64_t>(dist(rng)), 1 + rng() % 5000);
  }
  IntervalReport r;
  r.interval = 17;
  r.latency = h;
  r.counters.requests = h.total_count();
  r.counters.status_codes[200] = h.total_count();
  r.counters.bytes_sent = 12'345'678;
  r.counters.bytes_received = 98'765'432;
  r.counters.cpu_seconds = 0.42;
  v1::Report w;
  to_wire(r, "run-20240101-abcdef", &w);
  // One small varint gap and a count per bucket, plus the counters.
  EXPECT_LT(w.ByteSizeLong(), 1500u);
}

TEST(WireHistogram, RejectsHostileInput) {
  struct Case {
    const char* name;
    std::function<void(v1::SparseHistogram*)> make;
    const char* error;
  };
  const Case cases[] = {
      {"index out of range",
       [](v1::SparseHistogram* h) {
         h->add_gap(1'000'000);
         h->add_count(1);
       },
       "out of range"},
      {"index overflow by gaps",
       [](v1::SparseHistogram* h) {
         for (int i = 0; i < 3; ++i) {
           h->add_gap(std::numeric_limits<uint32_t>::max());
           h->add_count(1);
         }
       },
       "out of range"},
      {"gap/count length mismatch",
       [](v1::SparseHistogram* h) {
         h->add_gap(3);
         h->add_gap(1);
         h->add_count(1);
       },
       "gaps"},
      {"repeated index",
       [](v1::SparseHistogram* h) {
         h->add_gap(5);
         h->add_count(1);
         h->add_gap(0);
         h->add_count(1);
       },
       "repeated"},
      {"zero count",
       [](v1::SparseHistogram* h) {
         h->add_gap(5);
         h->add_count(0);
       },
       "empty bucket"},
      {"min above max",
       [](v1::SparseHistogram* h) {
         h->add_gap(5);
         h->add_count(2);
         h->set_min_us(5);
         h->set_max_us(4);
       },
       "min"},
      {"negative min",
       [](v1::SparseHistogram* h) {
         h->add_gap(5);
         h->add_count(2);
         h->set_min_us(-1);
         h->set_max_us(5);
       },
       "min"},
      {"max above one hour",
       [](v1::SparseHistogram* h) {
         h->add_gap(5);
         h->add_count(2);
         h->set_min_us(5);
         h->set_max_us(Histogram::kHighestUs + 1);
       },
       "max"},
  };
  for (const Case& c : cases) {
    v1::SparseHistogram w;
    c.make(&w);
    auto h = from_wire(w);
    ASSERT_FALSE(h.ok()) << c.name;
    EXPECT_THAT(h.error().message, HasSubstr(c.error)) << c.name;
  }
}

Counters sample_counters() {
  Counters c;
  c.requests = 1000;
  c.errors = 7;
  c.status_codes = {{200, 900}, {404, 90}, {503, 3}};
  c.errors_by_class[static_cast<size_t>(ErrorClass::kTimeout)] = 4;
  c.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)] = 3;
  c.bytes_sent = 123456;
  c.bytes_received = 654321;
  c.late = 12;
  c.max_schedule_lag_us = 3456;
  c.cpu_seconds = 0.731;
  c.connections_opened = 10;
  c.max_connections_hit = 77;
  c.grpc_status = {{0, 990}, {14, 10}};
  c.skipped = 5;
  c.connections_peak = 9;
  c.reconnects = 4;
  return c;
}

// Counts add up; the peak of connections open at once adds up only over
// threads or agents of the same span, and is the larger over spans of time.
TEST(CountersMerge, PeaksAddUpOnlyOverTheSameSpan) {
  Counters a, b;
  a.connections_peak = 3;
  a.reconnects = 2;
  b.connections_peak = 5;
  b.reconnects = 1;
  Counters later = a;
  later.add(b);
  EXPECT_EQ(later.connections_peak, 5u);
  EXPECT_EQ(later.reconnects, 3u);
  Counters together = a;
  together.add_concurrent(b);
  EXPECT_EQ(together.connections_peak, 8u);
  EXPECT_EQ(together.reconnects, 3u);
  Counters full;
  full.connections_peak = std::numeric_limits<uint64_t>::max();
  full.skipped = std::numeric_limits<uint64_t>::max();
  Counters one;
  one.skipped = 1;
  EXPECT_FALSE(full.can_add(one));  // a wrap is refused, for every count
  EXPECT_EQ(full.max_count(), std::numeric_limits<uint64_t>::max());
}

TEST(WireCounters, RoundTrip) {
  EXPECT_EQ((round_trip<Counters, v1::Counters>(sample_counters())), sample_counters());
  EXPECT_EQ((round_trip<Counters, v1::Counters>(Counters{})), Counters{});
  Counters every_class;
  for (size_t i = 0; i < kErrorClassCount; ++i) every_class.errors_by_class[i] = i + 1;
  every_class.errors = kErrorClassCount * (kErrorClassCount + 1) / 2;
  every_class.requests = every_class.errors;
  EXPECT_EQ((round_trip<Counters, v1::Counters>(every_class)), every_class);
}

TEST(WireCounters, RejectsHostileInput) {
  struct Case {
    const char* name;
    std::function<void(v1::Counters*)> make;
    const char* error;
  };
  const Case cases[] = {
      {"errors by class not adding up",
       [](v1::Counters* c) { c->mutable_errors_by_class(0)->set_count(1); }, "add up"},
      {"errors without classes", [](v1::Counters* c) { c->clear_errors_by_class(); }, "add up"},
      {"unknown error class",
       [](v1::Counters* c) { c->mutable_errors_by_class(0)->set_error_class("gremlins"); },
       "unknown error class"},
      {"status code too low", [](v1::Counters* c) { c->mutable_status_codes(0)->set_code(99); },
       "status code 99"},
      {"status code too high", [](v1::Counters* c) { c->mutable_status_codes(0)->set_code(1000); },
       "status code 1000"},
      {"errors above requests", [](v1::Counters* c) { c->set_requests(6); }, "more errors"},
      {"NaN cpu", [](v1::Counters* c) { c->set_cpu_seconds(std::nan("")); }, "cpu_seconds"},
      {"negative cpu", [](v1::Counters* c) { c->set_cpu_seconds(-0.5); }, "cpu_seconds"},
      {"infinite cpu",
       [](v1::Counters* c) { c->set_cpu_seconds(std::numeric_limits<double>::infinity()); },
       "cpu_seconds"},
      {"grpc status out of range", [](v1::Counters* c) { c->mutable_grpc_status(0)->set_code(17); },
       "grpc status 17"},
      {"grpc status above requests",
       [](v1::Counters* c) { c->mutable_grpc_status(0)->set_count(995); }, "grpc status counts"},
      {"too many status codes",
       [](v1::Counters* c) {
         for (uint32_t i = 0; i < 700; ++i) {
           auto* s = c->add_status_codes();
           s->set_code(100 + i % 800);
           s->set_count(1);
         }
       },
       "too many"},
  };
  for (const Case& c : cases) {
    v1::Counters w;
    to_wire(sample_counters(), &w);
    c.make(&w);
    auto back = from_wire(w);
    ASSERT_FALSE(back.ok()) << c.name;
    EXPECT_THAT(back.error().message, HasSubstr(c.error)) << c.name;
  }
}

TEST(WireReport, RoundTrip) {
  IntervalReport r;
  r.phase = 3;
  r.interval = 41;
  r.counters = sample_counters();
  r.latency = realistic_histogram(5, 900);
  v1::Report w;
  to_wire(r, "run-x", &w);
  EXPECT_EQ(w.run_id(), "run-x");
  auto back = from_wire(w);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(WireReport, DecodingIntoAReusedReportLeavesNothingBehind) {
  IntervalReport a;
  a.counters = sample_counters();
  a.latency = realistic_histogram(5, 900);
  IntervalReport b;
  b.interval = 7;
  b.counters.requests = 3;
  b.latency.record_n(50'000, 3);  // far from a's buckets and extremes
  v1::Report wa, wb;
  to_wire(a, "run", &wa);
  to_wire(b, "run", &wb);
  IntervalReport reused;
  ASSERT_TRUE(from_wire(wa, &reused).ok());
  EXPECT_EQ(reused, a);
  ASSERT_TRUE(from_wire(wb, &reused).ok());
  EXPECT_EQ(reused, b);
  EXPECT_EQ(reused.latency.min(), 50'000);  // a's minimum did not survive
}

TEST(WireReport, RejectsMoreLatencySamplesThanRequests) {
  IntervalReport r;
  r.counters.requests = 2;
  r.latency.record_n(1000, 3);
  v1::Report w;
  to_wire(r, "run", &w);
  auto back = from_wire(w);
  ASSERT_FALSE(back.ok());
  EXPECT_THAT(back.error().message, HasSubstr("more latency samples"));
}

TEST(WireReport, PropagatesCounterAndHistogramErrors) {
  IntervalReport r;
  r.counters = sample_counters();
  v1::Report w;
  to_wire(r, "run", &w);
  w.mutable_counters()->set_errors(8);
  EXPECT_FALSE(from_wire(w).ok());
  to_wire(r, "run", &w);
  w.mutable_latency()->add_gap(1);  // no matching count
  EXPECT_FALSE(from_wire(w).ok());
}

WorkloadSlice sample_slice() {
  WorkloadSlice s;
  s.targets.push_back(parse_url("http://127.0.0.1:8080/a?b=1").value());
  s.targets.push_back(parse_url("http://[::1]:9000/").value());
  RequestSpec get;
  RequestSpec post;
  post.method = "POST";
  post.path = "/items";
  post.headers = {{"Content-Type", "application/json"}, {"X-Trace", "a b c"}};
  post.body = "{\"a\": 1}";
  post.weight = 3;
  post.expect_status = {201, 409};
  post.expect_body = "\"created\"";
  s.requests = {get, post};
  s.load.mode = LoadMode::kOpen;
  s.load.connections = 17;
  s.load.rate = 1234.5;
  s.load.duration = Millis(30'000);
  s.load.warmup = Millis(5'000);
  s.load.interval = Millis(500);
  s.load.connect_timeout = Millis(1'500);
  s.load.request_timeout = Millis(2'500);
  return s;
}

TEST(WireSlice, RoundTrip) {
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(sample_slice())), sample_slice());
  WorkloadSlice closed = sample_slice();
  closed.load.mode = LoadMode::kClosed;
  closed.load.rate = 0;
  closed.load.warmup = Millis(0);
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(closed)), closed);
  WorkloadSlice h2 = sample_slice();
  h2.protocol = Protocol::kGrpc;
  h2.load.streams_per_connection = 100;
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(h2)), h2);
  WorkloadSlice on_demand = sample_slice();  // open loop: none opened in advance
  on_demand.load.connections = 0;
  on_demand.load.max_connections = 8;
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(on_demand)), on_demand);
}

TEST(WireSlice, RejectsHostileInput) {
  struct Case {
    const char* name;
    std::function<void(v1::WorkloadSlice*)> make;
    const char* error;
  };
  const Case cases[] = {
      {"no targets", [](v1::WorkloadSlice* s) { s->clear_targets(); }, "targets"},
      {"bad URL", [](v1::WorkloadSlice* s) { s->set_targets(0, "ftp://x/"); }, "targets"},
      {"URL with CR LF", [](v1::WorkloadSlice* s) { s->set_targets(0, "http://a/\r\nX: y"); },
       "targets"},
      // Open loop may open none in advance (it connects on demand); closed loop needs one.
      {"zero connections in closed loop",
       [](v1::WorkloadSlice* s) {
         s->set_open_loop(false);
         s->set_rate(0);
         s->set_connections(0);
       },
       "connections"},
      {"too many connections", [](v1::WorkloadSlice* s) { s->set_connections(2'000'000); },
       "connections"},
      {"interval too short", [](v1::WorkloadSlice* s) { s->set_interval_ms(99); }, "interval"},
      {"interval too long", [](v1::WorkloadSlice* s) { s->set_interval_ms(60'001); }, "interval"},
      {"zero duration", [](v1::WorkloadSlice* s) { s->set_duration_ms(0); }, "duration"},
      {"zero timeout", [](v1::WorkloadSlice* s) { s->set_request_timeout_ms(0); }, "timeout"},
      {"open loop without rate", [](v1::WorkloadSlice* s) { s->set_rate(0); }, "rate"},
      {"open loop NaN rate", [](v1::WorkloadSlice* s) { s->set_rate(std::nan("")); }, "rate"},
      {"no requests", [](v1::WorkloadSlice* s) { s->clear_requests(); }, "requests"},
      {"body_contains too long",
       [](v1::WorkloadSlice* s) {
         s->mutable_requests(1)->set_expect_body(std::string(kMaxBodyContains + 1, 'x'));
       },
       "body_contains"},
      {"header value with CR LF",
       [](v1::WorkloadSlice* s) {
         s->mutable_requests(1)->mutable_headers(0)->set_value("x\r\nHost: evil");
       },
       "header"},
      {"header name with colon",
       [](v1::WorkloadSlice* s) { s->mutable_requests(1)->mutable_headers(0)->set_name("A:B"); },
       "header"},
      {"header name with LF",
       [](v1::WorkloadSlice* s) { s->mutable_requests(1)->mutable_headers(0)->set_name("A\nB"); },
       "header"},
      {"method with CR LF",
       [](v1::WorkloadSlice* s) { s->mutable_requests(0)->set_method("GET / HTTP/1.1\r\nX"); },
       "method"},
      {"method with space", [](v1::WorkloadSlice* s) { s->mutable_requests(0)->set_method("G T"); },
       "method"},
      {"empty method", [](v1::WorkloadSlice* s) { s->mutable_requests(0)->set_method(""); },
       "method"},
      {"path without slash", [](v1::WorkloadSlice* s) { s->mutable_requests(1)->set_path("x"); },
       "path"},
      {"path with CR LF",
       [](v1::WorkloadSlice* s) { s->mutable_requests(1)->set_path("/a HTTP/1.1\r\nX: y"); },
       "path"},
      {"zero weight", [](v1::WorkloadSlice* s) { s->mutable_requests(1)->set_weight(0); },
       "weight"},
  };
  for (const Case& c : cases) {
    v1::WorkloadSlice w;
    to_wire(sample_slice(), &w);
    ASSERT_TRUE(from_wire(w).ok()) << c.name;
    c.make(&w);
    auto back = from_wire(w);
    ASSERT_FALSE(back.ok()) << c.name;
    EXPECT_THAT(back.error().message, HasSubstr(c.error)) << c.name;
  }
}

// The load engine's keys: arrival, stages, max_connections, tls (with the CA's
// PEM content, since agents cannot read the controller's files), timeouts.
TEST(WireSlice, RoundTripsEngineKeys) {
  WorkloadSlice s = sample_slice();
  s.targets.push_back(parse_url("https://example.com/x").value());
  s.load.arrival = Arrival::kPoisson;
  s.load.max_connections = 40;
  s.tls.insecure_skip_verify = false;
  s.tls.ca_file = "certs/ca.pem";
  s.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  s.tls.server_name = "api.example";
  const WorkloadSlice back = round_trip<WorkloadSlice, v1::WorkloadSlice>(s);
  EXPECT_EQ(back, s);
  EXPECT_EQ(back.load.connect_timeout, Millis(1'500));
  EXPECT_EQ(back.load.request_timeout, Millis(2'500));
  EXPECT_EQ(back.targets.back().port, 443);

  WorkloadSlice open = sample_slice();
  open.load.rate = 0;
  open.load.warmup = Millis(0);
  open.load.stages = {{Millis(10'000), 100.5, 0}, {Millis(0), 300, 0}, {Millis(20'000), 0, 0}};
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(open)), open);

  WorkloadSlice closed = sample_slice();
  closed.load.mode = LoadMode::kClosed;
  closed.load.rate = 0;
  closed.load.warmup = Millis(0);
  closed.load.connections = 9;
  closed.load.stages = {{Millis(10'000), 0, 9}, {Millis(20'000), 0, 0}};
  EXPECT_EQ((round_trip<WorkloadSlice, v1::WorkloadSlice>(closed)), closed);
}

TEST(WireSlice, RejectsHostileEngineKeys) {
  auto staged = [] {
    WorkloadSlice s = sample_slice();
    s.load.rate = 0;
    s.load.warmup = Millis(0);
    s.load.stages = {{Millis(10'000), 100, 0}, {Millis(20'000), 50, 0}};
    v1::WorkloadSlice w;
    to_wire(s, &w);
    return w;
  };
  struct Case {
    const char* name;
    std::function<void(v1::WorkloadSlice*)> make;
    const char* error;
  };
  const Case cases[] = {
      {"unknown arrival", [](v1::WorkloadSlice* s) { s->set_arrival("bursty"); }, "arrival"},
      {"stages not adding up", [](v1::WorkloadSlice* s) { s->set_duration_ms(31'000); }, "stages"},
      {"stages with warm-up", [](v1::WorkloadSlice* s) { s->set_warmup_ms(1'000); }, "stages"},
      {"negative stage rate", [](v1::WorkloadSlice* s) { s->mutable_stages(0)->set_rate(-1); },
       "stage"},
      {"NaN stage rate", [](v1::WorkloadSlice* s) { s->mutable_stages(0)->set_rate(std::nan("")); },
       "stage"},
      {"connections in an open-loop stage",
       [](v1::WorkloadSlice* s) { s->mutable_stages(0)->set_connections(3); }, "stages"},
      {"max_connections below connections", [](v1::WorkloadSlice* s) { s->set_max_connections(3); },
       "max_connections"},
      {"unknown protocol", [](v1::WorkloadSlice* s) { s->set_protocol("spdy"); }, "protocol"},
      {"streams with HTTP/1.1",
       [](v1::WorkloadSlice* s) {
         s->set_protocol("http1");
         s->set_streams_per_connection(4);
       },
       "streams_per_connection"},
      {"too many streams",
       [](v1::WorkloadSlice* s) {
         s->set_protocol("http2");
         s->set_streams_per_connection(kMaxStreamsPerConnection + 1);
       },
       "streams_per_connection"},
      {"huge CA bundle",
       [](v1::WorkloadSlice* s) { s->mutable_tls()->set_ca_pem(std::string(2 << 20, 'x')); },
       "tls"},
  };
  for (const Case& c : cases) {
    v1::WorkloadSlice w = staged();
    ASSERT_TRUE(from_wire(w).ok()) << c.name;
    c.make(&w);
    auto back = from_wire(w);
    ASSERT_FALSE(back.ok()) << c.name;
    EXPECT_THAT(back.error().message, HasSubstr(c.error)) << c.name;
  }
}

TEST(WireReport, NamesRoundTripAndMustAddUpToTheCounters) {
  IntervalReport r;
  r.counters.requests = 5;
  r.counters.errors = 1;
  r.counters.errors_by_class[static_cast<size_t>(ErrorClass::kUnexpectedStatus)] = 1;
  NameStats a;
  a.counters.requests = 3;
  a.latency.record(100);
  NameStats b;
  b.counters.requests = 2;
  b.counters.errors = 1;
  b.counters.errors_by_class[static_cast<size_t>(ErrorClass::kUnexpectedStatus)] = 1;
  r.names = {{0, a}, {4, b}};
  v1::Report wire;
  to_wire(r, "run", &wire);
  auto back = from_wire(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->names, r.names);
  wire.mutable_names(1)->mutable_counters()->set_requests(3);  // 6 over the names, 5 in all
  EXPECT_FALSE(from_wire(wire).ok());
  wire.mutable_names(1)->mutable_counters()->set_requests(2);
  wire.mutable_names(1)->set_index(100);  // kMaxRequestNames
  EXPECT_FALSE(from_wire(wire).ok());
  wire.mutable_names(1)->set_index(0);  // given twice
  EXPECT_FALSE(from_wire(wire).ok());
}

}  // namespace wire_test
}  // namespace horde
