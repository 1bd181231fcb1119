#include "agent/engine_thread.h"

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "agent/response_parser.h"
#include "agent/thread_loop.h"

namespace horde {

namespace {

using namespace loop;

constexpr size_t kReceiveBufferSize = 16 * 1024;

// kParked: closed loop with stages, above the current target count; closed
// until the ramp needs it again.
enum class ConnState : uint8_t { kBackoff, kConnecting, kIdle, kBusy, kParked };

// One keep-alive connection with its parser and a fixed receive buffer, both
// allocated once when the thread starts (wrk's `connection`).
struct Connection : Transport {
  Connection(asio::io_context& io, const Target* t, uint32_t i) : Transport(io, t), index(i) {}
  uint32_t index;  // in this thread; the ramp parks connections from the top index down
  ResponseParser parser;
  ConnState state = ConnState::kBackoff;
  bool in_idle_list = false;
  bool writing = false;                 // the rest of a request is being written asynchronously
  bool answered_while_writing = false;  // https: the response beat the write's completion
  bool grown = false;                   // opened for a due request, not yet connected
  bool read_was_full = false;           // the last read filled the buffer
  TimePoint since;   // connect start, request send time, or when to retry after backoff
  TimePoint origin;  // latency origin: send time (closed loop) or intended time (open loop)
  Clock::duration backoff{};
  std::array<char, kReceiveBufferSize> buffer;
};

bool is_eof(const boost::system::error_code& ec) {
  // A TLS peer that closes without close_notify reports stream_truncated; for a
  // close-delimited body that is the same as EOF.
  return ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

// The HTTP/1.1 driver. Path of a request: send() writes the pre-serialized
// bytes, on_read() feeds the parser, record() counts it and ready() hands the
// connection its next request.
class Http1Loop final : public ThreadLoop {
 public:
  Http1Loop(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
            IntervalCollector& collector)
      : ThreadLoop(plan, std::move(targets), share, collector, 1) {
    connections_.reserve(max_connections_);
    for (const Target* t : targets_) add_connection(t);
    idle_.reserve(max_connections_);
  }

 private:
  Connection* add_connection(const Target* t) {
    const auto index = static_cast<uint32_t>(connections_.size());
    connections_.push_back(std::make_unique<Connection>(io_, t, index));
    return connections_.back().get();
  }

  // ---- hooks ----

  void open_connections(TimePoint now) override {
    for (auto& c : connections_) {
      if (ramped_ && c->index >= active_) {
        c->state = ConnState::kParked;
      } else {
        connect(c.get(), now);
      }
    }
  }

  void start_closed(TimePoint now) override {
    while (Connection* c = pop_idle()) send(c, now, now);
  }

  bool dispatch(TimePoint intended, TimePoint now) override {
    Connection* c = pop_idle();
    if (c == nullptr) return false;
    send(c, intended, now);
    return true;
  }

  size_t connection_count() const override { return connections_.size(); }

  void grow(const Target* target, TimePoint now) override {
    Connection* c = add_connection(target);
    c->grown = true;
    connect(c, now);
  }

  // One pass over this thread's connections instead of a timer per request.
  void sweep(TimePoint now) override {
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

  // Opens connections up to the target count; those above it are closed as
  // soon as they are idle (a busy one finishes its request first).
  void follow_ramp(TimePoint now) override {
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

  void close_all() override {
    for (auto& c : connections_) close(c.get());
  }

  // ---- connection life cycle ----

  void connect(Connection* c, TimePoint now) {
    if (!c->target->resolved) {
      connect_failed(c, now);
      return;
    }
    c->state = ConnState::kConnecting;
    c->since = now;
    dial(*c, [this, c](boost::system::error_code ec) { on_connect(c, ec); });
  }

  void on_connect(Connection* c, boost::system::error_code ec) {
    const TimePoint now = Clock::now();
    if (c->grown) {
      c->grown = false;
      grown_done();
    }
    if (ec) {
      connect_failed(c, now);
      return;
    }
    boost::system::error_code ignored;
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
    c->backoff = next_backoff(c->backoff);
    c->state = ConnState::kBackoff;
    c->since = now + c->backoff;
  }

  void close(Connection* c) {
    c->writing = false;
    c->answered_while_writing = false;
    c->read_was_full = false;
    if (c->grown) {
      c->grown = false;
      grown_done();
    }
    hang_up(*c);
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
      if (has_due()) {
        send(c, pop_due(), now);
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

  void park(Connection* c) {
    close(c);
    c->state = ConnState::kParked;
    c->backoff = {};
  }

  // ---- the request path ----

  void send(Connection* c, TimePoint intended, TimePoint now) {
    const RequestTable::Entry& request = c->target->requests.pick(rng_);
    c->parser.expect_head(request.head);
    c->state = ConnState::kBusy;
    c->since = now;
    c->origin = intended;
    note_send(intended, now);
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

  void start_read(Connection* c) {
    read_next(c,
              [this](Connection* c, boost::system::error_code ec, size_t n) { on_read(c, ec, n); });
  }

  void on_read(Connection* c, boost::system::error_code ec, size_t n) {
    const TimePoint now = Clock::now();
    c->read_was_full = n == c->buffer.size();  // more may wait: read again before waiting
    if (ec) {
      if (c->state == ConnState::kBusy) {
        if (is_eof(ec)) {
          const ResponseParser::Step step = c->parser.feed_eof();
          if (step.complete) {
            record(c, step.status, now);  // close-delimited body
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
      record(c, step.status, now);
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

  void record(Connection* c, uint16_t status, TimePoint now) {
    c->state = ConnState::kIdle;
    record_response(status, c->origin, now);
  }

  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
};

}  // namespace

std::unique_ptr<ThreadLoop> make_http1_loop(const Plan& plan, std::vector<const Target*> targets,
                                            ThreadShare share, IntervalCollector& collector) {
  return std::make_unique<Http1Loop>(plan, std::move(targets), share, collector);
}

EngineThread::EngineThread(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
                           IntervalCollector& collector)
    : loop_(plan.protocol == Protocol::kHttp1
                ? make_http1_loop(plan, std::move(targets), share, collector)
                : make_h2_loop(plan, std::move(targets), share, collector)) {}

EngineThread::~EngineThread() = default;

void EngineThread::run() { loop_->run(); }

void EngineThread::request_stop() { loop_->request_stop(); }

void EngineThread::rebalance(double rate_factor, uint32_t connections,
                             std::chrono::steady_clock::time_point from) {
  loop_->rebalance(rate_factor, connections, from);
}

}  // namespace horde
