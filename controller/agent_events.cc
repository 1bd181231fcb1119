// The Controller's handling of agent events on the run thread: hellos,
// pongs (clock offsets), reports (merged, checked for saturation), phase
// ends and refusals, lost sessions and the rebalance that hands a lost
// agent's share to the survivors. The run loop itself is in controller.cc.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "common/text.h"
#include "common/wire.h"
#include "controller/controller.h"
#include "controller/metrics.h"
#include "controller/phase_state.h"
#include "controller/plan.h"

namespace horde {

namespace {
using SteadyClock = std::chrono::steady_clock;
}  // namespace

void Controller::publish_agents() {
  if (!metrics_) return;
  metrics_->set_agents(registry_.joined_count(), registry_.lost_count());
}

void Controller::ping_all() {
  const auto now = SteadyClock::now();
  if (now < next_ping_) return;
  next_ping_ = now + std::chrono::milliseconds(std::max<int64_t>(opt_.lease.count() / 10, 100));
  registry_.for_each([&](AgentRecord& a) {
    if (!a.gone) ping(a);
  });
}

void Controller::ping(AgentRecord& a) {
  v1::ControllerMessage m;
  m.mutable_ping()->set_seq(++ping_seq_);
  a.clock.sent(ping_seq_, unix_now_ns());
  server_.send(a.session, m);
}

void Controller::drop(AgentRecord& a, const std::string& reason, bool lost) {
  if (a.gone) return;
  a.gone = true;
  if (lost && a.in_phase && !a.phase_done) {
    a.lost = true;
    a.lost_reason = reason;
    spdlog::warn("agent {} ({}) lost: {}", a.name, a.peer, reason);
    if (phase_) {
      phase_->merger->agent_finished(a.session);
      rebalance_after_loss(a);
    }
  } else {
    spdlog::info("agent {} ({}) left: {}", a.name.empty() ? "?" : a.name, a.peer, reason);
  }
  server_.finish(a.session, grpc::Status(grpc::StatusCode::ABORTED, reason));
  publish_agents();
}

void Controller::rebalance_after_loss(const AgentRecord& lost) {
  if (!phase_ || !phase_->workload || !phase_->workload->faults.rebalance || abort_requested_) {
    return;
  }
  const Workload& w = *phase_->workload;
  // Soon enough to matter, late enough for the order to arrive before it is due.
  constexpr auto kLead = std::chrono::milliseconds(100);
  const auto now = SteadyClock::now();
  if (now + kLead >= phase_->end) return;  // the phase is over by then: nothing to hand over
  std::vector<uint32_t> member_cores, survivor_cores;
  std::vector<AgentRecord*> survivors;
  for (uint64_t id : phase_->members) {
    AgentRecord& a = registry_.at(id);
    member_cores.push_back(a.threads);
    if (a.gone || a.lost || a.phase_done) continue;
    survivors.push_back(&a);
    survivor_cores.push_back(a.threads);
  }
  if (survivors.empty()) return;
  auto plan = plan_rebalance(w, member_cores, survivor_cores);
  if (!plan) {
    spdlog::warn("agent {} lost; its share stays unused: {}", lost.name, plan.error().message);
    return;
  }
  const int64_t from_ns = unix_now_ns() + std::chrono::nanoseconds(kLead).count();
  const double at_s = std::chrono::duration<double>(now + kLead - phase_->start).count();
  RebalanceRecord entry;
  entry.at_s = std::round(std::max(0.0, at_s) * 1000) / 1000;
  entry.lost_agent = lost.name;
  for (size_t i = 0; i < survivors.size(); ++i) {
    AgentRecord& a = *survivors[i];
    entry.survivors.push_back(a.name);
    v1::ControllerMessage m;
    Rebalance r;
    r.run_id = result_.run_id;
    r.phase = phase_->index;
    r.rate_factor = plan->rate_factor;
    r.connections = plan->connections.empty() ? 0 : plan->connections[i];
    r.from_unix_ns = from_ns + a.clock.offset_ns();
    to_wire(r, m.mutable_rebalance());
    server_.send(a.session, m);
  }
  std::string what;
  if (w.load.mode == LoadMode::kOpen) {
    entry.rate_factor = plan->rate_factor;
    what = fmt::format("rate x{:.3f} each ({} rps in all)", plan->rate_factor, w.load.rate);
  } else {
    entry.connections = plan->connections;
    what = fmt::format("connections {} ({} in all)", fmt::join(plan->connections, "/"),
                       w.load.connections);
  }
  phase_->accumulator.result().rebalances.push_back(std::move(entry));
  const std::string text = fmt::format("agent {} lost: its share goes to the {} survivor(s): {}",
                                       lost.name, survivors.size(), what);
  spdlog::info("{}", text);
  if (opt_.live) progress_.message(text);
}

void Controller::on_hello(AgentRecord& a, const v1::Hello& h) {
  switch (registry_.hello(a, h.name(), h.host(), h.version(), h.cores(), h.threads(),
                          phase_ != nullptr)) {
    case HelloOutcome::kSecondHello:
      return drop(a, "second hello on one session", true);
    case HelloOutcome::kBad:
      spdlog::warn("session from {}: bad hello (name length 1..{}, cores 1..4096); dropped", a.peer,
                   kMaxNameLength);
      return drop(a, "bad hello", false);
    case HelloOutcome::kDuplicate:
      spdlog::warn("agent name {} from {} is already taken; rejected as duplicate", h.name(),
                   a.peer);
      a.gone = true;
      server_.finish(a.session, grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                                             "an agent named " + h.name() + " already joined"));
      return;
    case HelloOutcome::kJoinedSpare:
      spdlog::warn("agent {} from {} joined after the run started / the roster is full; not used",
                   h.name(), a.peer);
      break;
    case HelloOutcome::kJoined:
      break;
  }
  v1::ControllerMessage m;
  m.mutable_welcome()->set_agent_id(fmt::format("{}-{}", result_.run_id, a.session));
  m.mutable_welcome()->set_lease_ms(static_cast<uint32_t>(opt_.lease.count()));
  server_.send(a.session, m);
  spdlog::info("agent {} joined from {} (host {}, {} cores, {} threads) [{}/{}]", a.name, a.peer,
               a.host, a.cores, a.threads, registry_.roster().size(), opt_.expect_agents);
  ping(a);  // start measuring its clock offset now (only this agent: joins stay O(N))
  publish_agents();
}

