// One engine thread, whatever protocol its connections speak: the io_context
// and timers, the interval clock and the recorder, the open-loop schedule with
// its queue of due requests and its pool (connect on demand), the connection
// ramp of closed loop with stages, and the life cycle of every connection
// (connect, connect failed, backoff, park, follow the ramp, sweep for timeouts).
//
// Open loop connects on demand, as browsers and Go's or Java's HTTP pools do: a
// due request takes an idle open connection (the driver keeps them most
// recently used first), else one is opened for it then, up to the thread's
// bound; a connection that closes is not reopened until a request needs it.
// Idle connections the server did not ask for are never held: a server with
// one worker per connection (gunicorn's sync workers) would block on them
// while the request waits on another. It owns everything it
// touches on the request path, so nothing there is shared or locked; it meets
// the other threads only at interval boundaries, through the IntervalCollector.
// A protocol driver (HTTP/1.1 in http1_loop.cc, HTTP/2 and gRPC in h2_loop.cc)
// derives from ThreadLoop and supplies only what differs: its connection type,
// what happens once connected, on a read and at a request's expiry. The hooks
// run per timer tick or per connection event; the request path itself stays
// inside the driver with no virtual call, except the one per due request in
// open loop.
#pragma once

// Before Boost.Asio (kept first by clang-format off): 1.74's awaitable.hpp uses
// std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/backend_table.h"
#include "agent/due_queue.h"
#include "agent/interval_collector.h"
#include "agent/plan.h"
#include "agent/recorder.h"
#include "agent/schedule.h"

namespace horde {

namespace loop {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;

inline constexpr auto kSweepPeriod = 50ms;  // timeouts and reconnect backoff are checked this often
inline constexpr auto kLateAfter = 1ms;
inline constexpr auto kBackoffFirst = 100ms;  // closed loop
inline constexpr auto kBackoffMax = 1000ms;
// Open loop: a connection that failed to connect waits this long (doubling,
// jittered) before a due request may use it again.
inline constexpr auto kOpenBackoffFirst = 10ms;
inline constexpr auto kRampPeriod = 10ms;  // closed loop with stages: connection count updates
// Open loop: due requests handled per turn before the io_context runs again
// (reads, timers, a stop), whatever the rate.
inline constexpr unsigned kSendsPerTurn = 64;
}  // namespace loop

// kOpen: connected (HTTP/2: the server's SETTINGS arrived), taking requests
// as the driver sees fit. kParked: closed loop with stages, above the current
// target count; closed until the ramp needs it again. kClosed: open loop,
// closed until a due request needs it (see ThreadLoop::demand).
enum class ConnState : uint8_t { kBackoff, kConnecting, kOpen, kParked, kClosed };

// One connection: its byte stream and where it is in its life cycle, the part
// every driver shares (HTTP/1.1 and HTTP/2 derive from it with their parser,
// buffers and requests in flight). For TLS targets the SSL stream (and its own
// socket) is made anew for every TCP connection, since an SSL object is
// single-use; `socket` then stays closed. `generation` is bumped whenever the
// stream closes, so completions of the old one are ignored.
struct Connection {
  Connection(boost::asio::io_context& io, const Target* t, uint32_t i)
      : socket(io), target(t), index(i) {}
  virtual ~Connection() = default;  // owned by ThreadLoop as the driver's type
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  boost::asio::ip::tcp::socket socket;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls;
  const Target* target;
  boost::asio::ip::tcp::endpoint endpoint;  // chosen at every connect (AddressChooser)
  uint16_t backend = BackendTable::kOther;  // its slot in the thread's BackendTable
  uint32_t generation = 0;
  uint32_t index;  // in this thread; the ramp parks connections from the top index down
  ConnState state = ConnState::kBackoff;
  bool dialing = false;  // open loop: connecting for a due request, not yet open
  bool dialed = false;   // connected (or tried to) before: the next connect is a reconnect
  bool in_closed_list = false;
  bool read_was_full = false;  // the last read filled the buffer
  // The connection policy's count: requests sent since the last connect, and
  // when that connect began (keep_alive: false measures latency from it).
  uint32_t sent = 0;
  loop::TimePoint born;
  // Connect start, or when to retry after backoff; the HTTP/1.1 driver also
  // keeps a request's send time here while it is in flight.
  loop::TimePoint since;
  loop::Clock::duration backoff{};

