#include "agent/phase_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include "agent/engine.h"
#include "common/load_validate.h"
#include "common/wire.h"
#include "horde/v1/session.pb.h"

namespace horde {

namespace {

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point from_unix_ns(int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(ns)));
}

}  // namespace

PhaseRunner::PhaseRunner(const AgentLimits& limits, std::string agent_name, unsigned threads,
                         Outbox& outbox, TokenBucket* rate_limit)
    : limits_(limits),
      name_(std::move(agent_name)),
      threads_(threads),
      outbox_(outbox),
      rate_limit_(rate_limit) {}

PhaseRunner::~PhaseRunner() {
  stop();
  join();
}

void PhaseRunner::assign(const v1::Assignment& a) {
  {
    std::lock_guard lock(mu_);
    if (engine_ && a.run_id() == run_id_ && a.phase() == phase_) {
      // Restarting it would start its schedule (and its burst) again.
      spdlog::error("assignment for run {} phase {} refused: that phase is already running",
                    a.run_id(), a.phase());
      return;
    }
  }
  auto slice = from_wire(a.slice());
  if (phase_thread_.joinable()) {
    // The controller sends a phase only after the previous one is done.
    stop();
    join();
  }
  const std::string& run_id = a.run_id();
  const uint32_t phase = a.phase();
  std::optional<std::string> refusal;
  std::map<std::string, std::vector<IpAddress>> pinned;
  if (!slice) {
    refusal = slice.error().message;
  } else {
    refusal = check_limits(limits_, *slice, resolve_host, &pinned);  // before any traffic
  }
  if (refusal) {
    spdlog::error("assignment rejected: {}", *refusal);
    outbox_.push(PhaseEnd{run_id, phase, 0, Counters{}, *refusal});
    return;
  }
  EngineOptions eo;
  eo.slice = *slice;  // a copy: rebalance() scales the slice as assigned
  eo.pinned_addresses = std::move(pinned);
  // No more threads than connections can be open at once.
  const LoadSpec& load = eo.slice.load;
  eo.threads = std::min<unsigned>(
      threads_, std::max<uint32_t>(
                    load.mode == LoadMode::kOpen ? open_pool_bound(load) : load.connections, 1));
  eo.phase = phase;
  // Poisson arrivals repeatable per agent and run, and different between agents.
  eo.seed = std::hash<std::string>{}(name_ + "/" + run_id) | 1;
  eo.start = from_unix_ns(a.start_unix_ns());
  eo.rate_limit = rate_limit_;
  const int64_t start_in_ms = (a.start_unix_ns() - unix_ns()) / 1'000'000;
  // With stages load.rate is 0: name the profile instead (issue 17: "0 rps" read as no load).
  double peak = 0;
  for (const Stage& st : load.stages) peak = std::max(peak, st.rate);
  const std::string rate =
      load.stages.empty() ? fmt::format("{:.1f} rps", load.rate)
                          : fmt::format("{} stages up to {:.1f} rps", load.stages.size(), peak);
  spdlog::info("phase {}: {}, start in {} ms", phase,
               load.mode == LoadMode::kOpen
                   ? fmt::format("open loop {}, up to {} connections ({} in advance)", rate,
                                 open_pool_bound(load), load.connections)
                   : fmt::format("{} connections", load.connections),
               start_in_ms);
  if (eo.start < std::chrono::system_clock::now())
    eo.skip_before = std::chrono::system_clock::now();
  if (start_in_ms < 0 && eo.slice.load.mode == LoadMode::kOpen) {
    spdlog::warn(
        "phase {}: its start time passed {} ms ago: starting now, what was due before "
        "is dropped (counted as skipped)",
        phase, -start_in_ms);
  }
  ran_phase_ = true;
  intervals_ = 0;
  // On a load thread: only queue (the session thread encodes and writes).
  auto engine = std::make_shared<Engine>(std::move(eo), [this, run_id](IntervalReport r) {
    ++intervals_;
    outbox_.push(ReportOut{run_id, std::move(r)});
  });
  {
    std::lock_guard lock(mu_);
    engine_ = engine;
    assigned_ = std::move(*slice);
    run_id_ = run_id;
    phase_ = phase;
  }
  phase_thread_ = std::thread([this, engine, run_id, phase] {
    Counters totals = engine->run();
    if (totals.skipped > 0) {
      spdlog::warn("phase {}: {} requests skipped (due before the phase could start)", phase,
                   totals.skipped);
    }
    if (totals.data_exhausted > 0) {
      spdlog::warn(
          "phase {}: {} requests not sent: a data set in mode unique has no row left for them",
          phase, totals.data_exhausted);
    }
    outbox_.push(PhaseEnd{run_id, phase, intervals_.load(), std::move(totals), {}});
    std::lock_guard lock(mu_);
    engine_.reset();
  });
}

// A lost agent's share handed to this one: checked like an assignment (the
// agent's own limits still hold); a refused order leaves the load as it is.
void PhaseRunner::rebalance(const v1::Rebalance& in) {
  auto order = from_wire(in);
  if (!order) {
    spdlog::error("rebalance refused ({}); keeping the current load", order.error().message);
    return;
  }
  std::lock_guard lock(mu_);
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
    AgentLimits limits = limits_;
    limits.allow = TargetAllowList{};  // the targets were checked with the assignment
    refusal = check_limits(limits, *slice);
  }
  if (refusal) {
    spdlog::error("rebalance refused ({}); keeping the current load", *refusal);
    return;
  }
  spdlog::info("phase {}: rebalanced to {} from {} ms from now", phase_,
               order->connections ? fmt::format("{} connections", order->connections)
                                  : fmt::format("{:.1f} rps", slice->load.rate),
               (order->from_unix_ns - unix_ns()) / 1'000'000);
  engine_->rebalance(order->rate_factor, order->connections, from_unix_ns(order->from_unix_ns));
}

void PhaseRunner::stop() {
  std::lock_guard lock(mu_);
  if (engine_) engine_->stop();
}

void PhaseRunner::join() {
  if (phase_thread_.joinable()) phase_thread_.join();
}

}  // namespace horde
