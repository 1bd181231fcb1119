#include "agent/thread_loop.h"

#include <cmath>
#include <limits>

namespace horde {

namespace {

using namespace loop;

Ramp scaled(const Ramp& ramp, double share) {
  Ramp r = ramp;
  for (auto& s : r.segments) {
    s.from *= share;
    s.to *= share;
  }
  return r;
}

// The part of `ramp` between lo and hi seconds, appended to `out`.
void append_clipped(const Ramp& ramp, double lo, double hi, Ramp* out) {
  double begin = 0;
  for (const auto& s : ramp.segments) {
    const double end = begin + s.seconds;
    const double a = std::max(begin, lo);
    const double b = std::min(end, hi);
    if (b > a) {
      auto level = [&](double t) {
        return s.seconds > 0 ? s.from + (s.to - s.from) * (t - begin) / s.seconds : s.to;
      };
      out->segments.push_back({b - a, level(a), level(b)});
    }
    begin = end;
  }
}

// `before` up to t seconds, then `after` from t on: the same integral up to t,
// so a schedule over the result repeats the old one's requests before t.
Ramp splice(const Ramp& before, const Ramp& after, double t) {
  Ramp out;
  append_clipped(before, 0, t, &out);
  append_clipped(after, t, std::numeric_limits<double>::infinity(), &out);
  return out;
}

size_t due_capacity(const Ramp& ramp, double share) {
  double peak = 0;
  for (const auto& s : ramp.segments) peak = std::max({peak, s.from, s.to});
  return static_cast<size_t>(std::clamp(peak * share * 2, 1024.0, 1048576.0));
}

}  // namespace

ThreadLoop::ThreadLoop(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
                       IntervalCollector& collector, size_t streams_per_connection)
    : plan_(plan),
      share_(share),
      // One thread runs this context and owns every socket in it; only posts
      // (request_stop) come from outside, and the scheduler still locks those.
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      rng_(share.seed),
      targets_(std::move(targets)),
      addresses_(plan.targets, share.address_start),
      collector_(collector),
      streams_per_connection_(std::max<size_t>(streams_per_connection, 1)),
      sweep_timer_(io_),
      interval_timer_(io_),
      end_timer_(io_),
      send_timer_(io_),
      ramp_timer_(io_),
      rebalance_timer_(io_),
      rate_(scaled(plan.rate, share.rate_share)),
      schedule_(rate_, plan.arrival, share.schedule_seed),
      due_(due_capacity(plan.rate, share.rate_share)) {
  max_connections_ = std::max<size_t>(share.max_connections, targets_.size());
  connections_.reserve(max_connections_);
  closed_.reserve(max_connections_);
  ramped_ = plan_.mode == LoadMode::kClosed && !plan_.connections.segments.empty();
  next_boundary_ = plan_.boundary(0);
  if (plan_.names > 1) names_.resize(plan_.names);
}

ThreadLoop::~ThreadLoop() = default;

void ThreadLoop::run() {
  asio::post(io_, [this] { begin(); });
  io_.run();
}

void ThreadLoop::request_stop() {
  asio::post(io_, [this] { finish(/*natural_end=*/false); });
}

void ThreadLoop::rebalance(double rate_factor, uint32_t connections, loop::TimePoint from) {
  asio::post(io_, [this, rate_factor, connections, from] {
    if (finished_) return;
    if (!begun_) {  // posted before run(): no schedule and no connections yet
      pending_rebalance_ = [this, rate_factor, connections, from] {
        rebalance(rate_factor, connections, from);
      };
      return;
    }
    if (plan_.mode == LoadMode::kOpen) {
      apply_rebalance(rate_factor, connections, from);  // the schedule itself says from when
      return;
    }
    rebalance_timer_.expires_at(from);
    rebalance_timer_.async_wait(
        [this, rate_factor, connections, from](boost::system::error_code ec) {
          if (!ec && !finished_) apply_rebalance(rate_factor, connections, from);
        });
  });
}

void ThreadLoop::apply_rebalance(double rate_factor, uint32_t connections, TimePoint from) {
  const TimePoint now = Clock::now();
  if (plan_.mode == LoadMode::kOpen) {
    if (rate_factor <= 0) return;
    // Never in the past: what was already due stays as it was sent.
    const double t =
        std::chrono::duration<double>(std::max({from, now, plan_.start}) - plan_.start).count();
    rate_ = splice(rate_, scaled(plan_.rate, share_.rate_share * rate_factor), t);
    // Same seed, same integral up to t: replaying the requests already taken
    // keeps intended times continuous; the pending one is drawn again.
    Schedule next(rate_, plan_.arrival, share_.schedule_seed);
    if (skipped_to_ > 0) next.skip_to(skipped_to_);
    for (uint64_t i = 1; i < produced_; ++i) next.next();
    schedule_ = std::move(next);
    if (produced_ > 0) --produced_;
    advance_schedule();
    if (next_due_ >= plan_.end) return;
    send_timer_.expires_at(std::max(next_due_, plan_.start));
    send_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) send_due();
    });
    return;
  }
  if (connections == 0 || !plan_.connections.segments.empty()) return;
  // This thread's part of the agent's connections: k * threads + index < connections.
  const uint32_t want =
      connections <= share_.index ? 0 : (connections - share_.index - 1) / plan_.threads + 1;
  rebalanced_level_ = connections;
  ramped_ = true;  // from now on connections at or above active_ are parked
  while (connections_.size() < want) grow(target_for(connections_.size()), now);
  active_ = want;
  if (now >= plan_.start) follow_ramp(now);
}