  boost::asio::ip::tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
  // Calls f with the stream requests travel on: the SSL stream or the socket.
  template <typename F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }
};

class ThreadLoop {
 public:
  ThreadLoop(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
             IntervalCollector& collector, size_t streams_per_connection);
  virtual ~ThreadLoop();
  ThreadLoop(const ThreadLoop&) = delete;
  ThreadLoop& operator=(const ThreadLoop&) = delete;

  void run();
  // From any thread.
  void request_stop();
  // From any thread: a lost agent's share taken over from `from` on (see
  // Engine::rebalance); both levels are relative to the assignment.
  void rebalance(double rate_factor, uint32_t connections, loop::TimePoint from);

 protected:
  using TimePoint = loop::TimePoint;
  using Clock = loop::Clock;

  // ---- the driver's hooks: what differs between protocols ----
  // Closed loop, at the start: every open connection takes its requests.
  virtual void start_closed(TimePoint now) = 0;
  // Open loop: a free connection (or stream) takes the request due at `intended`; false if none.
  virtual bool dispatch(TimePoint intended, TimePoint now) = 0;
  // After a pass of dispatch() calls: flush what they batched.
  virtual void after_dispatch() {}
  // A new, closed connection of the driver's type (see add_connection).
  virtual std::unique_ptr<Connection> make_connection(const Target* target, uint32_t index) = 0;
  // The transport is up (TCP connected, TLS handshaken): the driver starts its
  // protocol and calls opened() once the connection can take requests.
  virtual void on_connected(Connection& c, TimePoint now) = 0;
  // Every kSweepPeriod, for an open connection: its requests' timeouts.
  virtual void on_expiry(Connection& c, TimePoint now) = 0;
  // An open connection with nothing in flight (the ramp may park it).
  virtual bool is_idle(const Connection& c) const = 0;
  // The connection is about to close: the driver drops its protocol state.
  virtual void on_close(Connection& c) = 0;

  // ---- the connection life cycle, one for every driver ----
  // Adds a connection to `t` (closed; the driver's constructor adds the initial ones).
  Connection* add_connection(const Target* t);
  // Connects (and for TLS handshakes) `c`; on_connected() follows, or connect_failed().
  void connect(Connection* c, TimePoint now);
  // Closed loop: counts a connect error, closes `c` and retries it after a
  // growing backoff. Open loop: the oldest due request (if one waits) fails
  // with a connect error, counted once; `c` may be used again after a backoff.
  void connect_failed(Connection* c, TimePoint now);
  // The driver's connection can take requests: counted as opened.
  void opened(Connection* c);
  void close(Connection* c);
  void reconnect(Connection* c, TimePoint now) {
    close(c);
    connect(c, now);
  }
  // `c` closed (the server's close, an error, a response that ends it): closed
  // loop opens it again at once; open loop only when a due request needs it.
  void lost(Connection* c, TimePoint now);
  // The connection policy (load.connection_max_requests, connection_max_age,
  // keep_alive: false): may `c` take no more requests? The driver asks before
  // it gives an open connection a request (HTTP/2: a stream), and calls
  // retire_if_spent once nothing is in flight on it.
  bool spent(const Connection& c, TimePoint now) const {
    return (plan_.max_requests != 0 && c.sent >= plan_.max_requests) ||
           (plan_.max_age != Clock::duration{} && now - c.born >= plan_.max_age);
  }
  // `c` has nothing in flight: if the policy says it is spent it is closed and
  // opened again as any lost connection is (closed loop at once, open loop when
  // a due request needs it; counted in `reconnects`). True if it was.
  bool retire_if_spent(Connection* c, TimePoint now) {
    // After the end nothing is reopened (finish() closes every connection).
    if (now >= plan_.end || !spent(*c, now)) return false;
    lost(c, now);
    return true;
  }
  // Closed loop with stages: closed until the ramp wants it again.
  void park(Connection* c);
  // Open loop, a name with several addresses: the address the next request
  // goes to (round robin), else null. Without it the idle connection reused
  // (most recently used first) would carry a low rate to one address. Several
  // targets keep that reuse (connections alternate targets as before).
  const loop::tcp::endpoint* next_turn() {
    return plan_.targets.size() == 1 ? addresses_.turn(plan_.targets[0]) : nullptr;
  }
  // Open loop: the pool can open a connection (a closed one, or one below the bound).
  bool can_open() const { return !closed_.empty() || connections_.size() < max_connections_; }
  // The request waits for a connection to `e`: the next connect goes there.
  void wait_for(const loop::tcp::endpoint& e) { addresses_.prefer(plan_.targets[0], e); }
  // Is `c` above the ramp's current count (closed loop with stages)?
  bool above_ramp(const Connection* c) const { return ramped_ && c->index >= active_; }

