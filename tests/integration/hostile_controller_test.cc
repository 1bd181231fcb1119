// A hostile controller against a real agent process (issue 14, item 5): a
// hand-written gRPC server (the generated service, no horde controller code)
// authenticates `horde agent --max-rate 100`, asks for a 10-hour lease, sends
// an assignment far over the limit, one whose start passed an hour ago, sends
// that one again while it runs, and then a new phase every few tens of
// milliseconds, each placed so that all the agent's threads are due at once
// right after it arrives. Whatever it is told, the agent keeps to its own
// safety: the lease is held to 30 s, the backlog is dropped and counted as
// skipped, the repeated assignment is refused, and no second at the target
// (its own arrival times, the truth) sees more than --max-rate plus the bucket's
// burst. Without the token bucket the churn alone reaches several times that.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "horde/v1/session.grpc.pb.h"
#include "tests/agent/test_http_server.h"
#include "tests/integration/harness.h"

namespace horde::testing {
namespace hostile_controller_test {

using namespace std::chrono_literals;

constexpr char kToken[] = "hostile-controller-token";
constexpr double kMaxRate = 100;
constexpr uint32_t kThreads = 8;  // one connection each; at 100/s they share one 80 ms grid
constexpr int64_t kGridNs = 80'000'000;
constexpr int64_t kHourNs = 3'600'000'000'000;

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One session at a time: the RPC thread reads and keeps every message; the
// test thread writes. After the PhaseDone of `close_after` the RPC ends (OK),
// so the agent sees its stream close.
class FakeController final : public v1::Controller::Service {
 public:
  grpc::Status Session(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) override {
    const auto& metadata = context->client_metadata();
    const auto auth = metadata.find("authorization");
    if (auth == metadata.end() ||
        std::string(auth->second.data(), auth->second.size()) != std::string("Bearer ") + kToken) {
      return {grpc::StatusCode::UNAUTHENTICATED, "bad token"};
    }
    v1::AgentMessage m;
    if (!stream->Read(&m) || !m.has_hello()) return {grpc::StatusCode::ABORTED, "no hello"};
    {
      std::lock_guard lock(write_mu_);
      stream_ = stream;
    }
    {
      std::lock_guard lock(mu_);
      hello_ = m.hello();
      cv_.notify_all();
    }
    while (stream->Read(&m)) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
      cv_.notify_all();
      if (m.has_phase_done() && close_after_ && m.phase_done().phase() == *close_after_) break;
    }
    {
      std::lock_guard lock(write_mu_);
      stream_ = nullptr;
    }
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
    return grpc::Status::OK;
  }

  bool send(const v1::ControllerMessage& m) {
    std::lock_guard lock(write_mu_);
    return stream_ != nullptr && stream_->Write(m);
  }

  // Ends the session once the agent has said it is done with `phase`.
  void close_after(uint32_t phase) {
    std::lock_guard lock(mu_);
    close_after_ = phase;
  }

  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(); });
  }

  bool joined(std::chrono::milliseconds timeout) {
    return wait([&] { return hello_.has_value(); }, timeout);
  }
  bool ended(std::chrono::milliseconds timeout) {
    return wait([&] { return ended_; }, timeout);
  }

  // The PhaseDone for `phase`, waiting for it.
  std::optional<v1::PhaseDone> phase_done(uint32_t phase, std::chrono::milliseconds timeout) {
    std::optional<v1::PhaseDone> found;
    wait(
        [&] {
          for (const auto& m : messages_) {
            if (m.has_phase_done() && m.phase_done().phase() == phase) found = m.phase_done();
          }
          return found.has_value();
        },
        timeout);
    return found;
  }

  // Waits for a report of `phase` with requests in it.
  bool traffic_in(uint32_t phase, std::chrono::milliseconds timeout) {
    return wait(
        [&] {
          return std::any_of(messages_.begin(), messages_.end(), [&](const v1::AgentMessage& m) {
            return m.has_report() && m.report().phase() == phase &&
                   m.report().counters().requests() > 0;
          });
        },
        timeout);
  }

  std::vector<v1::AgentMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex write_mu_;
  grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<v1::Hello> hello_;
  std::vector<v1::AgentMessage> messages_;
  std::optional<uint32_t> close_after_;
  bool ended_ = false;
};