void ThreadLoop::begin() {
  if (finished_) return;
  begun_ = true;
  if (pending_rebalance_) std::exchange(pending_rebalance_, nullptr)();  // runs after this
  const TimePoint now = Clock::now();
  // Connections open before the start so they are ready when it comes; with
  // a connection ramp, only as many as it wants at the start (none at 0).
  if (ramped_) active_ = active_at(plan_.start);
  // keep_alive: false: a request's connect is part of it, so none is opened
  // in advance (closed loop opens them at the start, open loop on demand).
  if (plan_.keep_alive) {
    open_connections(now);
  } else {
    for (auto& c : connections_) {
      if (plan_.mode == LoadMode::kOpen) {
        set_closed(c.get());
      } else {
        c->state = ConnState::kParked;  // the sweep leaves it until the start
      }
    }
  }
  if (ramped_) arm_ramp();
  arm_sweep();
  arm_interval();
  end_timer_.expires_at(plan_.end);
  end_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) finish(/*natural_end=*/true);
  });
  if (plan_.mode == LoadMode::kOpen) {
    // An assignment whose start had passed: the schedule starts when it came
    // and what was already due is dropped and counted, never sent at once.
    if (plan_.skip_before > plan_.start) {
      skipped_to_ = std::chrono::duration<double>(plan_.skip_before - plan_.start).count();
      stats_.skipped += schedule_.skip_to(skipped_to_);
    }
    advance_schedule();
  }
  send_timer_.expires_at(plan_.start);
  send_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (plan_.mode == LoadMode::kClosed) {
      const TimePoint now = Clock::now();
      if (ramped_) {
        active_ = active_at(now);
        follow_ramp(now);
      }
      if (!plan_.keep_alive) {
        for (auto& c : connections_) {
          if (c->state == ConnState::kParked && !above_ramp(c.get())) connect(c.get(), now);
        }
      }
      start_closed(now);
    } else {
      send_due();
    }
  });
}

// ---- the connection life cycle ----

Connection* ThreadLoop::add_connection(const Target* t) {
  connections_.push_back(make_connection(t, static_cast<uint32_t>(connections_.size())));
  return connections_.back().get();
}

void ThreadLoop::open_connections(TimePoint now) {
  for (auto& c : connections_) {
    if (above_ramp(c.get())) {
      c->state = ConnState::kParked;
    } else {
      connect(c.get(), now);
    }
  }
}

const Target* ThreadLoop::target_for(size_t k) const {
  return &plan_.targets[(k * plan_.threads + share_.index) % plan_.targets.size()];
}

void ThreadLoop::grow(const Target* target, TimePoint now) { connect(add_connection(target), now); }

void ThreadLoop::dialing_done(Connection* c) {
  if (!c->dialing) return;
  c->dialing = false;
  --dialing_;
}

