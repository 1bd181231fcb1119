// The HTTP/1.1 driver of ThreadLoop: keep-alive connections with a parser and
// a fixed receive buffer each, one request in flight per connection; the
// request bytes are serialized once per target and written again and again.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/request_template.h"
#include "agent/response_parser.h"
#include "agent/thread_loop.h"

namespace horde {

namespace {

using namespace loop;

constexpr size_t kReceiveBufferSize = 16 * 1024;
constexpr size_t kIdleScan = 64;  // idle connections looked at for a request's address

// One keep-alive connection with its parser and a fixed receive buffer, both
// allocated once when the thread starts (wrk's `connection`).
struct Http1Conn : Connection {
  Http1Conn(asio::io_context& io, const Target* t, uint32_t i, std::string_view header)
      : Connection(io, t, i) {
    parser.watch_header(header);
  }
  ResponseParser parser;
  bool busy = false;  // open with a request in flight (`since` is its send time)
  bool in_idle_list = false;
  bool writing = false;                 // the rest of a request is being written asynchronously
  bool answered_while_writing = false;  // https: the response beat the write's completion
  TimePoint origin;  // latency origin: send time (closed loop) or intended time (open loop)
  const RequestTable::Entry* request = nullptr;  // the last one sent
  BodyMatch body;  // expect.body_contains of `request`, over its response's body
  std::array<char, kReceiveBufferSize> buffer;
  // A templated request rendered for this connection (its capacity is kept:
  // reserved once for the longest request, agent/request_template.h).
  std::string out;
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
    for (const Target* t : targets_) add_connection(t);
    idle_.reserve(max_connections_);
    if (plan.templates) {
      render_.emplace(*plan.templates, share.index, plan.threads, share.seed ^ 0x5DEECE66DULL);
    }
  }

 private:
  static Http1Conn* of(Connection* c) { return static_cast<Http1Conn*>(c); }

  // ---- hooks ----

  void start_closed(TimePoint now) override {
    while (Http1Conn* c = pop_idle()) send(c, now, now);
  }

  // Several addresses: an idle connection to the request's turn, else one is
  // opened there (the request waits for it), else, at the bound, any idle one.
  bool dispatch(TimePoint intended, TimePoint now) override {
    if (exhausted_) {
      note_exhausted(now);  // the due request is not sent
      return true;
    }
    Http1Conn* c = nullptr;
    if (const tcp::endpoint* want = next_turn()) {
      c = pop_idle_at(*want);
      if (c == nullptr && can_open()) {
        wait_for(*want);
        return false;
      }
    }
    if (c == nullptr) c = pop_idle();
    if (c == nullptr) return false;
    send(c, intended, now);
    return true;
  }

  std::unique_ptr<Connection> make_connection(const Target* t, uint32_t index) override {
    return std::make_unique<Http1Conn>(io_, t, index, plan_.backend_header);
  }

  void on_connected(Connection& conn, TimePoint now) override {
    Http1Conn* c = of(&conn);
    c->parser.reset();
    opened(c);
    start_read(c);
    ready(c, now);
  }

  void on_expiry(Connection& conn, TimePoint now) override {
    Http1Conn* c = of(&conn);
    if (c->busy && now - c->since > plan_.request_timeout) {
      record_error(ErrorClass::kTimeout, now, c->backend, name_of(c));
      lost(c, now);
    }
  }

  bool is_idle(const Connection& c) const override {
    return !static_cast<const Http1Conn&>(c).busy;
  }

  void on_close(Connection& conn) override {
    Http1Conn* c = of(&conn);
    c->busy = false;
    c->writing = false;
    c->answered_while_writing = false;
  }

  // The connection can take a request: the next one now (closed loop), a due
  // one from the queue (open loop), or it waits in the idle list.
  void ready(Http1Conn* c, TimePoint now) {
    c->busy = false;
    if (finished_ || now >= plan_.end) return;
    if (above_ramp(c)) {
      park(c);
      return;
    }
    if (retire_if_spent(c, now)) return;  // the connection policy: reopened
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

  Http1Conn* pop_idle() {
    while (!idle_.empty()) {
      Http1Conn* c = idle_.back();
      idle_.pop_back();
      c->in_idle_list = false;
      if (c->state == ConnState::kOpen && !c->busy) return c;  // else it closed while idle
    }
    return nullptr;
  }

  // The most recently used idle connection to `want`, among the last
  // kIdleScan idle ones (a bounded look on the request path).
  Http1Conn* pop_idle_at(const tcp::endpoint& want) {
    const size_t stop = idle_.size() > kIdleScan ? idle_.size() - kIdleScan : 0;
    for (size_t i = idle_.size(); i > stop; --i) {
      Http1Conn* c = idle_[i - 1];
      if (c->state != ConnState::kOpen || c->busy || c->endpoint != want) continue;
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i - 1));
      c->in_idle_list = false;
      return c;
    }
    return nullptr;
  }

  // ---- the request path ----

  // A data set in mode unique has no row left for the request: counted, and
  // this thread sends nothing more (docs/workload.md, "Data sets").
  void note_exhausted(TimePoint now) {
    exhausted_ = true;
    if (now < plan_.start || now >= plan_.end) return;
    roll_intervals(now);
    ++stats_.data_exhausted;
  }