// An open-loop phase a little over an hour long (so one that started an hour
// ago is still running) at `rate` over kThreads connections to `url`.
v1::ControllerMessage assignment(const std::string& url, uint32_t phase, double rate,
                                 int64_t start_unix_ns, uint64_t interval_ms) {
  v1::ControllerMessage m;
  auto* a = m.mutable_assignment();
  a->set_run_id("hostile-run");
  a->set_phase(phase);
  a->set_start_unix_ns(start_unix_ns);
  auto* s = a->mutable_slice();
  s->add_targets(url);
  auto* r = s->add_requests();
  r->set_method("GET");
  r->set_path("/");
  r->set_weight(1);
  s->set_open_loop(true);
  s->set_connections(kThreads);
  s->set_rate(rate);
  s->set_duration_ms(3'600'000 + 120'000);
  s->set_interval_ms(interval_ms);
  s->set_connect_timeout_ms(2'000);
  s->set_request_timeout_ms(5'000);
  return m;
}

TEST(HostileController, TheAgentKeepsItsOwnLimitsWhateverItIsTold) {
  TestHttpServer target;
  const std::string url = "http://127.0.0.1:" + std::to_string(target.port()) + "/";

  FakeController service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  ASSERT_GT(port, 0);

  const auto dir = temp_dir("hostile-controller");
  write_file(dir / "token", kToken);
  // The agent's log is its stderr: through a shell that exec's it, onto the captured stdout.
  auto spawned = Subprocess::spawn(
      {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", HORDE_BINARY, "agent", "--controller",
       "127.0.0.1:" + std::to_string(port), "--once", "--name", "careful", "--threads",
       std::to_string(kThreads), "--max-rate", "100", "--token-file", (dir / "token").string()},
      true);
  ASSERT_TRUE(spawned) << spawned.error().message;
  Subprocess agent = std::move(*spawned);
  std::mutex log_mu;
  std::vector<std::string> log;
  std::thread log_reader([&] {
    const auto deadline = in(90s);
    while (auto line = agent.read_line(deadline)) {
      std::lock_guard lock(log_mu);
      log.push_back(*line);
    }
  });
  // On an early return: the agent killed, so the reader meets the end of its output.
  struct Reaper {
    Subprocess& agent;
    std::thread& reader;
    ~Reaper() {
      if (!reader.joinable()) return;
      agent.signal(SIGKILL);
      reader.join();
    }
  } reaper{agent, log_reader};
  auto logged = [&](const std::string& text) {
    std::lock_guard lock(log_mu);
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };

  ASSERT_TRUE(service.joined(20s));
  v1::ControllerMessage welcome;
  welcome.mutable_welcome()->set_agent_id("a1");
  welcome.mutable_welcome()->set_lease_ms(36'000'000);  // 10 hours: the agent holds it to 30 s
  ASSERT_TRUE(service.send(welcome));

  // Far over --max-rate, an hour late: refused before any traffic.
  ASSERT_TRUE(service.send(assignment(url, 0, 1e7, unix_ns() - kHourNs, 1'000)));
  const auto refused = service.phase_done(0, 10s);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->error().find("--max-rate"), std::string::npos) << refused->error();
  EXPECT_EQ(refused->totals().requests(), 0u);

  // Within the limit but an hour late: starts now, the backlog dropped as skipped.
  const auto first = assignment(url, 1, kMaxRate, unix_ns() - kHourNs, 1'000);
  ASSERT_TRUE(service.send(first));
  ASSERT_TRUE(service.traffic_in(1, 15s));
  ASSERT_TRUE(service.send(first));  // again, while it runs: refused, the phase runs on
  std::this_thread::sleep_for(2s);

  // A new phase every few tens of ms, each an hour late and placed so that
  // every thread's next request is due 20 ms after it is sent; the next
  // follows once the target has seen a thread-count of new requests (or after 250 ms).
  uint32_t phase = 2;
  const auto churn_end = in(3s);
  for (; Clock::now() < churn_end; ++phase) {
    const uint64_t seen = target.answered();
    const int64_t due = unix_ns() + 20'000'000;
    const int64_t start = due - kGridNs * ((kHourNs + kGridNs - 1) / kGridNs);
    ASSERT_TRUE(service.send(assignment(url, phase, kMaxRate, start, 60'000)));
    const auto next = in(250ms);
    while (Clock::now() < next && target.answered() < seen + kThreads) {
      std::this_thread::sleep_for(1ms);
    }
  }
  const uint32_t last = phase - 1;

  service.close_after(last);
  v1::ControllerMessage stop;
  stop.mutable_stop()->set_reason("run complete");
  ASSERT_TRUE(service.send(stop));
  ASSERT_TRUE(service.ended(20s));
  EXPECT_EQ(agent.wait_until(in(20s)).value_or(-1), 0);
  log_reader.join();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));

  // The lease is the agent's: a controller cannot switch it off.
  EXPECT_TRUE(logged("controller asks for a 36000000 ms lease; this agent holds it to 30000 ms"));
  // The repeated assignment was refused, and the phase was not started again:
  // its intervals came once each, in order, and its backlog was counted once.
  EXPECT_TRUE(logged("refused: that phase is already running"));
  const auto messages = service.messages();
  uint32_t next_interval = 0;
  uint32_t phase1_done = 0;
  uint64_t delivered = 0;  // requests the agent counted, every phase
  for (const auto& m : messages) {
    if (m.has_report() && m.report().phase() == 1) {
      EXPECT_EQ(m.report().interval(), next_interval);
      next_interval = m.report().interval() + 1;
      // From the agent's own reports: no 1 s interval over the rate plus the burst.
      EXPECT_LE(m.report().counters().requests(), 100u + 8u + 10u) << m.report().interval();
    }
    if (m.has_phase_done()) {
      delivered += m.phase_done().totals().requests();
      if (m.phase_done().phase() == 1) ++phase1_done;
    }
  }
  EXPECT_GT(next_interval, 3600u);  // the intervals of the hour that had passed, empty
  EXPECT_EQ(phase1_done, 1u);
  const auto phase1 = service.phase_done(1, 1s);
  ASSERT_TRUE(phase1);
  EXPECT_TRUE(phase1->error().empty()) << phase1->error();
  // An hour at 100/s was due before the assignment came: dropped, not sent.
  EXPECT_GE(phase1->totals().skipped(), 360'000u);
  EXPECT_LE(phase1->totals().skipped(), 360'000u + 100u * 30u);
  EXPECT_GT(phase1->totals().requests(), 100u);
  // A churned phase may be stopped before some of its threads began (they then
  // skip and send nothing); every thread that began dropped its hour, 45,000
  // requests at 12.5/s, before it sent anything.
  uint32_t whole = 0;
  for (uint32_t p = 2; p <= last; ++p) {
    const auto done = service.phase_done(p, 1s);
    ASSERT_TRUE(done) << p;
    if (done->totals().requests() > 0) {
      EXPECT_GE(done->totals().skipped(), 45'000u) << p;
    }
    if (done->totals().skipped() >= 360'000u) ++whole;
  }
  EXPECT_GT(whole, (last - 1) / 2);

  // The truth at the target: the churn sent traffic, yet no second carried
  // more than --max-rate plus the bucket's burst (slack for the server's timestamps).
  const size_t most = target.max_arrivals_within(1s);
  std::printf("phases %u, requests at the target %llu, most in one second %zu\n", last,
              static_cast<unsigned long long>(target.answered()), most);
  EXPECT_GT(last, 10u);
  EXPECT_LE(most, 100u + 8u + 10u);
  EXPECT_GE(target.answered(), delivered);
  EXPECT_GT(target.answered(), 300u);
}

}  // namespace hostile_controller_test
}  // namespace horde::testing
