// Hostile agents against a real controller process: hand-written gRPC clients
// (the generated stub, no horde agent code) join with the right token, take
// their assignment, then send reports a broken or malicious agent could send.
// Each must cost only its own session (dropped with the reason, marked lost);
// the controller keeps running and a well-behaved agent's counts come out intact.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "horde/v1/session.grpc.pb.h"
#include "tests/integration/harness.h"

namespace horde::testing {
namespace hostile_session_test {

constexpr char kToken[] = "hostile-test-token";

// One fake agent: a reader thread answers pings (so the controller can measure
// its clock and count it ready) and keeps the assignment; the test writes the rest.
class FakeAgent {
 public:
  FakeAgent(const std::string& address, const std::string& name, const std::string& host = "fake") {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);  // so the oversized report leaves this side
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    stub_ = v1::Controller::NewStub(channel_);
    context_.AddMetadata("authorization", std::string("Bearer ") + kToken);
    stream_ = stub_->Session(&context_);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_name(name);
    hello.mutable_hello()->set_host(host);
    hello.mutable_hello()->set_cores(1);
    hello.mutable_hello()->set_threads(1);
    hello.mutable_hello()->set_version("fake");
    write(hello);
    reader_ = std::thread([this] { read_loop(); });
  }
  ~FakeAgent() {
    context_.TryCancel();
    reader_.join();
  }

  bool write(const v1::AgentMessage& m) {
    std::lock_guard lock(write_mu_);
    return stream_->Write(m);
  }

