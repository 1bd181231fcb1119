#include "agent/outbox.h"

#include <chrono>
#include <utility>

#include "common/wire.h"
#include "horde/v1/session.pb.h"

namespace horde {

namespace {

struct Encode {
  v1::AgentMessage* m;
  void operator()(const ReportOut& r) const { to_wire(r.report, r.run_id, m->mutable_report()); }
  void operator()(const PhaseEnd& e) const {
    auto* d = m->mutable_phase_done();
    d->set_run_id(e.run_id);
    d->set_phase(e.phase);
    if (!e.error.empty()) {
      d->set_error(e.error);
      return;
    }
    d->set_intervals(e.intervals);
    to_wire(e.totals, d->mutable_totals());
  }
  void operator()(const PongOut& p) const {
    m->mutable_pong()->set_seq(p.seq);
    m->mutable_pong()->set_agent_unix_ns(p.agent_unix_ns);
  }
};

}  // namespace

Outbox::Outbox(ReportSender send) : send_(std::move(send)), writer_([this] { run(); }) {}

Outbox::~Outbox() { close(); }

void Outbox::push(Message m) { queue_.push(std::move(m)); }

void Outbox::close() {
  if (closed_) return;
  closed_ = true;
  queue_.push(std::nullopt);
  writer_.join();
}

void Outbox::run() {
  bool broken = false;
  v1::AgentMessage m;
  for (;;) {
    auto item = queue_.pop_until(std::chrono::steady_clock::now() + std::chrono::hours(1));
    if (!item) continue;
    if (!*item) return;  // closed
    if (broken) continue;
    m.Clear();
    std::visit(Encode{&m}, **item);
    broken = !send_(m);
  }
}

}  // namespace horde