  // Keeps one read outstanding on `c` (a Connection with a `buffer`), so a
  // server that closes an idle keep-alive connection is noticed and replaced before use;
  // `on_read(c, ec, n)` gets what it read. Plain TCP follows wrk: wait until readable, then one
  // recv(). Asio's async_read_some would first try a speculative recv() that, on a keep-alive
  // connection just answered, fails with EAGAIN: one wasted system call per
  // request. A read that came back short drained the socket, so the next
  // edge-triggered readiness event cannot be missed; a full one reads again first.
  template <typename Conn, typename OnRead>
  void read_next(Conn* c, OnRead on_read) {
    const uint32_t gen = c->generation;
    if (!c->tls && !c->read_was_full) {
      c->socket.async_wait(loop::tcp::socket::wait_read, [this, c, gen, on_read](
                                                             boost::system::error_code ec) mutable {
        if (gen != c->generation) return;
        if (ec) {
          on_read(c, ec, 0);
          return;
        }
        const size_t n = c->socket.receive(loop::asio::buffer(c->buffer), 0, ec);
        if (ec == loop::asio::error::would_block || ec == loop::asio::error::try_again) {
          read_next(c, on_read);  // a spurious wake-up
          return;
        }
        on_read(c, ec, n);
      });
      return;
    }
    c->with_stream([&](auto& stream) {
      stream.async_read_some(loop::asio::buffer(c->buffer),
                             [c, gen, on_read](boost::system::error_code ec, size_t n) mutable {
                               if (gen != c->generation) return;
                               on_read(c, ec, n);
                             });
    });
  }
  static Clock::duration next_backoff(Clock::duration previous) {
    return previous == Clock::duration{}
               ? Clock::duration(loop::kBackoffFirst)
               : std::min<Clock::duration>(previous * 2, loop::kBackoffMax);
  }
  // Open loop: 10 ms doubling to 1 s, each wait drawn from [1/2, 3/2) of it so
  // the threads' and agents' retries do not line up.
  Clock::duration next_open_backoff(Clock::duration previous);

