// Per-backend counts as values and on the wire: bounded ids, the spread
// figures, and a report whose backends do not add up to its counters refused.
#include "common/backends.h"

#include <gtest/gtest.h>

#include "common/wire.h"

namespace horde {
namespace backends_test {

BackendStats stats(uint64_t requests, uint64_t errors = 0) {
  BackendStats s;
  s.requests = requests;
  s.errors = errors;
  s.status_codes[200] = requests - errors;
  if (errors > 0) s.status_codes[503] = errors;
  for (uint64_t i = 0; i < requests; ++i) s.latency.record(100 + static_cast<int64_t>(i));
  return s;
}

TEST(Backends, AddBeyondTheLimitGoesToOther) {
  Backends b;
  for (size_t i = 0; i < kMaxBackends + 10; ++i) b.add("b" + std::to_string(i), stats(1));
  EXPECT_EQ(b.named(), kMaxBackends);
  EXPECT_EQ(b.by_id.at("other").requests, 10u);
  EXPECT_EQ(b.requests(), kMaxBackends + 10);
  Backends more;
  more.add("b0", stats(2));
  more.add("new", stats(3));
  b.add(more);
  EXPECT_EQ(b.by_id.at("b0").requests, 3u);
  EXPECT_EQ(b.by_id.at("other").requests, 13u);
  EXPECT_EQ(b.by_id.count("new"), 0u);
}

TEST(Backends, Spread) {
  Backends b;
  EXPECT_EQ(spread_of(b).backends, 0u);
  b.add("a", stats(60));
  b.add("b", stats(30));
  b.add("c", stats(10));
  const Spread s = spread_of(b);
  EXPECT_EQ(s.backends, 3u);
  EXPECT_DOUBLE_EQ(s.max_share, 0.6);
  EXPECT_DOUBLE_EQ(s.min_share, 0.1);
  EXPECT_DOUBLE_EQ(s.imbalance, 1.8);
  EXPECT_EQ(s.heaviest, "a");
  Backends even;
  for (const char* id : {"x", "y", "z", "w"}) even.add(id, stats(25));
  EXPECT_DOUBLE_EQ(spread_of(even).imbalance, 1.0);
}

IntervalReport report_with(const Backends& b) {
  IntervalReport r;
  r.interval = 2;
  r.backends = b;
  for (const auto& [id, s] : b.by_id) {
    r.counters.requests += s.requests;
    r.counters.errors += s.errors;
    r.counters.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)] += s.errors;
    for (const auto& [code, n] : s.status_codes) r.counters.status_codes[code] += n;
    r.latency.add(s.latency);
  }
  return r;
}

TEST(BackendsWire, RoundTripAndSumsChecked) {
  Backends b;
  b.add("10.0.0.1:80", stats(5, 1));
  b.add("pod-b", stats(7));
  const IntervalReport r = report_with(b);
  v1::Report wire;
  to_wire(r, "run", &wire);
  auto back = from_wire(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->backends, b);

  wire.mutable_backends(0)->set_requests(6);  // no longer the counters' sum
  auto bad = from_wire(wire);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("add up"), std::string::npos) << bad.error().message;

  v1::Report twice;
  to_wire(r, "run", &twice);
  *twice.add_backends() = twice.backends(0);
  EXPECT_FALSE(from_wire(twice).ok());

  v1::Report too_many;
  to_wire(IntervalReport{}, "run", &too_many);
  for (size_t i = 0; i < kMaxBackends + 2; ++i) {
    too_many.add_backends()->set_id("b" + std::to_string(i));
  }
  EXPECT_FALSE(from_wire(too_many).ok());

  v1::Report empty_id;
  to_wire(r, "run", &empty_id);
  empty_id.mutable_backends(0)->set_id("");
  EXPECT_FALSE(from_wire(empty_id).ok());
}

}  // namespace backends_test
}  // namespace horde