void ThreadLoop::connect(Connection* c, TimePoint now) {
  if (now >= plan_.end) {
    // The phase is over and its end timer about to close everything: a
    // connection opened now would only carry requests nobody counts. It waits
    // (unconnected, not counted as a reconnect) until the loop finishes.
    c->state = ConnState::kBackoff;
    c->since = now + std::chrono::hours(24);
    return;
  }
  if (c->dialed) ++stats_.reconnects;
  c->dialed = true;
  if (!addresses_.next(*c->target, &c->endpoint)) {
    c->backend = backends_.slot(c->target->name);  // the name that resolves to nothing
    connect_failed(c, now);
    return;
  }
  c->backend = backends_.slot(c->endpoint);
  c->state = ConnState::kConnecting;
  c->since = now;
  c->born = now;
  c->sent = 0;
  dial(c);
}

void ThreadLoop::lost(Connection* c, TimePoint now) {
  if (plan_.mode == LoadMode::kClosed) {
    reconnect(c, now);
    return;
  }
  close(c);
  set_closed(c);
  if (has_due()) demand(now);
}

void ThreadLoop::dial(Connection* c) {
  if (c->target->tls) {
    // A fresh SSL object per TCP connection (allocated per connect, not per request).
    c->tls = std::make_unique<ssl::stream<tcp::socket>>(io_, *c->target->tls);
    if (!c->target->sni.empty()) {
      SSL_set_tlsext_host_name(c->tls->native_handle(), c->target->sni.c_str());
    }
  }
  const uint32_t gen = c->generation;
  auto done = [this, c, gen](boost::system::error_code ec) {
    if (gen != c->generation) return;  // closed meanwhile
    const TimePoint now = Clock::now();
    if (ec) {
      connect_failed(c, now);  // a failed handshake is a connect error too
      return;
    }
    boost::system::error_code ignored;
    c->lowest().non_blocking(true, ignored);
    on_connected(*c, now);
  };
  c->lowest().async_connect(c->endpoint, [c, gen, done](boost::system::error_code ec) mutable {
    if (gen != c->generation) return;
    boost::system::error_code ignored;
    if (!ec) c->lowest().set_option(tcp::no_delay(true), ignored);
    if (ec || !c->tls) {
      done(ec);
      return;
    }
    c->tls->async_handshake(ssl::stream_base::client, done);
  });
}

void ThreadLoop::connect_failed(Connection* c, TimePoint now) {
  if (plan_.mode == LoadMode::kClosed) {
    record_error(ErrorClass::kConnect, now, c->backend);
  } else if (c->dialing && has_due()) {
    // The request it was opened for fails, once; a connection opened in
    // advance had none (nothing was asked yet).
    due_.pop();
    record_error(ErrorClass::kConnect, now, c->backend);
  }
  close(c);
  // Back off so a dead target costs a few attempts per second, not a spinning CPU.
  c->backoff =
      plan_.mode == LoadMode::kClosed ? next_backoff(c->backoff) : next_open_backoff(c->backoff);
  c->state = ConnState::kBackoff;
  c->since = now + c->backoff;
  // Other waiting requests may take another connection meanwhile.
  if (plan_.mode == LoadMode::kOpen && has_due()) demand(now);
}

void ThreadLoop::opened(Connection* c) {
  c->state = ConnState::kOpen;
  c->backoff = {};
  ++stats_.connections_opened;
  count_open(+1);
  dialing_done(c);
}

void ThreadLoop::close(Connection* c) {
  if (c->state == ConnState::kOpen) count_open(-1);
  on_close(*c);
  c->read_was_full = false;
  dialing_done(c);
  hang_up(*c);
}

void ThreadLoop::park(Connection* c) {
  close(c);
  c->state = ConnState::kParked;
  c->backoff = {};
}

void ThreadLoop::hang_up(Connection& c) {
  ++c.generation;
  boost::system::error_code ignored;
  c.lowest().close(ignored);
  if (c.tls) retired_.push_back(std::move(c.tls));
}

// One pass over this thread's connections instead of a timer per request.
void ThreadLoop::sweep(TimePoint now) {
  for (auto& owned : connections_) {
    Connection* c = owned.get();
    switch (c->state) {
      case ConnState::kOpen:
        on_expiry(*c, now);
        // connection_max_age: an idle connection ages too (a busy one is
        // retired by its driver when its requests are answered).
        if (plan_.max_age != Clock::duration{} && c->state == ConnState::kOpen && is_idle(*c)) {
          retire_if_spent(c, now);
        }
        break;
      case ConnState::kConnecting:
        if (now - c->since > plan_.connect_timeout) connect_failed(c, now);
        break;
      case ConnState::kBackoff:
        if (now < c->since) break;
        if (plan_.mode == LoadMode::kClosed) {
          connect(c, now);
        } else {
          set_closed(c);  // usable again, when a request needs it
        }
        break;
      case ConnState::kParked:
      case ConnState::kClosed:
        break;
    }
  }
  if (plan_.mode == LoadMode::kOpen) {
    expire_due(now);
    if (has_due()) demand(now);
  }
}