void Controller::handle(const SessionEvent& e) {
  if (e.session == 0) return;  // wake-up
  if (e.kind == SessionEvent::Kind::kClosed && !registry_.find(e.session)) return;
  AgentRecord& a = registry_.session(e.session, e.peer);
  if (e.kind == SessionEvent::Kind::kClosed) {
    if (!a.gone) drop(a, "session closed", true);
    return;
  }
  if (a.gone) return;
  a.last_heard = SteadyClock::now();
  const auto& m = e.message;
  if (!a.joined && m.msg_case() != v1::AgentMessage::kHello) {
    return drop(a, "first message was not a hello", false);
  }
  switch (m.msg_case()) {
    case v1::AgentMessage::kHello:
      return on_hello(a, m.hello());
    case v1::AgentMessage::kPong: {
      if (!a.clock.received(m.pong().seq(), m.pong().agent_unix_ns(), e.received_unix_ns)) return;
      // Until three round trips are in, ask again at once: the start then follows a join by
      // milliseconds, not by three ping periods.
      if (a.clock.samples() < 3 && !phase_) ping(a);
      return;
    }
    case v1::AgentMessage::kReport: {
      if (!phase_ || !a.in_phase || m.report().run_id() != result_.run_id ||
          m.report().phase() != phase_->index) {
        spdlog::debug("stale report from {} discarded", a.name);
        if (phase_) ++phase_->accumulator.result().discarded_reports;
        return;
      }
      // Decoded into one reused report: no 188 KB histogram allocated per report.
      IntervalReport* report = &scratch_report_;
      if (auto ok = from_wire(m.report(), report); !ok) {
        ++phase_->accumulator.result().rejected_reports;
        return drop(a, "invalid report: " + ok.error().message, true);
      }
      phase_->merger->set_clock(clock_interval(SteadyClock::now()));
      // Rejected (counted by the merger): the agent is dropped and told why.
      auto added = phase_->merger->add(a.session, *report);
      if (!added) return drop(a, "invalid report: " + added.error().message, true);
      a.last_interval = report->interval;
      const SaturationInput in{a.name, a.cores, a.threads,
                               static_cast<double>(opt_.workload.load.interval.count()) / 1000.0,
                               opt_.workload.load.mode};
      for (const auto& text : saturation_warnings(in, *report, &a.warned)) warn(text);
      return;
    }
    case v1::AgentMessage::kPhaseDone: {
      if (!phase_ || !a.in_phase || m.phase_done().run_id() != result_.run_id ||
          m.phase_done().phase() != phase_->index) {
        return;
      }
      a.phase_done = true;
      phase_->merger->agent_finished(a.session);
      if (!m.phase_done().error().empty()) {
        a.lost = true;
        a.lost_reason =
            "agent could not run the phase: " + text::truncate_utf8(m.phase_done().error(), 512);
        spdlog::error("agent {}: {}", a.name, a.lost_reason);
        rebalance_after_loss(a);
      }
      return;
    }
    case v1::AgentMessage::MSG_NOT_SET:
      return drop(a, "empty message", true);
  }
}

void Controller::warn(const std::string& text) {
  spdlog::warn("{}", text);  // on a terminal it clears the live line first (console.h)
  // Plain lines (a pipe, a log file): the warning also stands among them on stdout.
  if (opt_.live && !progress_.in_place()) progress_.message("warning: " + text);
  result_.warnings.push_back(text);
}

}  // namespace horde
