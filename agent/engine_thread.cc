#include "agent/engine_thread.h"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "agent/due_queue.h"
#include "agent/recorder.h"
#include "agent/response_parser.h"

namespace horde {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::nanoseconds;
using namespace std::chrono_literals;

constexpr size_t kReceiveBufferSize = 16 * 1024;
constexpr auto kSweepPeriod = 50ms;  // timeouts and reconnect backoff are checked this often
constexpr auto kLateAfter = 1ms;
constexpr auto kBackoffFirst = 100ms;
constexpr auto kBackoffMax = 1000ms;
constexpr auto kRampPeriod = 10ms;  // closed loop with stages: connection count updates

// kParked: closed loop with stages, above the current target count; closed
// until the ramp needs it again.
enum class ConnState : uint8_t { kBackoff, kConnecting, kIdle, kBusy, kParked };

// One keep-alive connection with its parser and a fixed receive buffer, both
// allocated once when the thread starts (wrk's `connection`). For https the
// SSL stream (and its own socket) is made anew for every TCP connection, since
// an SSL object is single-use; `socket` then stays closed. A closed SSL stream
// is retired, not destroyed, because its aborted operations still refer to it
// until their completions have run.
struct Connection {
  Connection(asio::io_context& io, const Target* t, uint32_t i) : socket(io), target(t), index(i) {}
  tcp::socket socket;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  const Target* target;
  uint32_t index;  // in this thread; the ramp parks connections from the top index down
  ResponseParser parser;
  ConnState state = ConnState::kBackoff;
  bool in_idle_list = false;
  bool writing = false;                 // the rest of a request is being written asynchronously
  bool answered_while_writing = false;  // https: the response beat the write's completion
  bool grown = false;                   // opened for a due request, not yet connected
  bool read_was_full = false;           // the last read filled the buffer
  // Bumped whenever the socket closes, so completions of the old socket are ignored.
  uint32_t generation = 0;
  TimePoint since;   // connect start, request send time, or when to retry after backoff
  TimePoint origin;  // latency origin: send time (closed loop) or intended time (open loop)
  Clock::duration backoff{};
  std::array<char, kReceiveBufferSize> buffer;

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
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

bool is_eof(const boost::system::error_code& ec) {
  // A TLS peer that closes without close_notify reports stream_truncated; for a
  // close-delimited body that is the same as EOF.
  return ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

}  // namespace

// The event loop of one thread. Path of a request: send() writes the
// pre-serialized bytes, on_read() feeds the parser, record_response() counts it
// and ready() hands the connection its next request.
class EngineThread::Loop {
 public:
  Loop(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
       IntervalCollector& collector)
      : plan_(plan),
        share_(share),
        // One thread runs this context and owns every socket in it; only posts
        // (request_stop) come from outside, and the scheduler still locks those.
        io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
        collector_(collector),
        rng_(share.seed),
        sweep_timer_(io_),
        interval_timer_(io_),
        end_timer_(io_),
        send_timer_(io_),
        ramp_timer_(io_),
        targets_(std::move(targets)),
        schedule_(scaled(plan.rate, share.rate_share), plan.arrival, share.schedule_seed),
        due_(due_capacity(plan.rate, share.rate_share)) {
    max_connections_ = std::max<size_t>(share.max_connections, targets_.size());
    connections_.reserve(max_connections_);
    for (const Target* t : targets_) add_connection(t);
    idle_.reserve(max_connections_);
    ramped_ = plan_.mode == LoadMode::kClosed && !plan_.connections.segments.empty();
    next_boundary_ = plan_.boundary(0);
  }

  void run() {
    asio::post(io_, [this] { begin(); });
    io_.run();
  }
  // From any thread.
  void request_stop() {
    asio::post(io_, [this] { finish(/*natural_end=*/false); });
  }

 private:
  static Ramp scaled(const Ramp& ramp, double share) {
    Ramp r = ramp;
    for (auto& s : r.segments) {
      s.from *= share;
      s.to *= share;
    }
    return r;
  }
  static size_t due_capacity(const Ramp& ramp, double share) {
    double peak = 0;
    for (const auto& s : ramp.segments) peak = std::max({peak, s.from, s.to});
    return static_cast<size_t>(std::clamp(peak * share * 2, 1024.0, 1048576.0));
  }

