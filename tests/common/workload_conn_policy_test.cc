// The connection policy keys (load.connection_max_requests,
// connection_max_age, keep_alive): read and validated at the edge with errors
// naming the field, round-tripped through summary.json's workload and the wire.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/wire.h"
#include "common/workload.h"

namespace horde {
namespace workload_conn_policy_test {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

Result<Workload> load(const std::string& load_yaml,
                      const std::string& target = "http://127.0.0.1:8080/") {
  const std::string source = "c.yaml";
  auto w = parse_workload("target: " + target + "\nload:\n" + load_yaml, source);
  if (!w) return w.error();
  return finalize_workload(*w, source);
}

TEST(WorkloadConnPolicy, DefaultsKeepConnectionsOpen) {
  auto w = load("  connections: 2\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.connection_max_requests, 0u);
  EXPECT_EQ(w->load.connection_max_age, Millis(0));
  EXPECT_TRUE(w->load.keep_alive);
  const auto j = to_json(*w);
  EXPECT_FALSE(j["load"].contains("connection_max_requests"));
  EXPECT_FALSE(j["load"].contains("keep_alive"));
}

TEST(WorkloadConnPolicy, KeysAreReadAndRoundTrip) {
  auto w = load("  connection_max_requests: 100\n  connection_max_age: 30s\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->load.connection_max_requests, 100u);
  EXPECT_EQ(w->load.connection_max_age, Millis(30'000));
  const auto j = to_json(*w);
  EXPECT_EQ(j["load"]["connection_max_requests"], 100);
  EXPECT_EQ(j["load"]["connection_max_age"], "30s");
  auto back = parse_workload(j.dump(), "summary.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->load, w->load);

  auto off = load("  keep_alive: false\n  mode: open\n  rate: 10\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->load.keep_alive);
  const auto k = to_json(*off);
  EXPECT_EQ(k["load"]["keep_alive"], false);
  auto again = parse_workload(k.dump(), "summary.json");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->load, off->load);

  // HTTP/2 takes them alike.
  auto h2 =
      load("  connection_max_age: 500ms\n  streams_per_connection: 8\n", "h2c://127.0.0.1:8080/");
  ASSERT_TRUE(h2.ok()) << h2.error().message;
  EXPECT_EQ(h2->load.connection_max_age, Millis(500));
}

TEST(WorkloadConnPolicy, BadValuesNameTheFieldAndWhatIsExpected) {
  struct Case {
    std::string yaml;
    std::string field;
    std::string expected;
  };
  const Case cases[] = {
      {"  connection_max_requests: 0\n", "load.connection_max_requests", "integer from 1"},
      {"  connection_max_requests: -5\n", "load.connection_max_requests", "integer from 1"},
      {"  connection_max_requests: ten\n", "load.connection_max_requests", "integer"},
      {"  connection_max_requests: 2.5\n", "load.connection_max_requests", "integer"},
      {"  connection_max_requests: 5000000000\n", "load.connection_max_requests", "1000000000"},
      {"  connection_max_age: 0s\n", "load.connection_max_age", "a duration > 0"},
      {"  connection_max_age: 30\n", "load.connection_max_age", "unit"},
      {"  connection_max_age: 25h\n", "load.connection_max_age", "at most 24h"},
      {"  connection_max_age: -1s\n", "load.connection_max_age", ""},
      {"  keep_alive: maybe\n", "load.keep_alive", "true or false"},
      {"  keep_alive: false\n  connection_max_requests: 10\n", "load.connection_max_requests",
       "keep_alive: false"},
      {"  keep_alive: false\n  connection_max_age: 10s\n", "load.connection_max_age",
       "keep_alive: false"},
  };
  for (const Case& c : cases) {
    auto w = load(c.yaml);
    ASSERT_FALSE(w.ok()) << c.yaml;
    EXPECT_THAT(w.error().message, HasSubstr("c.yaml: " + c.field)) << c.yaml;
    EXPECT_THAT(w.error().message, HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(WorkloadConnPolicy, KeepAliveFalseWithManyStreamsIsAnError) {
  auto w = load("  keep_alive: false\n  streams_per_connection: 4\n", "h2c://127.0.0.1:8080/");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message, HasSubstr("load.keep_alive"));
  EXPECT_THAT(w.error().message, HasSubstr("streams_per_connection: 4"));
  EXPECT_THAT(w.error().message, HasSubstr("remove one of them"));
  auto one = load("  keep_alive: false\n  streams_per_connection: 1\n", "h2c://127.0.0.1:8080/");
  EXPECT_TRUE(one.ok()) << one.error().message;
}

WorkloadSlice slice() {
  WorkloadSlice s;
  s.targets = {*parse_url("h2c://127.0.0.1:8080/")};
  s.protocol = Protocol::kHttp2;
  s.requests = {RequestSpec{}};
  s.load.connections = 2;
  return s;
}

TEST(WorkloadConnPolicy, TheSliceCarriesThePolicyAndIsCheckedOnArrival) {
  WorkloadSlice s = slice();
  s.load.connection_max_requests = 7;
  s.load.connection_max_age = Millis(1500);
  v1::WorkloadSlice wire;
  to_wire(s, &wire);
  auto back = from_wire(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->load.connection_max_requests, 7u);
  EXPECT_EQ(back->load.connection_max_age, Millis(1500));
  EXPECT_TRUE(back->load.keep_alive);
  EXPECT_EQ(*back, s);

  WorkloadSlice off = slice();
  off.load.keep_alive = false;
  to_wire(off, &wire);
  auto off_back = from_wire(wire);
  ASSERT_TRUE(off_back.ok()) << off_back.error().message;
  EXPECT_FALSE(off_back->load.keep_alive);

  // A controller that says otherwise is refused, naming the field.
  wire.set_streams_per_connection(4);
  auto streams = from_wire(wire);
  ASSERT_FALSE(streams.ok());
  EXPECT_THAT(streams.error().message, HasSubstr("load.keep_alive"));
  wire.set_streams_per_connection(1);
  wire.set_no_keep_alive(false);
  wire.set_connection_max_age_ms(25ULL * 3600 * 1000);
  auto old = from_wire(wire);
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(old.error().message, HasSubstr("connection_max_age"));
}

}  // namespace workload_conn_policy_test
}  // namespace horde