  // The name of the request in flight on `c`.
  static uint32_t name_of(const Http1Conn* c) {
    return c->request != nullptr ? c->request->name : kUnchosen;
  }

  void send(Http1Conn* c, TimePoint intended, TimePoint now) {
    if (exhausted_) {
      note_exhausted(now);
      unsent(c);
      return;
    }
    const RequestTable::Entry& request = c->target->requests.pick(rng_);
    std::string_view bytes = request.bytes;
    if (request.render) {
      if (!request.render->render(*render_, c->out)) {
        note_exhausted(now);
        unsent(c);
        return;
      }
      bytes = c->out;
    }
    c->parser.expect_head(request.head);
    c->body.reset(request.needle.get());
    c->parser.expect_body(request.needle != nullptr ? &c->body : nullptr);
    c->request = &request;
    c->busy = true;
    c->since = now;
    c->origin = note_send(*c, intended, now);
    if (c->tls) {
      // SSL records are written by the stream's own state machine: always async.
      write_rest(c, bytes, 0);
      return;
    }
    // Requests are small: one non-blocking write nearly always takes all of it,
    // which saves a completion handler per request.
    boost::system::error_code ec;
    size_t n = c->socket.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) {
      record_error(ErrorClass::kWrite, now, c->backend, name_of(c));
      lost(c, now);
      return;
    }
    stats_.bytes_sent += n;
    if (n < bytes.size()) write_rest(c, bytes, n);
  }

  // Nothing was sent on `c`: open loop keeps it idle for the next due request;
  // closed loop leaves it idle (this thread has stopped sending).
  void unsent(Http1Conn* c) {
    c->busy = false;
    if (plan_.mode == LoadMode::kOpen && !c->in_idle_list) {
      c->in_idle_list = true;
      idle_.push_back(c);
    }
  }

  // `bytes` stay valid until the write ends: the table's or the connection's own.
  void write_rest(Http1Conn* c, std::string_view bytes, size_t from) {
    c->writing = true;
    const uint32_t gen = c->generation;
    c->with_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(bytes.data() + from, bytes.size() - from),
                        [this, c, gen](boost::system::error_code ec, size_t written) {
                          if (gen != c->generation) return;
                          c->writing = false;
                          stats_.bytes_sent += written;
                          const TimePoint now = Clock::now();
                          if (ec) {
                            record_error(ErrorClass::kWrite, now, c->backend, name_of(c));
                            lost(c, now);
                          } else if (c->answered_while_writing) {
                            c->answered_while_writing = false;
                            start_read(c);
                            ready(c, now);
                          }
                        });
    });
  }

  void start_read(Http1Conn* c) {
    read_next(c,
              [this](Http1Conn* c, boost::system::error_code ec, size_t n) { on_read(c, ec, n); });
  }

  void on_read(Http1Conn* c, boost::system::error_code ec, size_t n) {
    const TimePoint now = Clock::now();
    c->read_was_full = n == c->buffer.size();  // more may wait: read again before waiting
    if (ec) {
      if (c->busy) {
        if (is_eof(ec)) {
          const ResponseParser::Step step = c->parser.feed_eof();
          if (step.complete) {
            record(c, step.status, now);  // close-delimited body
            lost(c, now);
            return;
          }
        }
        record_error(ErrorClass::kRead, now, c->backend, name_of(c));
      }
      lost(c, now);  // idle: the server closed a keep-alive connection
      return;
    }
    stats_.bytes_received += n;
    if (!c->busy) {
      // Bytes nobody asked for: the connection is not reusable, but no request
      // was asked on it, so none is counted.
      lost(c, now);
      return;
    }
    const char* data = c->buffer.data();
    size_t left = n;
    while (left > 0) {
      const ResponseParser::Step step = c->parser.feed(data, left);
      if (step.error) {
        record_error(ErrorClass::kProtocol, now, c->backend, name_of(c));
        lost(c, now);
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
        c->busy = true;
        c->answered_while_writing = true;
        return;
      }
      if (!step.keep_alive || left > 0 || c->writing) {
        // Closed by the server, bytes beyond the one response we asked for, or an
        // answer before the request was fully written: the connection is not reusable.
        lost(c, now);
        return;
      }
      start_read(c);
      ready(c, now);
      return;
    }
    start_read(c);
  }

  void record(Http1Conn* c, uint16_t status, TimePoint now) {
    c->busy = false;
    const uint16_t backend = plan_.backend_header.empty()
                                 ? c->backend
                                 : backend_named(c->parser.header_value(), c->backend);
    record_response(status, c->origin, now, backend, *c->request, c->body.found());
  }

  std::vector<Http1Conn*> idle_;       // open loop: most recently used last
  std::optional<RenderState> render_;  // with templates: this thread's state
  bool exhausted_ = false;             // a unique data set ran out: nothing more is sent
};

}  // namespace

std::unique_ptr<ThreadLoop> make_http1_loop(const Plan& plan, std::vector<const Target*> targets,
                                            ThreadShare share, IntervalCollector& collector) {
  return std::make_unique<Http1Loop>(plan, std::move(targets), share, collector);
}

}  // namespace horde