// Opens connections up to the target count; those above it are closed as
// soon as nothing is in flight on them (a busy one finishes first: the driver
// parks it when its requests are done).
void ThreadLoop::follow_ramp(TimePoint now) {
  for (auto& owned : connections_) {
    Connection* c = owned.get();
    if (c->index < active_) {
      if (c->state == ConnState::kParked) connect(c, now);
    } else if (c->state == ConnState::kConnecting || c->state == ConnState::kBackoff ||
               (c->state == ConnState::kOpen && is_idle(*c))) {
      park(c);
    }
  }
}

// ---- intervals ----

void ThreadLoop::deliver() {
  ByName names;
  for (size_t i = 0; i < names_.size(); ++i) {
    ThreadRecorder& n = names_[i];
    if (n.requests == 0) continue;
    names.emplace(static_cast<uint32_t>(i), NameStats{n.to_counters(), n.latency});
    n.reset();
  }
  collector_.deliver(current_, stats_.to_counters(), stats_.latency, backends_.take(), names);
  stats_.reset();
  stats_.connections_peak = open_now_;  // still open as the next interval starts
  ++current_;
}

void ThreadLoop::arm_interval() {
  if (current_ + 1 >= plan_.intervals) return;  // the last interval ends with the run
  interval_timer_.expires_at(next_boundary_);
  interval_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || finished_) return;
    roll_intervals(Clock::now());
    arm_interval();
  });
}

void ThreadLoop::arm_sweep() {
  sweep_timer_.expires_after(kSweepPeriod);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || finished_) return;
    // Completions of a closed stream's operations are queued when it closes, so
    // one sweep period later none is left.
    retired_old_.clear();
    retired_old_.swap(retired_);
    sweep(Clock::now());
    arm_sweep();
  });
}

// ---- closed loop with stages ----

// Agent connection k * threads + index is active when it is below the ramp's level.
uint32_t ThreadLoop::active_at(TimePoint t) const {
  const double seconds = std::chrono::duration<double>(t - plan_.start).count();
  const auto level =
      rebalanced_level_
          ? uint64_t{*rebalanced_level_}
          : static_cast<uint64_t>(std::floor(plan_.connections.level_at(seconds) + 1e-9));
  if (level <= share_.index) return 0;
  const uint64_t n = (level - share_.index - 1) / plan_.threads + 1;
  return static_cast<uint32_t>(std::min<uint64_t>(n, connections_.size()));
}

void ThreadLoop::arm_ramp() {
  ramp_timer_.expires_after(kRampPeriod);
  ramp_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || finished_) return;
    const TimePoint now = Clock::now();
    if (now >= plan_.start) {
      active_ = active_at(now);
      follow_ramp(now);
    }
    arm_ramp();
  });
}

void ThreadLoop::finish(bool natural_end) {
  if (finished_) return;
  finished_ = true;
  const TimePoint now = Clock::now();
  if (plan_.intervals > 0) {
    roll_intervals(now);
    // At the natural end every remaining index is delivered; on stop only the current one.
    const uint32_t last = natural_end ? plan_.intervals - 1 : current_;
    while (current_ <= last) {
      const bool more = current_ < last;
      deliver();
      if (!more) break;
    }
  }
  collector_.thread_done();
  boost::system::error_code ignored;
  sweep_timer_.cancel(ignored);
  interval_timer_.cancel(ignored);
  end_timer_.cancel(ignored);
  send_timer_.cancel(ignored);
  ramp_timer_.cancel(ignored);
  rebalance_timer_.cancel(ignored);
  for (auto& c : connections_) close(c.get());
  io_.stop();
}

std::unique_ptr<ThreadLoop> make_thread_loop(const Plan& plan, std::vector<const Target*> targets,
                                             ThreadShare share, IntervalCollector& collector) {
  return plan.protocol == Protocol::kHttp1
             ? make_http1_loop(plan, std::move(targets), share, collector)
             : make_h2_loop(plan, std::move(targets), share, collector);
}

}  // namespace horde
