// gRPC end to end through the CLI: `horde run` with two local agents against the
// gRPC test target (tests/grpc_target). The workload's JSON message is encoded
// on the controller from echo.proto, travels to the agents as bytes, and the
// calls are counted by grpc-status in summary.json. The target's own call count
// is the truth the merged counts are checked against.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace protocols_test {

class GrpcTarget {
 public:
  GrpcTarget() {
    auto p = Subprocess::spawn({HORDE_GRPC_TARGET, "--port", "0"}, true);
    if (!p) throw std::runtime_error(p.error().message);
    process_ = std::move(*p);
    const auto at = wait_for_line(process_, "listening on 127.0.0.1:");
    if (at) port_ = static_cast<uint16_t>(std::stoi(*at));
  }
  ~GrpcTarget() {
    if (!stopped_) stop();
  }
  uint16_t port() const { return port_; }
  // Stops the target; returns the calls it answered ("calls N" on SIGTERM).
  int64_t stop() {
    stopped_ = true;
    process_.signal(SIGTERM);
    const auto calls = wait_for_line(process_, "calls ", std::chrono::seconds(10));
    process_.wait_until(in(std::chrono::seconds(5)));
    return calls ? std::stoll(*calls) : -1;
  }

 private:
  Subprocess process_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

std::string workload(uint16_t port, const std::string& message) {
  return "name: grpc-e2e\n"
         "target: grpc://127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "grpc:\n"
         "  method: /horde.test.Echo/Say\n"
         "  proto_files: [" HORDE_SOURCE_DIR
         "/tests/grpc_target/echo.proto]\n"
         "  message: " +
         message +
         "\n"
         "  metadata: {x-load: horde}\n"
         "  deadline: 5s\n"
         "load: {connections: 2, streams_per_connection: 4, duration: 2s}\n";
}

struct GrpcRun {
  Finished run;
  nlohmann::json summary;  // null when the run did not write one
};

// `horde run` of workload(target, message) with `agents` local agents.
GrpcRun run_grpc(const GrpcTarget& target, const std::string& name, const std::string& message,
                 int agents) {
  const auto dir = temp_dir(name);
  write_file(dir / "w.yaml", workload(target.port(), message));
  GrpcRun r;
  r.run = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", std::to_string(agents),
                     "--threads", "1", "--out", (dir / "out").string(), "--no-live"});
  if (std::filesystem::exists(dir / "out" / "summary.json")) {
    r.summary = read_json(dir / "out" / "summary.json");
  }
  return r;
}

TEST(Grpc, TwoAgentsCountEveryCallTheTargetAnswered) {
  GrpcTarget target;
  ASSERT_NE(target.port(), 0);
  const auto [f, summary] = run_grpc(target, "grpc-ok", "{text: hello}", 2);
  ASSERT_EQ(f.code, 0) << f.out;
  const auto& phase = summary["phases"][0];
  const uint64_t requests = summary["totals"]["requests"];
  EXPECT_GT(requests, 50u);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  EXPECT_EQ(phase["grpc_status"]["OK"], requests);
  EXPECT_EQ(phase["status_codes"]["200"], requests);
  EXPECT_EQ(summary["workload"]["protocol"], "grpc");
  const int64_t calls = target.stop();
  // Every counted call was answered; at most the in-flight ones (2 x 4) more.
  EXPECT_GE(calls, static_cast<int64_t>(requests));
  EXPECT_LE(calls, static_cast<int64_t>(requests) + 8);
  EXPECT_NE(f.out.find("grpc status: OK="), std::string::npos) << f.out;
}

TEST(Grpc, NonOkStatusIsAnErrorCountedByName) {
  GrpcTarget target;
  ASSERT_NE(target.port(), 0);
  const auto [f, summary] = run_grpc(target, "grpc-notfound", "{text: x, code: 5}", 1);
  ASSERT_EQ(f.code, 0) << f.out;
  const auto& phase = summary["phases"][0];
  const uint64_t requests = summary["totals"]["requests"];
  EXPECT_GT(requests, 50u);
  EXPECT_EQ(phase["grpc_status"]["NOT_FOUND"], requests);
  EXPECT_FALSE(phase["grpc_status"].contains("OK"));
  EXPECT_EQ(phase["errors_by_class"]["grpc"], requests);
  EXPECT_EQ(summary["totals"]["errors"], requests);
}

TEST(Grpc, BadMessageIsRejectedBeforeAnyTraffic) {
  const auto dir = temp_dir("grpc-bad");
  write_file(dir / "w.yaml", workload(9, "{txt: hello}"));
  auto f = run_horde({"validate", (dir / "w.yaml").string()});
  EXPECT_EQ(f.code, 2) << f.out;
}

}  // namespace protocols_test
}  // namespace horde::testing