  // ---- recording ----
  // A request leaves on `c` at `now`, due at `intended` (closed loop: now):
  // counted for the connection policy, and in open loop its schedule lag.
  // Returns its latency origin: the intended time, except in closed loop
  // with keep_alive: false, where the connect is part of the request.
  TimePoint note_send(Connection& c, TimePoint intended, TimePoint now) {
    ++c.sent;
    if (plan_.mode != LoadMode::kOpen) return plan_.keep_alive ? intended : c.born;
    const auto lag = now - intended;
    if (lag > loop::kLateAfter) ++stats_.late;
    stats_.max_schedule_lag_us =
        std::max<int64_t>(stats_.max_schedule_lag_us,
                          std::chrono::duration_cast<std::chrono::microseconds>(lag).count());
    return intended;
  }
  // A response with HTTP status `status` from `backend` (a BackendTable slot);
  // false when it came after the run, or when the status is no HTTP status
  // (outside 100..599: counted as a protocol error, never passed on to the
  // controller as a code).
  // `request` is the request it answers: its name is counted, and its
  // expect.status (when given) decides which codes are errors. `body_found`:
  // the body held expect.body_contains (true when there is none); a response
  // that fails on its status is not also judged on its body.
  bool record_response(uint16_t status, TimePoint origin, TimePoint now, uint16_t backend,
                       const RequestTable::Entry& request, bool body_found = true) {
    if (now >= plan_.end) return false;
    if (status < 100 || status > 599) {
      record_error(ErrorClass::kProtocol, now, backend, request.name);
      return false;
    }
    roll_intervals(now);
    ++stats_.requests;
    stats_.status[status]++;
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(now - origin).count();
    stats_.latency.record(us);
    last_backend_ = backend;
    backends_.response(backend, status, us);
    last_name_ = names_.empty() ? nullptr : &names_[request.name];
    if (last_name_ != nullptr) {
      ++last_name_->requests;
      ++last_name_->status[status];
      last_name_->latency.record(us);
    }
    if (request.expect) {
      if (!request.ok_status.test(status)) {
        count_error(ErrorClass::kUnexpectedStatus);
        return true;
      }
    } else if (status >= 400 && status < 500) {
      count_error(ErrorClass::kHttp4xx);
      return true;
    } else if (status >= 500 && status < 600) {
      count_error(ErrorClass::kHttp5xx);
      return true;
    }
    if (!body_found) count_error(ErrorClass::kUnexpectedBody);
    return true;
  }
  // A request to `backend` that ended without a response; `name` is its
  // request's name, or kUnchosen when none was chosen yet (a connect failure,
  // an open-loop request that found no connection): one is then drawn by the
  // requests' weights, so the names still add up to the totals.
  static constexpr uint32_t kUnchosen = UINT32_MAX;
  void record_error(ErrorClass cls, TimePoint now, uint16_t backend, uint32_t name = kUnchosen) {
    // Before the start nothing was asked yet (connections opening early); after
    // the end nothing is counted.
    if (now < plan_.start || now >= plan_.end) return;
    roll_intervals(now);
    ++stats_.requests;
    ++stats_.errors;
    ++stats_.errors_by_class[static_cast<size_t>(cls)];
    backends_.failed(backend);
    if (!names_.empty()) {
      if (name == kUnchosen) name = targets_.front()->requests.pick(rng_).name;
      ThreadRecorder& n = names_[name];
      ++n.requests;
      ++n.errors;
      ++n.errors_by_class[static_cast<size_t>(cls)];
    }
  }
  // Marks the request record_response counted last as an error of `cls`.
  void count_error(ErrorClass cls) {
    ++stats_.errors;
    ++stats_.errors_by_class[static_cast<size_t>(cls)];
    backends_.count_error(last_backend_);
    if (last_name_ != nullptr) {
      ++last_name_->errors;
      ++last_name_->errors_by_class[static_cast<size_t>(cls)];
    }
  }
  // backend.header: the backend named by a response's header value, or the
  // connection's address when the response has none.
  uint16_t backend_named(std::string_view value, uint16_t connection_backend) {
    return value.empty() ? connection_backend : backends_.slot(value);
  }
  // Hands finished intervals to the collector; called before recording so each
  // request lands in the interval it finished in, whatever the timer's delay.
  void roll_intervals(TimePoint now) {
    while (now >= next_boundary_ && current_ + 1 < plan_.intervals) {
      deliver();
      next_boundary_ = plan_.boundary(current_);
    }
  }
  void count_open(int delta) {
    open_now_ = static_cast<uint32_t>(static_cast<int64_t>(open_now_) + delta);
    stats_.connections_peak = std::max<uint64_t>(stats_.connections_peak, open_now_);
  }

  // ---- open loop ----
  // Pushes requests due while none could take them into the queue; the driver
  // takes them with due_.pop() when a connection or stream frees up.
  bool has_due() const { return !due_.empty(); }
  TimePoint pop_due() { return due_.pop(); }
  // ---- closed loop with stages ----
  // This thread's share of the agent's connection count at `t`.
  uint32_t active_at(TimePoint t) const;

