#include "agent/session.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/engine.h"
#include "common/wire.h"
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

enum class SessionEnd { kRunComplete, kBroken, kStopped, kRefused };

// One connected session: owns the stream, the engine thread and the lease watchdog.
class Session {
 public:
  Session(const AgentOptions& o, unsigned threads, const std::atomic<bool>* stop)
      : opt_(o), threads_(threads), stop_(stop) {}

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
    if (!write(hello)) return finish(SessionEnd::kBroken);
    last_heard_ = SteadyClock::now().time_since_epoch().count();
    std::thread watchdog([this] { watch(); });

    SessionEnd end = SessionEnd::kBroken;
    v1::ControllerMessage m;
    while (stream_->Read(&m)) {
      last_heard_ = SteadyClock::now().time_since_epoch().count();
      if (m.has_ping()) {
        v1::AgentMessage pong;
        pong.mutable_pong()->set_seq(m.ping().seq());
        pong.mutable_pong()->set_agent_unix_ns(unix_ns());
        write(pong);
      } else if (m.has_welcome()) {
        lease_ms_ = m.welcome().lease_ms() ? m.welcome().lease_ms() : 5000;
        connected_ = true;
        spdlog::info("joined controller {} as {}", opt_.controller, m.welcome().agent_id());
      } else if (m.has_assignment()) {
        start_phase(m.assignment());
      } else if (m.has_rebalance()) {
        rebalance(m.rebalance());
      } else if (m.has_stop()) {
        spdlog::info("controller says stop: {}", m.stop().reason());
        stop_engine();
        if (m.stop().reason() == "run complete") end = SessionEnd::kRunComplete;
      }
    }
    done_ = true;
    stop_engine();
    if (phase_thread_.joinable()) phase_thread_.join();
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

  bool write(const v1::AgentMessage& m) {
    std::lock_guard lock(write_mu_);
    return stream_->Write(m);
  }

