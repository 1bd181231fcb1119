// The workload's size and range limits (issue 14): what YAML aliases expand
// to, how many requests and targets, the highest rate and the longest phase.
// Each is an error at validation that names the field and the fix, so
// `horde validate` exits 2 instead of growing without bound or handing the
// agents a phase they refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/workload.h"

namespace horde {
namespace workload_limits_test {

using ::testing::HasSubstr;

std::string error_of(const std::string& yaml) {
  auto w = parse_workload(yaml, "w.yaml");
  if (w.ok()) w = finalize_workload(std::move(*w), "w.yaml");
  return w.ok() ? std::string("(no error)") : w.error().message;
}

constexpr const char* kTarget = "target: http://127.0.0.1:8080/\n";

// ---- YAML aliases ----

TEST(WorkloadLimits, AliasedBodyCountsEveryUse) {
  // A 1 MiB body given once and aliased 80 times is 81 MiB of requests: every
  // agent would hold all of it, and `horde validate` would print it.
  std::string yaml = std::string(kTarget) + "requests:\n  - &r {method: POST, body: \"" +
                     std::string(1 << 20, 'x') + "\"}\n";
  for (int i = 0; i < 80; ++i) yaml += "  - *r\n";
  const std::string e = error_of(yaml);
  EXPECT_THAT(e, HasSubstr("w.yaml: requests["));
  EXPECT_THAT(e, HasSubstr("].body"));
  EXPECT_THAT(e, HasSubstr("64 MiB"));
  EXPECT_THAT(e, HasSubstr("alias"));
  // The same body once is fine.
  EXPECT_EQ(error_of(std::string(kTarget) + "requests:\n  - {method: POST, body: \"" +
                     std::string(1 << 20, 'x') + "\"}\n"),
            "(no error)");
}

// Nested aliases: each level multiplies by 10. `levels` of them over a
// 1000-character leaf expand to 10^levels KB.
std::string nested_message(int levels) {
  std::string yaml =
      "target: grpc://127.0.0.1:50051\n"
      "grpc:\n"
      "  method: /p.S/M\n"
      "  message:\n"
      "    l0: &l0 [\"" +
      std::string(1000, 'a') + "\"]\n";
  for (int k = 1; k <= levels; ++k) {
    yaml += "    l" + std::to_string(k) + ": &l" + std::to_string(k) + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? ", " : "") + "*l" + std::to_string(k - 1);
    yaml += "]\n";
  }
  return yaml;
}

TEST(WorkloadLimits, NestedAliasesInGrpcMessageStopAtTheBudget) {
  // 5 levels: about 111 MB of JSON once expanded.
  auto w = parse_workload(nested_message(5), "w.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.error().message, HasSubstr("w.yaml: grpc.message"));
  EXPECT_THAT(w.error().message, HasSubstr("64 MiB"));
  // 12 levels (10^15 KB) is refused as quickly: the count stops the walk.
  const auto start = std::chrono::steady_clock::now();
  auto huge = parse_workload(nested_message(12), "w.yaml");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.error().message, HasSubstr("grpc.message"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Two levels (100 KB) are an ordinary message.
  EXPECT_TRUE(parse_workload(nested_message(2), "w.yaml").ok());
}

TEST(WorkloadLimits, AliasedHeadersCount) {
  std::string yaml = std::string(kTarget) + "requests:\n  - {path: /a, headers: &h {X-Big: \"" +
                     std::string(1 << 20, 'h') + "\"}}\n";
  for (int i = 0; i < 80; ++i) yaml += "  - {path: /b, headers: *h}\n";
  const std::string e = error_of(yaml);
  EXPECT_THAT(e, HasSubstr("].headers.X-Big"));
  EXPECT_THAT(e, HasSubstr("64 MiB"));
}

// ---- counts ----

TEST(WorkloadLimits, AtMostTenThousandRequests) {
  std::string ok = std::string(kTarget) + "requests:\n";
  for (int i = 0; i < 10'000; ++i) ok += "  - {path: /" + std::to_string(i) + "}\n";
  EXPECT_EQ(error_of(ok), "(no error)");
  const std::string e = error_of(ok + "  - {path: /one-more}\n");
  EXPECT_THAT(e, HasSubstr("w.yaml: requests: got 10001 requests; expected at most 10000"));
}

TEST(WorkloadLimits, AtMost1024Targets) {
  std::string ok = "targets:\n";
  for (int i = 0; i < 1024; ++i) ok += "  - http://127.0.0.1:" + std::to_string(1000 + i) + "/\n";
  EXPECT_EQ(error_of(ok), "(no error)");
  const std::string e = error_of(ok + "  - http://127.0.0.1:9999/\n");
  EXPECT_THAT(e, HasSubstr("w.yaml: targets: got 1025 URLs; expected at most 1024"));
}

// ---- rate ----

TEST(WorkloadLimits, RateHasAnUpperBound) {
  EXPECT_EQ(error_of(std::string(kTarget) + "load: {rate: 10000000}\n"), "(no error)");
  const struct {
    std::string yaml;
    std::string field;
  } cases[] = {
      {"load: {rate: 1e12}\n", "w.yaml: load.rate: got \"1e12\"; expected a number > 0"},
      {"load: {rate: 10000001}\n", "w.yaml: load.rate"},
      {"load: {stages: [{duration: 10s, rate: 1e12}]}\n", "w.yaml: load.stages[0].rate"},
      {"load: {rate: 10}\nsweep: {rates: [10, 1e12]}\n", "w.yaml: sweep.rates[1]"},
      {"capacity: {slo: [\"p99 < 1s\"], max_rate: 1e12}\n", "w.yaml: capacity.max_rate"},
      {"capacity: {slo: [\"p99 < 1s\"], start_rate: 1e12}\n", "w.yaml: capacity.start_rate"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(std::string(kTarget) + c.yaml);
    EXPECT_THAT(e, HasSubstr(c.field)) << c.yaml;
    EXPECT_THAT(e, HasSubstr("10000000")) << c.yaml;
  }
}

// ---- durations ----

TEST(WorkloadLimits, PhasesLastAtMostADay) {
  EXPECT_EQ(error_of(std::string(kTarget) + "load: {duration: 24h}\n"), "(no error)");
  const struct {
    std::string yaml;
    std::string field;
  } cases[] = {
      {"load: {duration: 1000h}\n", "w.yaml: load.duration: got \"1000h\""},
      {"load: {duration: 24h1ms}\n", "w.yaml: load.duration"},
      {"load: {warmup: 25h}\n", "w.yaml: load.warmup"},
      {"load: {connect_timeout: 48h}\n", "w.yaml: load.connect_timeout"},
      {"load: {request_timeout: 48h}\n", "w.yaml: load.request_timeout"},
      {"load: {stages: [{duration: 20h, rate: 1}, {duration: 20h, rate: 2}]}\n",
       "w.yaml: load.duration: got 40h"},
      {"capacity: {slo: [\"p99 < 1s\"], hold: 25h}\n", "w.yaml: capacity.hold"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(std::string(kTarget) + c.yaml);
    EXPECT_THAT(e, HasSubstr(c.field)) << c.yaml;
    EXPECT_THAT(e, HasSubstr("24h")) << c.yaml;
  }
}

// ---- the hostile inputs of the fuzz corpus ----

TEST(WorkloadLimits, HostileCorpusFilesAreRefused) {
  const std::filesystem::path dir =
      std::filesystem::path(HORDE_SOURCE_DIR) / "tests/fuzz_corpus/workload";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("hostile_")) continue;
    ++seen;
    auto w = load_workload_file(entry.path().string());
    if (w.ok()) w = finalize_workload(std::move(*w), entry.path().string());
    EXPECT_FALSE(w.ok()) << name;
  }
  EXPECT_GE(seen, 6);
}

}  // namespace workload_limits_test
}  // namespace horde