  const Plan& plan_;
  const ThreadShare share_;
  boost::asio::io_context io_;
  FastRandom rng_;
  std::vector<const Target*> targets_;
  AddressChooser addresses_;  // which address each new connection goes to
  // Every connection of this thread, in index order, as the driver's type.
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t max_connections_ = 0;
  bool ramped_ = false;
  uint32_t active_ = 0;  // closed loop with stages: connections wanted now
  bool finished_ = false;
  ThreadRecorder stats_;
  BackendTable backends_;      // per-backend counts, beside stats_
  uint16_t last_backend_ = 0;  // of the last record_response (for count_error)
  // Per request name, beside stats_; empty when the workload has one name.
  std::vector<ThreadRecorder> names_;
  ThreadRecorder* last_name_ = nullptr;  // of the last record_response (for count_error)

 private:
  void begin();
  void finish(bool natural_end);
  void deliver();
  void arm_interval();
  void arm_sweep();
  void arm_ramp();
  void send_due();
  void advance_schedule();
  void apply_rebalance(double rate_factor, uint32_t connections, TimePoint from);
  // The life cycle's timer-driven part, over every connection.
  void open_connections(TimePoint now);
  void sweep(TimePoint now);
  void follow_ramp(TimePoint now);
  // Open loop: opens connections for the requests waiting, a closed one first,
  // else a new one while the pool is below its bound; false when the bound
  // held a waiting request back.
  bool demand(TimePoint now);
  Connection* take_closed();
  void set_closed(Connection* c);
  // The thread's k-th connection goes to target (k * threads + index) mod targets.
  const Target* target_for(size_t k) const;
  // Open loop: a request that waited longer than request_timeout for a
  // connection is given up as a timeout.
  void expire_due(TimePoint now);
  void grow(const Target* target, TimePoint now);
  void dial(Connection* c);
  void dialing_done(Connection* c);
  // Closes `c`'s stream; an SSL stream is retired, not destroyed, because its
  // aborted operations still refer to it until their completions have run.
  void hang_up(Connection& c);

  IntervalCollector& collector_;
  const size_t streams_per_connection_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer interval_timer_;
  boost::asio::steady_timer end_timer_;
  boost::asio::steady_timer send_timer_;
  boost::asio::steady_timer ramp_timer_;
  boost::asio::steady_timer rebalance_timer_;
  Ramp rate_;  // open loop: this thread's rate over time, rebalances included
  Schedule schedule_;
  uint64_t produced_ = 0;  // times schedule_ was asked for the next request
  double skipped_to_ = 0;  // a start in the past: seconds of schedule dropped at begin()
  // Closed loop after a rebalance: the agent's connection count (overrides the ramp).
  std::optional<uint32_t> rebalanced_level_;
  // A rebalance that came before begin(): posted again once begin() is done.
  bool begun_ = false;
  std::function<void()> pending_rebalance_;
  DueQueue due_;
  TimePoint next_due_ = TimePoint::max();
  size_t dialing_ = 0;  // open loop: connections connecting for due requests
  bool in_demand_ = false;
  uint32_t open_now_ = 0;
  std::vector<Connection*> closed_;  // open loop: closed ones a request may reopen, last first
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  std::vector<std::unique_ptr<TlsStream>> retired_;      // closed since the last sweep
  std::vector<std::unique_ptr<TlsStream>> retired_old_;  // closed before it
  uint32_t current_ = 0;
  TimePoint next_boundary_;
};

// The driver of the plan's protocol; `targets`: the target of each of this
// thread's initial connections.
std::unique_ptr<ThreadLoop> make_thread_loop(const Plan& plan, std::vector<const Target*> targets,
                                             ThreadShare share, IntervalCollector& collector);
// The drivers: HTTP/1.1 (http1_loop.cc) and HTTP/2 or gRPC (h2_loop.cc).
std::unique_ptr<ThreadLoop> make_http1_loop(const Plan& plan, std::vector<const Target*> targets,
                                            ThreadShare share, IntervalCollector& collector);
std::unique_ptr<ThreadLoop> make_h2_loop(const Plan& plan, std::vector<const Target*> targets,
                                         ThreadShare share, IntervalCollector& collector);

}  // namespace horde
