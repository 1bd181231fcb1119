// Tests for `observe:` and `sweep.cores_available`: the sources read into
// typed values, every mistake named by its field path, and to_json writing
// them so they parse back equal (summary.json's workload).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/workload.h"

namespace horde {
namespace observe_yaml_test {

using ::testing::HasSubstr;

const char* kTarget = "target: http://127.0.0.1:8080/\n";

Result<Workload> read(const std::string& yaml) {
  auto w = parse_workload(std::string(kTarget) + yaml, "w.yaml");
  if (!w) return w.error();
  return finalize_workload(*w, "w.yaml");
}

std::string error_of(const std::string& yaml) {
  auto w = read(yaml);
  return w ? "(no error)" : w.error().message;
}

const char* kBoth =
    "observe:\n"
    "  - name: web_cpu\n"
    "    prometheus: http://127.0.0.1:9090\n"
    "    query: sum(rate(process_cpu_seconds_total[15s]))\n"
    "    unit: cores\n"
    "  - name: db_cpu\n"
    "    scrape: http://127.0.0.1:9100/metrics\n"
    "    metric: node_cpu_seconds_total\n"
    "    match: {mode: \"!idle\", cpu: \"0\"}\n"
    "    rate: true\n"
    "    unit: cores\n"
    "  - {name: web_rss, scrape: \"http://127.0.0.1:9256/metrics\", metric: "
    "namedprocess_namegroup_memory_bytes, match: {memtype: resident}, unit: bytes}\n";

TEST(ObserveYaml, ReadsBothKindsOfSource) {
  auto w = read(kBoth);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->observe.size(), 3u);
  const ObserveSource& p = w->observe[0];
  EXPECT_EQ(p.name, "web_cpu");
  ASSERT_TRUE(p.prometheus.has_value());
  EXPECT_EQ(p.prometheus->port, 9090);
  EXPECT_EQ(p.query, "sum(rate(process_cpu_seconds_total[15s]))");
  EXPECT_EQ(p.unit, ObserveUnit::kCores);
  const ObserveSource& s = w->observe[1];
  ASSERT_TRUE(s.scrape.has_value());
  EXPECT_EQ(s.scrape->path, "/metrics");
  EXPECT_EQ(s.metric, "node_cpu_seconds_total");
  // Sorted by label name, as the JSON object that summary.json holds.
  const std::vector<std::pair<std::string, std::string>> match = {{"cpu", "0"}, {"mode", "!idle"}};
  EXPECT_EQ(s.match, match);
  EXPECT_TRUE(s.rate);
  EXPECT_FALSE(w->observe[2].rate);
  EXPECT_EQ(w->observe[2].unit, ObserveUnit::kBytes);
}

TEST(ObserveYaml, RoundTripsThroughJson) {
  auto w = read(std::string(kBoth) + "sweep: {instances: [1], cores_available: 2}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->sweep.cores_available, 2.0);
  const auto j = to_json(*w);
  ASSERT_TRUE(j.contains("observe"));
  EXPECT_EQ(j["observe"][1]["match"]["mode"], "!idle");
  auto back = parse_workload(j.dump(), "summary.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->observe, w->observe);
  EXPECT_EQ(back->sweep.cores_available, w->sweep.cores_available);
}

TEST(ObserveYaml, EachMistakeNamesItsField) {
  const std::string src = "observe:\n  - name: a\n";
  EXPECT_THAT(error_of("observe: {}\n"), HasSubstr("observe: got a map; expected a list"));
  EXPECT_THAT(error_of(src + "    unit: cores\n"),
              HasSubstr("observe[0]: give exactly one of scrape"));
  EXPECT_THAT(error_of(src + "    scrape: http://127.0.0.1:1/m\n    unit: cores\n"),
              HasSubstr("observe[0].metric: missing"));
  EXPECT_THAT(error_of(src + "    scrape: http://127.0.0.1:1/m\n    metric: m\n"),
              HasSubstr("observe[0].unit: missing"));
  EXPECT_THAT(error_of(src + "    scrape: http://127.0.0.1:1/m\n    metric: m\n    unit: watts\n"),
              HasSubstr("observe[0].unit: got \"watts\"; expected cores, bytes, ratio or count"));
  EXPECT_THAT(error_of(src + "    prometheus: http://127.0.0.1:1\n    unit: count\n"),
              HasSubstr("observe[0].query: missing"));
  EXPECT_THAT(error_of(src + "    prometheus: http://127.0.0.1:1\n    query: up\n    rate: true\n"
                             "    unit: count\n"),
              HasSubstr("observe[0].rate: only with scrape"));
  EXPECT_THAT(
      error_of(src + "    prometheus: https://127.0.0.1:1\n    query: up\n    unit: count\n"),
      HasSubstr("observe[0].prometheus: got \"https://127.0.0.1:1\"; expected an http://"));
  EXPECT_THAT(
      error_of(src + "    scrape: http://127.0.0.1:1/m\n    metric: 1bad\n    unit: count\n"),
      HasSubstr("observe[0].metric: got \"1bad\"; expected a metric name"));
  EXPECT_THAT(error_of(src + "    scrape: http://127.0.0.1:1/m\n    metric: m\n    unit: count\n"
                             "    match: {\"a-b\": x}\n"),
              HasSubstr("observe[0].match.a-b: got \"a-b\"; expected a label name"));
  EXPECT_THAT(error_of(src + "    scrape: http://127.0.0.1:1/m\n    metric: m\n    unit: count\n"
                             "    timeout: 1s\n"),
              HasSubstr("observe[0].timeout"));
  EXPECT_THAT(error_of("observe:\n  - {name: Web, prometheus: \"http://127.0.0.1:1\", query: up, "
                       "unit: count}\n"),
              HasSubstr("observe[0].name: got \"Web\"; expected a name of lower-case"));
  EXPECT_THAT(error_of("observe:\n  - {name: rps, prometheus: \"http://127.0.0.1:1\", query: up, "
                       "unit: count}\n"),
              HasSubstr("one of intervals.csv's own columns"));
  EXPECT_THAT(error_of("observe:\n  - {name: a, prometheus: \"http://127.0.0.1:1\", query: up, "
                       "unit: count}\n  - {name: a, prometheus: \"http://127.0.0.1:1\", query: up, "
                       "unit: count}\n"),
              HasSubstr("observe[1].name: \"a\" is given twice"));
}

TEST(ObserveYaml, CoresAvailableNeedsACoresSource) {
  EXPECT_THAT(error_of("sweep: {instances: [1], cores_available: 2}\n"),
              HasSubstr("sweep.cores_available: needs an observe: source with unit: cores"));
  EXPECT_THAT(error_of("sweep: {instances: [1], cores_available: 0}\n"),
              HasSubstr("sweep.cores_available: got \"0\"; expected a number in"));
}

}  // namespace observe_yaml_test
}  // namespace horde