  std::optional<v1::Assignment> wait_assignment(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return assignment_.has_value() || ended_; });
    return assignment_;
  }

  // The status the controller ended the session with, once it has.
  std::optional<grpc::Status> wait_end(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return ended_; })) return std::nullopt;
    return status_;
  }

 private:
  void read_loop() {
    v1::ControllerMessage m;
    while (stream_->Read(&m)) {
      if (m.has_ping()) {
        v1::AgentMessage pong;
        pong.mutable_pong()->set_seq(m.ping().seq());
        pong.mutable_pong()->set_agent_unix_ns(
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
        write(pong);
      } else if (m.has_assignment()) {
        std::lock_guard lock(mu_);
        assignment_ = m.assignment();
        cv_.notify_all();
      }
    }
    grpc::Status status;
    {
      std::lock_guard lock(write_mu_);
      status = stream_->Finish();
    }
    std::lock_guard lock(mu_);
    status_ = status;
    ended_ = true;
    cv_.notify_all();
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream_;
  std::mutex write_mu_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<v1::Assignment> assignment_;
  bool ended_ = false;
  grpc::Status status_;
};

v1::AgentMessage report(const v1::Assignment& a, uint32_t interval) {
  v1::AgentMessage m;
  auto* r = m.mutable_report();
  r->set_run_id(a.run_id());
  r->set_phase(a.phase());
  r->set_interval(interval);
  r->mutable_counters();
  r->mutable_latency();
  return m;
}

TEST(HostileSession, BadReportsCostOnlyTheirOwnSession) {
  const auto dir = temp_dir("hostile");
  Subprocess target = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "16", "--service-time", "1ms"});
  const std::string url = wait_for_line(target, "listening on ").value_or("");
  ASSERT_FALSE(url.empty());
  write_file(dir / "w.yaml", "target: " + url + "\nload: {connections: 6, duration: 3s}\n");
  write_file(dir / "token", kToken);
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "6", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());

  {  // A hello with a name far over the limit never joins.
    FakeAgent longname(address, std::string(300, 'n'));
    auto end = longname.wait_end(std::chrono::seconds(10));
    ASSERT_TRUE(end);
    EXPECT_EQ(end->error_code(), grpc::StatusCode::ABORTED) << end->error_message();
  }

  Subprocess good = start_horde({"agent", "--controller", address, "--once", "--name", "good",
                                 "--threads", "1", "--token-file", (dir / "token").string()});
  FakeAgent bucket(address, "bucket"), counts(address, "counts"), backwards(address, "backwards"),
      name(address, "name"), big(address, "big");
  for (FakeAgent* f : {&bucket, &counts, &backwards, &name, &big}) {
    ASSERT_TRUE(f->wait_assignment(std::chrono::seconds(30)));
  }
  const v1::Assignment a = *bucket.wait_assignment(std::chrono::seconds(1));

  auto m = report(a, 0);  // a bucket index past the histogram's last
  m.mutable_report()->mutable_counters()->set_requests(1);
  m.mutable_report()->mutable_latency()->add_gap(10'000'000);
  m.mutable_report()->mutable_latency()->add_count(1);
  bucket.write(m);

  m = report(a, 0);  // errors by class that do not add up to the errors
  m.mutable_report()->mutable_counters()->set_requests(10);
  m.mutable_report()->mutable_counters()->set_errors(5);
  auto* e = m.mutable_report()->mutable_counters()->add_errors_by_class();
  e->set_error_class("timeout");
  e->set_count(3);
  counts.write(m);

  backwards.write(report(a, 1));  // valid (and empty), then an earlier interval
  backwards.write(report(a, 0));

  m = report(a, 0);  // an error class name of 300 characters
  m.mutable_report()->mutable_counters()->set_requests(1);
  m.mutable_report()->mutable_counters()->set_errors(1);
  e = m.mutable_report()->mutable_counters()->add_errors_by_class();
  e->set_error_class(std::string(300, 'x'));
  e->set_count(1);
  name.write(m);

  m = report(a, 0);  // above the 4 MiB receive limit
  m.mutable_report()->set_run_id(std::string(5 << 20, 'r'));
  big.write(m);

  const std::pair<FakeAgent*, const char*> expected[] = {
      {&bucket, "out of range"},
      {&counts, "add up"},
      {&backwards, "must increase"},
      {&name, "unknown error class"},
  };
  for (const auto& [fake, why] : expected) {
    auto end = fake->wait_end(std::chrono::seconds(10));
    ASSERT_TRUE(end) << why;
    EXPECT_EQ(end->error_code(), grpc::StatusCode::ABORTED) << end->error_message();
    EXPECT_NE(end->error_message().find(why), std::string::npos) << end->error_message();
  }
  auto big_end = big.wait_end(std::chrono::seconds(10));
  ASSERT_TRUE(big_end);
  EXPECT_EQ(big_end->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << big_end->error_message();

  // The controller carries on with the good agent to the end of the phase.
  controller.read_all(in(std::chrono::seconds(40)));
  EXPECT_EQ(controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);  // lost agents
  EXPECT_EQ(good.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);

  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["agents"].size(), 6u);
  uint64_t good_requests = 0;
  for (const auto& agent : summary["agents"]) {
    const std::string n = agent["name"];
    if (n == "good") {
      EXPECT_FALSE(agent["lost"].get<bool>());
      good_requests = agent["requests"].get<uint64_t>();
    } else {
      EXPECT_TRUE(agent["lost"].get<bool>()) << n;
      EXPECT_FALSE(agent.value("lost_reason", "").empty()) << n;
      EXPECT_EQ(agent["requests"].get<uint64_t>(), 0u) << n;
    }
  }
  EXPECT_GT(good_requests, 0u);
  EXPECT_EQ(summary["totals"]["requests"].get<uint64_t>(), good_requests);
  EXPECT_EQ(summary["totals"]["errors"].get<uint64_t>(), 0u);
  // The truth from the other side: the target answered at least what the good agent counted.
  auto stats = nlohmann::json::parse(http_get(port_of_url(url), "/__stats"), nullptr, false);
  ASSERT_FALSE(stats.is_discarded());
  EXPECT_GE(stats.value("served", uint64_t{0}), good_requests);
}

