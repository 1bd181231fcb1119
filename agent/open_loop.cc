// ThreadLoop's open loop (see thread_loop.h): the send loop that takes due
// requests off the schedule, and the pool that connects on demand: a due
// request that no connection can take waits in the due queue while demand()
// reopens a closed connection or opens a new one below the bound; a closed one
// that failed to connect is usable again after its backoff; a request that
// waits for a connection longer than request_timeout is given up as a timeout
// (counted from when it began to wait, not from its intended time: see due_queue.h).
#include <cmath>

#include "agent/thread_loop.h"
#include "agent/token_bucket.h"

namespace horde {

using namespace loop;
using std::chrono::nanoseconds;

void ThreadLoop::send_due() {
  if (finished_ || plan_.mode != LoadMode::kOpen) return;
  const TimePoint now = Clock::now();
  TimePoint wake = next_due_;
  for (unsigned turn = 0; next_due_ <= now && next_due_ < plan_.end; ++turn) {
    // Whatever the schedule says: the io_context runs again after a turn, and
    // the agent's --max-rate holds (the timer waits for the next token).
    if (turn == kSendsPerTurn) break;
    if (plan_.rate_limit != nullptr && !plan_.rate_limit->try_take(now, &wake)) break;
    if (!dispatch(next_due_, now)) {
      if (!due_.push(next_due_, now)) ++stats_.late;  // overflow: the oldest is given up
      // At the bound the request waits for a connection to free up: counted.
      if (!demand(now)) ++stats_.max_connections_hit;
    }
    advance_schedule();
  }
  after_dispatch();
  if (next_due_ >= plan_.end) return;
  send_timer_.expires_at(std::max(next_due_, wake));
  send_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) send_due();
  });
}

void ThreadLoop::advance_schedule() {
  ++produced_;
  const double t = schedule_.next();
  next_due_ = t == Schedule::kNever
                  ? TimePoint::max()
                  : plan_.start + nanoseconds(static_cast<int64_t>(std::llround(t * 1e9)));
}

// ---- the pool ----

void ThreadLoop::set_closed(Connection* c) {
  c->state = ConnState::kClosed;
  if (!c->in_closed_list) {
    c->in_closed_list = true;
    closed_.push_back(c);
  }
}

Connection* ThreadLoop::take_closed() {
  while (!closed_.empty()) {
    Connection* c = closed_.back();
    closed_.pop_back();
    c->in_closed_list = false;
    if (c->state == ConnState::kClosed) return c;  // else reopened meanwhile
  }
  return nullptr;
}

bool ThreadLoop::demand(TimePoint now) {
  // A connect that fails at once (an unresolved target) comes back here from
  // connect_failed(): the loop below goes on with the next request instead.
  if (finished_ || in_demand_) return true;
  in_demand_ = true;
  bool room = true;
  // Enough connections (or streams on them) already on their way.
  while (dialing_ * streams_per_connection_ < due_.size()) {
    Connection* c = take_closed();
    if (c == nullptr) {
      if (connections_.size() >= max_connections_) {
        room = false;
        break;
      }
      c = add_connection(target_for(connections_.size()));
    }
    c->dialing = true;
    ++dialing_;
    connect(c, now);
  }
  in_demand_ = false;
  return room;
}

void ThreadLoop::expire_due(TimePoint now) {
  while (has_due() && now - due_.front_queued() > plan_.request_timeout) {
    due_.pop();
    // No connection took it: no address to charge it to.
    record_error(ErrorClass::kTimeout, now, backends_.slot(kNoConnection));
  }
}

Clock::duration ThreadLoop::next_open_backoff(Clock::duration previous) {
  const Clock::duration base = previous == Clock::duration{}
                                   ? Clock::duration(kOpenBackoffFirst)
                                   : std::min<Clock::duration>(previous * 2, kBackoffMax);
  const double jitter = 0.5 + static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
  return std::chrono::duration_cast<Clock::duration>(base * jitter);
}

}  // namespace horde
