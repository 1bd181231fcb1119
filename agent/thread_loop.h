// What every engine thread does whatever protocol its connections speak: the
// io_context and timers, the interval clock and the recorder, the open-loop
// schedule with its queue of due requests and pool growth, the connection ramp
// of closed loop with stages, and opening a TCP (and TLS) transport. A protocol
// driver (HTTP/1.1 in engine_thread.cc, HTTP/2 and gRPC in h2_loop.cc) derives
// from ThreadLoop and supplies only its connections: the hooks below run per
// timer tick or per connection event; the request path itself stays inside the
// driver with no virtual call, except the one per due request in open loop.
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
#include <vector>

#include "agent/due_queue.h"
#include "agent/engine_thread.h"
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
inline constexpr auto kBackoffFirst = 100ms;
inline constexpr auto kBackoffMax = 1000ms;
inline constexpr auto kRampPeriod = 10ms;  // closed loop with stages: connection count updates
}  // namespace loop

// The byte stream of one connection. For TLS targets the SSL stream (and its
// own socket) is made anew for every TCP connection, since an SSL object is
// single-use; `socket` then stays closed. `generation` is bumped whenever the
// stream closes, so completions of the old one are ignored.
struct Transport {
  Transport(boost::asio::io_context& io, const Target* t) : socket(io), target(t) {}
  boost::asio::ip::tcp::socket socket;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls;
  const Target* target;
  uint32_t generation = 0;

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

  // ---- the driver's hooks ----
  // Before the start: opens the initial connections (with a ramp, those below active_).
  virtual void open_connections(TimePoint now) = 0;
  // Closed loop, at the start: every ready connection takes its requests.
  virtual void start_closed(TimePoint now) = 0;
  // Open loop: a free connection (or stream) takes the request due at `intended`; false if none.
  virtual bool dispatch(TimePoint intended, TimePoint now) = 0;
  // After a pass of dispatch() calls: flush what they batched.
  virtual void after_dispatch() {}
  // Open loop: connections in the pool, and a new one opened for waiting requests.
  virtual size_t connection_count() const = 0;
  virtual void grow(const Target* target, TimePoint now) = 0;
  // Every kSweepPeriod: timeouts, connect timeouts, backoff.
  virtual void sweep(TimePoint now) = 0;
  // Closed loop with stages, every kRampPeriod after active_ was updated.
  virtual void follow_ramp(TimePoint now) = 0;
  // The run ended: close every connection.
  virtual void close_all() = 0;

  // ---- transports ----
  // Connects (and for TLS handshakes) `t`; `done(ec)` runs unless t closed meanwhile.
  template <typename Done>
  void dial(Transport& t, Done done) {
    namespace asio = loop::asio;
    namespace ssl = loop::ssl;
    if (t.target->tls) {
      // A fresh SSL object per TCP connection (allocated per connect, not per request).
      t.tls = std::make_unique<ssl::stream<loop::tcp::socket>>(io_, *t.target->tls);
      if (!t.target->sni.empty()) {
        SSL_set_tlsext_host_name(t.tls->native_handle(), t.target->sni.c_str());
      }
    }
    const uint32_t gen = t.generation;
    t.lowest().async_connect(
        t.target->endpoint, [&t, gen, done](boost::system::error_code ec) mutable {
          if (gen != t.generation) return;
          boost::system::error_code ignored;
          if (!ec) t.lowest().set_option(loop::tcp::no_delay(true), ignored);
          if (ec || !t.tls) {
            done(ec);
            return;
          }
          t.tls->async_handshake(ssl::stream_base::client,
                                 [&t, gen, done](boost::system::error_code ec) mutable {
                                   if (gen != t.generation) return;
                                   done(ec);  // a failed handshake is a connect error
                                 });
        });
  }
  // Keeps one read outstanding on `c` (a Transport with `buffer` and
  // `read_was_full`), so a server that closes an idle keep-alive connection is
  // noticed and replaced before use; `on_read(c, ec, n)` gets what it read.
  // Plain TCP follows wrk: wait until readable, then one recv(). Asio's
  // async_read_some would first try a speculative recv() that, on a keep-alive
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
  // Closes `t`; an SSL stream is retired, not destroyed, because its aborted
  // operations still refer to it until their completions have run.
  void hang_up(Transport& t);
  static Clock::duration next_backoff(Clock::duration previous) {
    return previous == Clock::duration{}
               ? Clock::duration(loop::kBackoffFirst)
               : std::min<Clock::duration>(previous * 2, loop::kBackoffMax);
  }