// Issue 14 (items 2 and 11): an agent reporting far-future interval numbers
// (each used to cost the controller a dense ~188 KB histogram until the phase
// ended) and an agent whose counts would wrap the merged ones (2^64-1 requests,
// then 10 requests / 10 errors merged into requests 9, error rate 1.111) are
// rejected, counted and told why; the good agent's counts come out intact, and
// the long phase ends promptly on SIGTERM.
TEST(HostileSession, FarFutureAndOverflowingReportsAreRejectedCountedAndToldWhy) {
  const auto dir = temp_dir("hostile-runaway");
  Subprocess target = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "16", "--service-time", "1ms"});
  const std::string url = wait_for_line(target, "listening on ").value_or("");
  ASSERT_FALSE(url.empty());
  // A long phase: far-future indexes are inside it, so only the new bound refuses them.
  write_file(dir / "w.yaml",
             "target: " + url + "\nload: {rate: 60, duration: 1h}\ntolerate_lost_agents: 2\n");
  write_file(dir / "token", kToken);
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "3", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());

  Subprocess good = start_horde({"agent", "--controller", address, "--once", "--name", "good",
                                 "--threads", "1", "--token-file", (dir / "token").string()});
  FakeAgent future(address, "future"), wrap(address, "wrap");
  for (FakeAgent* f : {&future, &wrap}) ASSERT_TRUE(f->wait_assignment(std::chrono::seconds(30)));
  const v1::Assignment a = *future.wait_assignment(std::chrono::seconds(1));

  // Far-future intervals, increasing as the protocol asks: from 500 on.
  bool future_written = true;
  for (uint32_t i = 500; i < 800 && future_written; ++i)
    future_written = future.write(report(a, i));
  // 2^64-1 requests in one interval.
  auto m = report(a, 0);
  m.mutable_report()->mutable_counters()->set_requests(UINT64_MAX);
  wrap.write(m);

  const std::pair<FakeAgent*, const char*> expected[] = {
      {&future, "ahead of the phase"},
      {&wrap, "overflow"},
  };
  for (const auto& [fake, why] : expected) {
    auto end = fake->wait_end(std::chrono::seconds(10));
    ASSERT_TRUE(end) << why;
    EXPECT_EQ(end->error_code(), grpc::StatusCode::ABORTED) << end->error_message();
    EXPECT_NE(end->error_message().find(why), std::string::npos) << end->error_message();
  }

  // Let the good agent run a few intervals, then stop the hour-long phase.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  controller.signal(SIGTERM);
  const auto sent = Clock::now();
  auto code = controller.wait_until(in(std::chrono::seconds(20)));
  const double took = std::chrono::duration<double>(Clock::now() - sent).count();
  ASSERT_TRUE(code) << "the controller did not end within 20 s of SIGTERM";
  EXPECT_EQ(*code, 3);
  EXPECT_LT(took, 5.0) << "SIGTERM answered after " << took << " s";
  EXPECT_EQ(good.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);

  const auto summary = read_json(dir / "out" / "summary.json");
  ASSERT_EQ(summary["phases"].size(), 1u);
  // One rejected report per hostile agent (each then lost its session).
  EXPECT_EQ(summary["phases"][0]["rejected_reports"].get<uint64_t>(), 2u);
  EXPECT_EQ(summary["totals"]["rejected_reports"].get<uint64_t>(), 2u);
  uint64_t good_requests = 0;
  for (const auto& agent : summary["agents"]) {
    const std::string n = agent["name"];
    if (n == "good") {
      EXPECT_FALSE(agent["lost"].get<bool>());
      good_requests = agent["requests"].get<uint64_t>();
    } else {
      EXPECT_TRUE(agent["lost"].get<bool>()) << n;
      EXPECT_EQ(agent["requests"].get<uint64_t>(), 0u) << n;
    }
  }
  EXPECT_GT(good_requests, 0u);
  EXPECT_EQ(summary["totals"]["requests"].get<uint64_t>(), good_requests);
  EXPECT_LE(summary["totals"]["error_rate"].get<double>(), 1.0);
  // No interval was invented past the stop: at most the seconds the phase ran.
  const std::string csv = read_file(dir / "out" / "intervals.csv");
  const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;
  EXPECT_LT(rows, 60) << csv;
}

// Issue #14 item 1: the controller keeps 256 bytes of a host name; cut inside a
// UTF-8 character, summary.json's writer threw and the controller died of
// SIGABRT (exit 134) with no summary.json and no report.html.
TEST(HostileSession, HostNameCutInsideAUtf8CharacterStillWritesTheResults) {
  const auto dir = temp_dir("hostile-host");
  write_file(dir / "w.yaml", "target: http://127.0.0.1:9/\nload: {connections: 1, duration: 1s}\n");
  write_file(dir / "token", kToken);
  auto [controller, address] =
      start_controller(dir / "w.yaml", {"--expect-agents", "1", "--join-timeout", "30s", "--out",
                                        (dir / "out").string(), "--no-live", "--token-file",
                                        (dir / "token").string()});
  ASSERT_FALSE(address.empty());
  std::string host = "a";
  for (int i = 0; i < 200; ++i) host += "\xc3\xa9";  // 401 bytes: byte 256 is inside an 'é'
  FakeAgent fake(address, "utf8", host);
  ASSERT_TRUE(fake.wait_assignment(std::chrono::seconds(30)));
  // It never reports: the controller drops it as silent, a lost agent (exit 3).
  controller.read_all(in(std::chrono::seconds(40)));
  EXPECT_EQ(controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  const auto summary =
      nlohmann::json::parse(read_file(dir / "out" / "summary.json"), nullptr, false);
  ASSERT_FALSE(summary.is_discarded());
  ASSERT_EQ(summary["agents"].size(), 1u);
  const std::string kept = summary["agents"][0]["host"];
  EXPECT_EQ(kept, host.substr(0, 255));  // whole characters only
  EXPECT_NE(read_file(dir / "out" / "report.html").find("</html>"), std::string::npos);
}

}  // namespace hostile_session_test
}  // namespace horde::testing
