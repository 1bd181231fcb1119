#include "agent/session.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <thread>

#include "agent/outbox.h"
#include "agent/phase_runner.h"
#include "agent/token_bucket.h"
#include "horde/v1/session.grpc.pb.h"

namespace horde {

namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// The lease is the agent's own safety, not the controller's to switch off: 0
// means the default, and anything longer than kMaxLease is cut to it.
uint32_t lease_ms(uint32_t welcome_lease_ms) {
  constexpr uint32_t kDefault = 5'000;
  constexpr auto kMax = static_cast<uint32_t>(kMaxLease.count());
  if (welcome_lease_ms == 0) return kDefault;
  if (welcome_lease_ms > kMax) {
    spdlog::warn("controller asks for a {} ms lease; this agent holds it to {} ms",
                 welcome_lease_ms, kMax);
    return kMax;
  }
  return welcome_lease_ms;
}

enum class SessionEnd { kRunComplete, kBroken, kStopped, kRefused };

// One connected session: the stream, the hello, pongs and the lease watchdog.
// Three threads meet here: this one reads the controller's messages (and keeps
// the lease alive), the outbox's writer is the only one that writes on the
// stream, and the watchdog ends the session when the controller goes silent.
// What to run is the phase runner's business.
class Session {
 public:
  Session(const AgentOptions& o, unsigned threads, TokenBucket* rate_limit,
          const std::atomic<bool>* stop)
      : opt_(o), threads_(threads), rate_limit_(rate_limit), stop_(stop) {}

  SessionEnd serve(v1::Controller::Stub& stub) {
    if (!opt_.security.token.empty()) {
      context_.AddMetadata("authorization", "Bearer " + opt_.security.token);
    }
    stream_ = stub.Session(&context_);
    v1::AgentMessage hello;
    auto* h = hello.mutable_hello();
    h->set_name(opt_.name);
    h->set_host(host_name());
    h->set_cores(std::max(1u, std::thread::hardware_concurrency()));
    h->set_threads(threads_);
    h->set_version(HORDE_VERSION);
    if (!stream_->Write(hello)) return finish(SessionEnd::kBroken);
    last_heard_ = SteadyClock::now().time_since_epoch().count();
    std::thread watchdog([this] { watch(); });

    SessionEnd end = SessionEnd::kBroken;
    {
      Outbox outbox([this](const v1::AgentMessage& m) { return stream_->Write(m); });
      PhaseRunner runner(opt_.limits, opt_.name, threads_, outbox, rate_limit_);
      runner_ = &runner;
      v1::ControllerMessage m;
      while (stream_->Read(&m)) {
        last_heard_ = SteadyClock::now().time_since_epoch().count();
        if (m.has_ping()) {
          outbox.push(PongOut{m.ping().seq(), unix_ns()});
        } else if (m.has_welcome()) {
          lease_ms_ = lease_ms(m.welcome().lease_ms());
          connected_ = true;
          spdlog::info("joined controller {} as {}", opt_.controller, m.welcome().agent_id());
        } else if (m.has_assignment()) {
          runner.assign(m.assignment());
        } else if (m.has_rebalance()) {
          runner.rebalance(m.rebalance());
        } else if (m.has_stop()) {
          spdlog::info("controller says stop: {}", m.stop().reason());
          runner.stop();
          if (m.stop().reason() == "run complete") end = SessionEnd::kRunComplete;
        }
      }
      done_ = true;
      {
        std::lock_guard lock(runner_mu_);
        runner.stop();
        runner_ = nullptr;
      }
      runner.join();
      ran_phase_ = runner.ran_phase();
      outbox.close();  // every write is done before Finish()
    }
    watchdog.join();
    const grpc::Status status = stream_->Finish();
    if (end != SessionEnd::kRunComplete) {
      if (stop_ && *stop_) return SessionEnd::kStopped;
      if (lease_expired_) {
        spdlog::warn("no word from the controller for {} ms: traffic stopped", lease_ms_.load());
      } else if (!status.ok()) {
        spdlog::warn("session ended: {} ({})", status.error_message(),
                     static_cast<int>(status.error_code()));
      }
      if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS ||
          status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        spdlog::error("controller refused this agent: {}", status.error_message());
        return SessionEnd::kRefused;
      }
    }
    return end;
  }

  bool connected() const { return connected_; }
  bool ran_phase() const { return ran_phase_; }

 private:
  SessionEnd finish(SessionEnd e) {
    stream_->Finish();
    return e;
  }

  void stop_phase() {
    std::lock_guard lock(runner_mu_);
    if (runner_) runner_->stop();
  }

  // The lease: a load generator must never run unattended.
  void watch() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const auto heard = SteadyClock::time_point(SteadyClock::duration(last_heard_.load()));
      const bool stopping = stop_ && *stop_;
      if (stopping || SteadyClock::now() - heard > std::chrono::milliseconds(lease_ms_.load())) {
        lease_expired_ = !stopping;
        stop_phase();
        context_.TryCancel();
        return;
      }
    }
  }

  const AgentOptions& opt_;
  const unsigned threads_;
  TokenBucket* const rate_limit_;
  const std::atomic<bool>* stop_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream_;
  std::mutex runner_mu_;
  PhaseRunner* runner_ = nullptr;  // while serve() reads (guarded by runner_mu_)
  std::atomic<int64_t> last_heard_{0};
  std::atomic<uint32_t> lease_ms_{5000};
  std::atomic<bool> done_{false};
  std::atomic<bool> lease_expired_{false};
  bool connected_ = false;
  bool ran_phase_ = false;
};

}  // namespace

int run_agent(const AgentOptions& options, const std::atomic<bool>* stop) {
  AgentOptions o = options;
  if (o.name.empty()) o.name = fmt::format("{}-{}", host_name(), ::getpid());
  const unsigned threads =
      o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  grpc::ChannelArguments args;
  // An assignment carries the agent's data rows (at most kMaxDataBytes in a run).
  args.SetMaxReceiveMessageSize(static_cast<int>(kMaxDataBytes + (16u << 20)));
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  // One bucket for the agent's life: no phase, reconnect or thread refills it.
  std::unique_ptr<TokenBucket> rate_limit;
  if (o.limits.max_rate > 0) {
    rate_limit =
        std::make_unique<TokenBucket>(o.limits.max_rate, TokenBucket::burst_for(o.limits.max_rate));
  }
  auto backoff = std::chrono::milliseconds(200);
  spdlog::info("agent {} dialing controller {} ({} threads)", o.name, o.controller, threads);
  while (!(stop && *stop)) {
    auto channel = grpc::CreateCustomChannel(o.controller, channel_credentials(o.security), args);
    auto stub = v1::Controller::NewStub(channel);
    // Wait for the controller to be reachable before opening the session.
    if (channel->WaitForConnected(std::chrono::system_clock::now() + backoff)) {
      Session session(o, threads, rate_limit.get(), stop);
      const SessionEnd end = session.serve(*stub);
      if (end == SessionEnd::kStopped) return 0;
      if (end == SessionEnd::kRefused) return 2;
      if (end == SessionEnd::kRunComplete) {
        if (o.once) return 0;
        backoff = std::chrono::milliseconds(200);
      } else if (o.once && session.ran_phase()) {
        spdlog::error("lost the controller during the run");
        return 3;
      }
      if (session.connected()) backoff = std::chrono::milliseconds(200);
    } else {
      spdlog::debug("controller {} not reachable; retrying in {} ms", o.controller,
                    backoff.count());
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, o.max_backoff);
  }
  return 0;
}

}  // namespace horde