  // ---- recording ----
  // Open loop: the schedule lag of a request sent at `now` for `intended`.
  void note_send(TimePoint intended, TimePoint now) {
    if (plan_.mode != LoadMode::kOpen) return;
    const auto lag = now - intended;
    if (lag > loop::kLateAfter) ++stats_.late;
    stats_.max_schedule_lag_us =
        std::max<int64_t>(stats_.max_schedule_lag_us,
                          std::chrono::duration_cast<std::chrono::microseconds>(lag).count());
  }
  // A response with HTTP status `status`; false when it came after the run (not counted).
  bool record_response(uint16_t status, TimePoint origin, TimePoint now) {
    if (now >= plan_.end) return false;
    roll_intervals(now);
    ++stats_.requests;
    stats_.status[status < kStatusSlots ? status : 0]++;
    stats_.latency.record(
        std::chrono::duration_cast<std::chrono::microseconds>(now - origin).count());
    if (status >= 400 && status < 500) {
      count_error(ErrorClass::kHttp4xx);
    } else if (status >= 500 && status < 600) {
      count_error(ErrorClass::kHttp5xx);
    }
    return true;
  }
  // A request that ended without a response.
  void record_error(ErrorClass cls, TimePoint now) {
    // Before the start nothing was asked yet (connections opening early); after
    // the end nothing is counted.
    if (now < plan_.start || now >= plan_.end) return;
    roll_intervals(now);
    ++stats_.requests;
    count_error(cls);
  }
  // Marks a request already counted by record_response as an error of `cls`.
  void count_error(ErrorClass cls) {
    ++stats_.errors;
    ++stats_.errors_by_class[static_cast<size_t>(cls)];
  }
  // Hands finished intervals to the collector; called before recording so each
  // request lands in the interval it finished in, whatever the timer's delay.
  void roll_intervals(TimePoint now) {
    while (now >= next_boundary_ && current_ + 1 < plan_.intervals) {
      deliver();
      next_boundary_ = plan_.boundary(current_);
    }
  }

  // ---- open loop ----
  // Pushes requests due while none could take them into the queue; the driver
  // takes them with due_.pop() when a connection or stream frees up.
  bool has_due() const { return !due_.empty(); }
  TimePoint pop_due() { return due_.pop(); }
  // A grown connection connected or failed.
  void grown_done() { --growing_; }

  // ---- closed loop with stages ----
  // This thread's share of the agent's connection count at `t`.
  uint32_t active_at(TimePoint t) const;

  const Plan& plan_;
  const ThreadShare share_;
  boost::asio::io_context io_;
  FastRandom rng_;
  std::vector<const Target*> targets_;
  size_t max_connections_ = 0;
  bool ramped_ = false;
  uint32_t active_ = 0;  // closed loop with stages: connections wanted now
  bool finished_ = false;
  ThreadRecorder stats_;

 private:
  void begin();
  void finish(bool natural_end);
  void deliver();
  void arm_interval();
  void arm_sweep();
  void arm_ramp();
  void send_due();
  void advance_schedule();
  void wait_for_connection(TimePoint now);
  void apply_rebalance(double rate_factor, uint32_t connections, TimePoint from);

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
  // Closed loop after a rebalance: the agent's connection count (overrides the ramp).
  std::optional<uint32_t> rebalanced_level_;
  // A rebalance that came before begin(): posted again once begin() is done.
  bool begun_ = false;
  std::function<void()> pending_rebalance_;
  DueQueue due_;
  TimePoint next_due_ = TimePoint::max();
  size_t growing_ = 0;  // grown connections still connecting
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  std::vector<std::unique_ptr<TlsStream>> retired_;      // closed since the last sweep
  std::vector<std::unique_ptr<TlsStream>> retired_old_;  // closed before it
  uint32_t current_ = 0;
  TimePoint next_boundary_;
};

// The drivers: HTTP/1.1 (engine_thread.cc) and HTTP/2 or gRPC (h2_loop.cc).
std::unique_ptr<ThreadLoop> make_http1_loop(const Plan& plan, std::vector<const Target*> targets,
                                            ThreadShare share, IntervalCollector& collector);
std::unique_ptr<ThreadLoop> make_h2_loop(const Plan& plan, std::vector<const Target*> targets,
                                         ThreadShare share, IntervalCollector& collector);

}  // namespace horde