  void start_phase(const v1::Assignment& a) {
    auto slice = from_wire(a.slice());
    if (phase_thread_.joinable()) {
      // The controller sends a phase only after the previous one is done.
      stop_engine();
      phase_thread_.join();
    }
    const std::string run_id = a.run_id();
    const uint32_t phase = a.phase();
    std::optional<std::string> refusal;
    std::map<std::string, std::string> pinned;
    if (!slice) {
      refusal = slice.error().message;
    } else {
      refusal = check_limits(opt_.limits, *slice, resolve_host, &pinned);  // before any traffic
    }
    if (refusal) {
      spdlog::error("assignment rejected: {}", *refusal);
      v1::AgentMessage done;
      done.mutable_phase_done()->set_run_id(run_id);
      done.mutable_phase_done()->set_phase(phase);
      done.mutable_phase_done()->set_error(*refusal);
      write(done);
      return;
    }
    EngineOptions eo;
    eo.slice = std::move(*slice);
    eo.pinned_addresses = std::move(pinned);
    eo.threads = std::min<unsigned>(threads_, std::max<uint32_t>(eo.slice.load.connections, 1));
    eo.phase = phase;
    // Poisson arrivals repeatable per agent and run, and different between agents.
    eo.seed = std::hash<std::string>{}(opt_.name + "/" + run_id) | 1;
    eo.start = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(a.start_unix_ns())));
    spdlog::info("phase {}: {} connections{}, start in {} ms", phase, eo.slice.load.connections,
                 eo.slice.load.mode == LoadMode::kOpen
                     ? fmt::format(", {:.1f} rps", eo.slice.load.rate)
                     : std::string(),
                 (a.start_unix_ns() - unix_ns()) / 1'000'000);
    ran_phase_ = true;
    auto engine = std::make_shared<Engine>(std::move(eo), [this, run_id](IntervalReport r) {
      v1::AgentMessage m;
      to_wire(r, run_id, m.mutable_report());
      ++intervals_sent_;
      write(m);
    });
    {
      std::lock_guard lock(engine_mu_);
      engine_ = engine;
      assigned_ = *slice;
      run_id_ = run_id;
      phase_ = phase;
    }
    intervals_sent_ = 0;
    phase_thread_ = std::thread([this, engine, run_id, phase] {
      const Counters totals = engine->run();
      v1::AgentMessage done;
      auto* d = done.mutable_phase_done();
      d->set_run_id(run_id);
      d->set_phase(phase);
      d->set_intervals(intervals_sent_);
      to_wire(totals, d->mutable_totals());
      write(done);
      std::lock_guard lock(engine_mu_);
      engine_.reset();
    });
  }

  // A lost agent's share handed to this one: checked like an assignment (the
  // agent's own limits still hold); a refused order leaves the load as it is.
  void rebalance(const v1::Rebalance& in) {
    auto order = from_wire(in);
    if (!order) {
      spdlog::error("rebalance refused ({}); keeping the current load", order.error().message);
      return;
    }
    std::lock_guard lock(engine_mu_);
    if (!engine_ || order->run_id != run_id_ || order->phase != phase_) {
      spdlog::warn("rebalance for run {} phase {} ignored: not the running phase", order->run_id,
                   order->phase);
      return;
    }
    auto slice = rebalanced(assigned_, *order);
    std::optional<std::string> refusal;
    if (!slice) {
      refusal = slice.error().message;
    } else {
      AgentLimits limits = opt_.limits;
      limits.allow = TargetAllowList{};  // the targets were checked with the assignment
      refusal = check_limits(limits, *slice);
    }
    if (refusal) {
      spdlog::error("rebalance refused ({}); keeping the current load", *refusal);
      return;
    }
    const auto from = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(order->from_unix_ns)));
    spdlog::info("phase {}: rebalanced to {} from {} ms from now", phase_,
                 order->connections ? fmt::format("{} connections", order->connections)
                                    : fmt::format("{:.1f} rps", slice->load.rate),
                 (order->from_unix_ns - unix_ns()) / 1'000'000);
    engine_->rebalance(order->rate_factor, order->connections, from);
  }

  void stop_engine() {
    std::lock_guard lock(engine_mu_);
    if (engine_) engine_->stop();
  }

  // The lease: a load generator must never run unattended.
  void watch() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const auto heard = SteadyClock::time_point(SteadyClock::duration(last_heard_.load()));
      const bool stopping = stop_ && *stop_;
      if (stopping || SteadyClock::now() - heard > std::chrono::milliseconds(lease_ms_.load())) {
        lease_expired_ = !stopping;
        stop_engine();
        context_.TryCancel();
        return;
      }
    }
  }

  const AgentOptions& opt_;
  const unsigned threads_;
  const std::atomic<bool>* stop_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream_;
  std::mutex write_mu_;
  std::mutex engine_mu_;
  std::shared_ptr<Engine> engine_;
  WorkloadSlice assigned_;  // the running phase's slice as assigned (guarded by engine_mu_)
  std::string run_id_;
  uint32_t phase_ = 0;
  std::thread phase_thread_;
  std::atomic<int64_t> last_heard_{0};
  std::atomic<uint32_t> lease_ms_{5000};
  std::atomic<bool> done_{false};
  std::atomic<bool> lease_expired_{false};
  std::atomic<uint32_t> intervals_sent_{0};
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
  args.SetMaxReceiveMessageSize(4 << 20);
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  auto backoff = std::chrono::milliseconds(200);
  spdlog::info("agent {} dialing controller {} ({} threads)", o.name, o.controller, threads);
  while (!(stop && *stop)) {
    auto channel = grpc::CreateCustomChannel(o.controller, channel_credentials(o.security), args);
    auto stub = v1::Controller::NewStub(channel);
    // Wait for the controller to be reachable before opening the session.
    if (channel->WaitForConnected(std::chrono::system_clock::now() + backoff)) {
      Session session(o, threads, stop);
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
