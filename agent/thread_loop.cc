#include "agent/thread_loop.h"

#include <cmath>

namespace horde {

namespace {

using namespace loop;
using std::chrono::nanoseconds;

Ramp scaled(const Ramp& ramp, double share) {
  Ramp r = ramp;
  for (auto& s : r.segments) {
    s.from *= share;
    s.to *= share;
  }
  return r;
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
      collector_(collector),
      streams_per_connection_(std::max<size_t>(streams_per_connection, 1)),
      sweep_timer_(io_),
      interval_timer_(io_),
      end_timer_(io_),
      send_timer_(io_),
      ramp_timer_(io_),
      schedule_(scaled(plan.rate, share.rate_share), plan.arrival, share.schedule_seed),
      due_(due_capacity(plan.rate, share.rate_share)) {
  max_connections_ = std::max<size_t>(share.max_connections, targets_.size());
  ramped_ = plan_.mode == LoadMode::kClosed && !plan_.connections.segments.empty();
  next_boundary_ = plan_.boundary(0);
}

ThreadLoop::~ThreadLoop() = default;

void ThreadLoop::run() {
  asio::post(io_, [this] { begin(); });
  io_.run();
}

void ThreadLoop::request_stop() {
  asio::post(io_, [this] { finish(/*natural_end=*/false); });
}

void ThreadLoop::begin() {
  if (finished_) return;
  const TimePoint now = Clock::now();
  // Connections open before the start so they are ready when it comes; with
  // a connection ramp, only as many as it wants at the start (none at 0).
  if (ramped_) active_ = active_at(plan_.start);
  open_connections(now);
  if (ramped_) arm_ramp();
  arm_sweep();
  arm_interval();
  end_timer_.expires_at(plan_.end);
  end_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) finish(/*natural_end=*/true);
  });
  if (plan_.mode == LoadMode::kOpen) advance_schedule();
  send_timer_.expires_at(plan_.start);
  send_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (plan_.mode == LoadMode::kClosed) {
      const TimePoint now = Clock::now();
      if (ramped_) {
        active_ = active_at(now);
        follow_ramp(now);
      }
      start_closed(now);
    } else {
      send_due();
    }
  });
}

void ThreadLoop::hang_up(Transport& t) {
  ++t.generation;
  boost::system::error_code ignored;
  t.lowest().close(ignored);
  if (t.tls) retired_.push_back(std::move(t.tls));
}

// ---- intervals ----

void ThreadLoop::deliver() {
  collector_.deliver(current_, stats_.to_counters(), stats_.latency);
  stats_.reset();
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
  const auto level = static_cast<uint64_t>(std::floor(plan_.connections.level_at(seconds) + 1e-9));
  if (level <= share_.index) return 0;
  const uint64_t n = (level - share_.index - 1) / plan_.threads + 1;
  return static_cast<uint32_t>(std::min<uint64_t>(n, connection_count()));
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

// ---- open loop ----

void ThreadLoop::send_due() {
  if (finished_ || plan_.mode != LoadMode::kOpen) return;
  const TimePoint now = Clock::now();
  while (next_due_ <= now && next_due_ < plan_.end) {
    if (!dispatch(next_due_, now)) {
      if (!due_.push(next_due_)) ++stats_.late;  // overflow: the oldest is given up
      wait_for_connection(now);
    }
    advance_schedule();
  }
  after_dispatch();
  if (next_due_ >= plan_.end) return;
  send_timer_.expires_at(next_due_);
  send_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) send_due();
  });
}

void ThreadLoop::advance_schedule() {
  const double t = schedule_.next();
  next_due_ = t == Schedule::kNever
                  ? TimePoint::max()
                  : plan_.start + nanoseconds(static_cast<int64_t>(std::llround(t * 1e9)));
}

// A due request found every connection busy: grow the pool when allowed
// (enough new connections for the waiting requests), else count that the limit held it.
void ThreadLoop::wait_for_connection(TimePoint now) {
  const size_t count = connection_count();
  if (count >= max_connections_) {
    ++stats_.max_connections_hit;
    return;
  }
  // Enough connections (or streams on them) already on their way.
  if (growing_ * streams_per_connection_ >= due_.size()) return;
  ++growing_;
  grow(targets_[count % targets_.size()], now);
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
  close_all();
  io_.stop();
}

}  // namespace horde