  Connection* add_connection(const Target* t) {
    const auto index = static_cast<uint32_t>(connections_.size());
    connections_.push_back(std::make_unique<Connection>(io_, t, index));
    return connections_.back().get();
  }

  void begin() {
    if (finished_) return;
    const TimePoint now = Clock::now();
    // Connections open before the start so they are ready when it comes; with
    // a connection ramp, only as many as it wants at the start (none at 0).
    if (ramped_) {
      active_ = active_at(plan_.start);
      for (auto& c : connections_) c->state = ConnState::kParked;
    }
    for (auto& c : connections_) {
      if (!ramped_ || c->index < active_) connect(c.get(), now);
    }
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
        if (ramped_) follow_ramp(now);
        while (Connection* c = pop_idle()) send(c, now, now);
      } else {
        send_due();
      }
    });
  }

  // ---- connection life cycle ----

  void connect(Connection* c, TimePoint now) {
    if (!c->target->resolved) {
      connect_failed(c, now);
      return;
    }
    c->state = ConnState::kConnecting;
    c->since = now;
    if (c->target->tls) {
      // A fresh SSL object per TCP connection (allocated per connect, not per request).
      c->tls = std::make_unique<ssl::stream<tcp::socket>>(io_, *c->target->tls);
      if (!c->target->sni.empty()) {
        SSL_set_tlsext_host_name(c->tls->native_handle(), c->target->sni.c_str());
      }
    }
    const uint32_t gen = c->generation;
    c->lowest().async_connect(c->target->endpoint, [this, c, gen](boost::system::error_code ec) {
      if (gen != c->generation) return;
      if (ec || !c->tls) {
        on_connect(c, ec);
        return;
      }
      boost::system::error_code ignored;
      c->lowest().set_option(tcp::no_delay(true), ignored);
      c->tls->async_handshake(ssl::stream_base::client,
                              [this, c, gen](boost::system::error_code ec) {
                                if (gen != c->generation) return;
                                on_connect(c, ec);  // a failed handshake is a connect error
                              });
    });
  }

  void on_connect(Connection* c, boost::system::error_code ec) {
    const TimePoint now = Clock::now();
    if (c->grown) {
      c->grown = false;
      --growing_;
    }
    if (ec) {
      connect_failed(c, now);
      return;
    }
    boost::system::error_code ignored;
    c->lowest().set_option(tcp::no_delay(true), ignored);
    c->lowest().non_blocking(true, ignored);
    c->parser.reset();
    c->backoff = {};
    ++stats_.connections_opened;
    start_read(c);
    ready(c, now);
  }

  void connect_failed(Connection* c, TimePoint now) {
    record_error(ErrorClass::kConnect, now);
    close(c);
    // Back off so a dead target costs a few attempts per second, not a spinning CPU.
    c->backoff = c->backoff == Clock::duration{}
                     ? Clock::duration(kBackoffFirst)
                     : std::min<Clock::duration>(c->backoff * 2, kBackoffMax);
    c->state = ConnState::kBackoff;
    c->since = now + c->backoff;
  }

  void close(Connection* c) {
    ++c->generation;
    c->writing = false;
    c->answered_while_writing = false;
    c->read_was_full = false;
    if (c->grown) {
      c->grown = false;
      --growing_;
    }
    boost::system::error_code ignored;
    c->lowest().close(ignored);
    if (c->tls) retired_.push_back(std::move(c->tls));
  }

  void reconnect(Connection* c, TimePoint now) {
    close(c);
    connect(c, now);
  }

  // The connection can take a request: the next one now (closed loop), a due
  // one from the queue (open loop), or it waits in the idle list.
  void ready(Connection* c, TimePoint now) {
    c->state = ConnState::kIdle;
    if (finished_ || now >= plan_.end) return;
    if (ramped_ && c->index >= active_) {
      park(c);
      return;
    }
    if (now >= plan_.start) {
      if (plan_.mode == LoadMode::kClosed) {
        send(c, now, now);
        return;
      }
      if (!due_.empty()) {
        send(c, due_.pop(), now);
        return;
      }
    }
    if (!c->in_idle_list) {
      c->in_idle_list = true;
      idle_.push_back(c);
    }
  }

  Connection* pop_idle() {
    while (!idle_.empty()) {
      Connection* c = idle_.back();
      idle_.pop_back();
      c->in_idle_list = false;
      if (c->state == ConnState::kIdle) return c;  // else it closed while idle
    }
    return nullptr;
  }

  // ---- the request path ----

  void send(Connection* c, TimePoint intended, TimePoint now) {
    const RequestTable::Entry& request = c->target->requests.pick(rng_);
    c->parser.expect_head(request.head);
    c->state = ConnState::kBusy;
    c->since = now;
    c->origin = intended;
    if (plan_.mode == LoadMode::kOpen) {
      const auto lag = now - intended;
      if (lag > kLateAfter) ++stats_.late;
      stats_.max_schedule_lag_us =
          std::max<int64_t>(stats_.max_schedule_lag_us, duration_cast<microseconds>(lag).count());
    }
    if (c->tls) {
      // SSL records are written by the stream's own state machine: always async.
      write_rest(c, request, 0);
      return;
    }
    // Requests are small: one non-blocking write nearly always takes all of it,
    // which saves a completion handler per request.
    boost::system::error_code ec;
    size_t n = c->socket.write_some(asio::buffer(request.bytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) {
      record_error(ErrorClass::kWrite, now);
      reconnect(c, now);
      return;
    }
    stats_.bytes_sent += n;
    if (n < request.bytes.size()) write_rest(c, request, n);
  }

  void write_rest(Connection* c, const RequestTable::Entry& request, size_t from) {
    c->writing = true;
    const uint32_t gen = c->generation;
    c->with_stream([&](auto& stream) {
      asio::async_write(stream,
                        asio::buffer(request.bytes.data() + from, request.bytes.size() - from),
                        [this, c, gen](boost::system::error_code ec, size_t written) {
                          if (gen != c->generation) return;
                          c->writing = false;
                          stats_.bytes_sent += written;
                          const TimePoint now = Clock::now();
                          if (ec) {
                            record_error(ErrorClass::kWrite, now);
                            reconnect(c, now);
                          } else if (c->answered_while_writing) {
                            c->answered_while_writing = false;
                            start_read(c);
                            ready(c, now);
                          }
                        });
    });
  }

  // One read is outstanding whenever the connection is open, so a server that
  // closes an idle keep-alive connection is noticed and replaced before use.
  void start_read(Connection* c) {
    const uint32_t gen = c->generation;
    if (!c->tls && !c->read_was_full) {
      // wrk's pattern: wait until readable, then one recv(). Asio's
      // async_read_some would first try a speculative recv() that, on a
      // keep-alive connection just answered, fails with EAGAIN: one wasted
      // system call per request. A read that came back short drained the
      // socket, so the next edge-triggered readiness event cannot be missed.
      c->socket.async_wait(tcp::socket::wait_read, [this, c, gen](boost::system::error_code ec) {
        if (gen != c->generation) return;
        if (ec) {
          on_read(c, ec, 0);
          return;
        }
        const size_t n = c->socket.receive(asio::buffer(c->buffer), 0, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          start_read(c);  // a spurious wake-up
          return;
        }
        on_read(c, ec, n);
      });
      return;
    }
    c->with_stream([&](auto& stream) {
      stream.async_read_some(asio::buffer(c->buffer),
                             [this, c, gen](boost::system::error_code ec, size_t n) {
                               if (gen != c->generation) return;
                               on_read(c, ec, n);
                             });
    });
  }

  void on_read(Connection* c, boost::system::error_code ec, size_t n) {
    const TimePoint now = Clock::now();
    c->read_was_full = n == c->buffer.size();  // more may wait: read again before waiting
    if (ec) {
      if (c->state == ConnState::kBusy) {
        if (is_eof(ec)) {
          const ResponseParser::Step step = c->parser.feed_eof();
          if (step.complete) {
            record_response(c, step.status, now);  // close-delimited body
            reconnect(c, now);
            return;
          }
        }
        record_error(ErrorClass::kRead, now);
      }
      reconnect(c, now);  // idle: the server closed a keep-alive connection
      return;
    }
    stats_.bytes_received += n;
    if (c->state != ConnState::kBusy) {
      record_error(ErrorClass::kProtocol, now);  // bytes nobody asked for
      reconnect(c, now);
      return;
    }
    const char* data = c->buffer.data();
    size_t left = n;
    while (left > 0) {
      const ResponseParser::Step step = c->parser.feed(data, left);
      if (step.error) {
        record_error(ErrorClass::kProtocol, now);
        reconnect(c, now);
        return;
      }
      data += step.consumed;
      left -= step.consumed;
      if (!step.complete) break;
      if (step.status < 200 && step.status != 101) continue;  // interim (100 Continue)
      record_response(c, step.status, now);
      if (c->writing && c->tls && step.keep_alive && left == 0) {
        // The SSL write's completion is still queued behind this read: the
        // connection is reusable once it runs (see write_rest).
        c->state = ConnState::kBusy;
        c->answered_while_writing = true;
        return;
      }
      if (!step.keep_alive || left > 0 || c->writing) {
        // Closed by the server, bytes beyond the one response we asked for, or an
        // answer before the request was fully written: the connection is not reusable.
        reconnect(c, now);
        return;
      }
      start_read(c);
      ready(c, now);
      return;
    }
    start_read(c);
  }

  // ---- recording ----

  void record_response(Connection* c, uint16_t status, TimePoint now) {
    c->state = ConnState::kIdle;
    if (now >= plan_.end) return;  // after the run: not counted
    roll_intervals(now);
    ++stats_.requests;
    stats_.status[status < kStatusSlots ? status : 0]++;
    stats_.latency.record(duration_cast<microseconds>(now - c->origin).count());
    if (status >= 400 && status < 500) {
      ++stats_.errors;
      ++stats_.errors_by_class[static_cast<size_t>(ErrorClass::kHttp4xx)];
    } else if (status >= 500 && status < 600) {
      ++stats_.errors;
      ++stats_.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)];
    }
  }

  void record_error(ErrorClass cls, TimePoint now) {
    // Before the start nothing was asked yet (connections opening early); after
    // the end nothing is counted.
    if (now < plan_.start || now >= plan_.end) return;
    roll_intervals(now);
    ++stats_.requests;
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

  void deliver() {
    collector_.deliver(current_, stats_.to_counters(), stats_.latency);
    stats_.reset();
    ++current_;
  }

  // ---- timers ----

  void arm_interval() {
    if (current_ + 1 >= plan_.intervals) return;  // the last interval ends with the run
    interval_timer_.expires_at(next_boundary_);
    interval_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      roll_intervals(Clock::now());
      arm_interval();
    });
  }

  void arm_sweep() {
    sweep_timer_.expires_after(kSweepPeriod);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      sweep(Clock::now());
      arm_sweep();
    });
  }

  // One pass over this thread's connections instead of a timer per request.
  void sweep(TimePoint now) {
    // Completions of a closed stream's operations are queued when it closes, so
    // one sweep period later none is left.
    retired_old_.clear();
    retired_old_.swap(retired_);
    for (auto& owned : connections_) {
      Connection* c = owned.get();
      switch (c->state) {
        case ConnState::kBusy:
          if (now - c->since > plan_.request_timeout) {
            record_error(ErrorClass::kTimeout, now);
            reconnect(c, now);
          }
          break;
        case ConnState::kConnecting:
          if (now - c->since > plan_.connect_timeout) connect_failed(c, now);
          break;
        case ConnState::kBackoff:
          if (now >= c->since) connect(c, now);
          break;
        case ConnState::kIdle:
        case ConnState::kParked:
          break;
      }
    }
  }

  // ---- closed loop with stages ----

  // This thread's share of the agent's target count at `t`: agent connection
  // k * threads + index is active when it is below the ramp's level.
  uint32_t active_at(TimePoint t) const {
    const double seconds = std::chrono::duration<double>(t - plan_.start).count();
    const auto level =
        static_cast<uint64_t>(std::floor(plan_.connections.level_at(seconds) + 1e-9));
    if (level <= share_.index) return 0;
    const uint64_t n = (level - share_.index - 1) / plan_.threads + 1;
    return static_cast<uint32_t>(std::min<uint64_t>(n, connections_.size()));
  }

  void arm_ramp() {
    ramp_timer_.expires_after(kRampPeriod);
    ramp_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      follow_ramp(Clock::now());
      arm_ramp();
    });
  }

  // Opens connections up to the target count; those above it are closed as
  // soon as they are idle (a busy one finishes its request first).
  void follow_ramp(TimePoint now) {
    if (now < plan_.start) return;
    active_ = active_at(now);
    for (auto& owned : connections_) {
      Connection* c = owned.get();
      if (c->index < active_) {
        if (c->state == ConnState::kParked) connect(c, now);
      } else if (c->state == ConnState::kIdle || c->state == ConnState::kConnecting ||
                 c->state == ConnState::kBackoff) {
        park(c);
      }
    }
  }

  void park(Connection* c) {
    close(c);
    c->state = ConnState::kParked;
    c->backoff = {};
  }

  // ---- open loop ----

  TimePoint intended_at(double seconds) const {
    return plan_.start + nanoseconds(static_cast<int64_t>(std::llround(seconds * 1e9)));
  }

  void send_due() {
    if (finished_ || plan_.mode != LoadMode::kOpen) return;
    const TimePoint now = Clock::now();
    while (next_due_ <= now && next_due_ < plan_.end) {
      if (Connection* c = pop_idle()) {
        send(c, next_due_, now);
      } else {
        if (!due_.push(next_due_)) ++stats_.late;  // overflow: the oldest is given up
        wait_for_connection(now);
      }
      advance_schedule();
    }
    if (next_due_ >= plan_.end) return;
    send_timer_.expires_at(next_due_);
    send_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) send_due();
    });
  }

  void advance_schedule() {
    const double t = schedule_.next();
    next_due_ = t == Schedule::kNever ? TimePoint::max() : intended_at(t);
  }

  // A due request found every connection busy: grow the pool when allowed
  // (one new connection per waiting request), else count that the limit held it.
  void wait_for_connection(TimePoint now) {
    if (connections_.size() >= max_connections_) {
      ++stats_.max_connections_hit;
      return;
    }
    if (growing_ >= due_.size()) return;  // enough connections already on their way
    Connection* c = add_connection(targets_[connections_.size() % targets_.size()]);
    c->grown = true;
    ++growing_;
    connect(c, now);
  }

  void finish(bool natural_end) {
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
    for (auto& c : connections_) close(c.get());
    io_.stop();
  }

  const Plan& plan_;
  const ThreadShare share_;
  asio::io_context io_;
  IntervalCollector& collector_;
  FastRandom rng_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer interval_timer_;
  asio::steady_timer end_timer_;
  asio::steady_timer send_timer_;
  asio::steady_timer ramp_timer_;
  std::vector<const Target*> targets_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  Schedule schedule_;
  DueQueue due_;
  TimePoint next_due_ = TimePoint::max();
  size_t max_connections_ = 0;
  size_t growing_ = 0;  // grown connections still connecting
  std::vector<std::unique_ptr<ssl::stream<tcp::socket>>> retired_;  // closed since the last sweep
  std::vector<std::unique_ptr<ssl::stream<tcp::socket>>> retired_old_;  // closed before it
  bool ramped_ = false;
  uint32_t active_ = 0;  // closed loop with stages: connections wanted now
  ThreadRecorder stats_;
  uint32_t current_ = 0;
  TimePoint next_boundary_;
  bool finished_ = false;
};

EngineThread::EngineThread(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
                           IntervalCollector& collector)
    : loop_(std::make_unique<Loop>(plan, std::move(targets), share, collector)) {}

EngineThread::~EngineThread() = default;

void EngineThread::run() { loop_->run(); }

void EngineThread::request_stop() { loop_->request_stop(); }

}  // namespace horde
