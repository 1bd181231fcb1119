// The HTTP/2 driver (h2c:// prior knowledge, https:// with ALPN h2, and gRPC
// calls, which are HTTP/2 POSTs made at load time). Each connection runs one
// nghttp2 client session (its state and callbacks in h2_session.*), with up
// to streams_per_connection requests in flight on it.
// Path of a request: submit() queues the pre-built header fields (no copy),
// flush() serializes every queued frame into the write buffer and writes it
// once per read batch, on_read() feeds nghttp2, whose callbacks note :status and
// grpc-status per slot and close the stream; settle() then counts it, fills the
// freed slots (closed loop: the next request; open loop: a due one) and flushes.
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "agent/h2_session.h"
#include "agent/thread_loop.h"

namespace horde {

namespace h2 {

using namespace loop;

constexpr uint16_t kGrpcStatusUnknown = 2;
constexpr size_t kReadyScan = 64;  // ready connections looked at for a request's address

class H2Loop final : public ThreadLoop {
 public:
  H2Loop(const Plan& plan, std::vector<const Target*> targets, ThreadShare share,
         IntervalCollector& collector)
      : ThreadLoop(plan, std::move(targets), share, collector, plan.streams_per_connection),
        streams_(std::max<uint32_t>(plan.streams_per_connection, 1)),
        grpc_(plan.protocol == Protocol::kGrpc) {
    for (const Target* t : targets_) add_connection(t);
    if (plan.templates) {
      render_.emplace(*plan.templates, share.index, plan.threads, share.seed ^ 0x5DEECE66DULL);
    }
    ready_.reserve(max_connections_);
    dirty_.reserve(max_connections_);
  }

 private:
  static H2Conn* of(Connection* c) { return static_cast<H2Conn*>(c); }
  // Does a request of these targets read its response body (expect.body_contains)?
  static bool reads_bodies(const std::vector<const Target*>& targets) {
    for (const Target* t : targets) {
      for (const RequestTable::Entry& e : t->requests.entries()) {
        if (e.needle != nullptr) return true;
      }
    }
    return false;
  }

  // ---- hooks ----

  void start_closed(TimePoint now) override {
    now_ = now;
    for (auto& c : connections_) {
      if (c->state == ConnState::kOpen) settle(of(c.get()), now);
    }
  }

  // Several addresses: a connection to the request's turn with a free stream,
  // else one is opened there (the request waits for it), else, at the bound, any.
  bool dispatch(TimePoint intended, TimePoint now) override {
    now_ = now;
    if (exhausted_) {
      note_exhausted(now);  // the due request is not sent
      return true;
    }
    if (const tcp::endpoint* want = next_turn()) {
      const size_t stop = ready_.size() > kReadyScan ? ready_.size() - kReadyScan : 0;
      for (size_t i = ready_.size(); i > stop; --i) {
        H2Conn* c = ready_[i - 1];
        if (c->endpoint != *want || !can_take(c)) continue;
        if (!submit(c, intended, now)) {
          if (exhausted_) return true;  // counted, not sent
          continue;
        }
        mark_dirty(c);
        return true;
      }
      if (can_open()) {
        wait_for(*want);
        return false;
      }
    }
    while (!ready_.empty()) {
      H2Conn* c = ready_.back();
      if (can_take(c)) {
        if (submit(c, intended, now)) {
          mark_dirty(c);
          return true;
        }
        if (exhausted_) return true;  // counted, not sent
      }
      ready_.pop_back();
      c->in_ready_list = false;
    }
    return false;
  }

  void mark_dirty(H2Conn* c) {
    if (!c->in_dirty_list) {
      c->in_dirty_list = true;
      dirty_.push_back(c);
    }
  }

  // The due requests of one timer tick leave in one write per connection.
  void after_dispatch() override {
    for (H2Conn* c : dirty_) {
      c->in_dirty_list = false;
      if (c->session != nullptr) flush(c);
    }
    dirty_.clear();
  }

  std::unique_ptr<Connection> make_connection(const Target* t, uint32_t index) override {
    auto c = std::make_unique<H2Conn>(io_, t, index, this, streams_);
    c->backends = &backends_;
    c->backend_header = plan_.backend_header;
    return c;
  }

  void on_connected(Connection& conn, TimePoint now) override {
    H2Conn* c = of(&conn);
    now_ = now;
    // A TLS server that does not speak h2 is a connect error.
    if ((c->tls && !alpn_h2(c)) ||
        nghttp2_session_client_new(&c->session, callbacks_.get(), c) != 0) {
      connect_failed(c, now);
      return;
    }
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindow}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, kWindow);
    // Still kConnecting: the connection takes streams once the server's SETTINGS arrive.
    start_read(c);
    flush(c);
  }

  void on_expiry(Connection& conn, TimePoint now) override {
    now_ = now;
    H2Conn* c = of(&conn);
    if (c->active > 0) expire_streams(c, now);
  }

  bool is_idle(const Connection& c) const override {
    return static_cast<const H2Conn&>(c).active == 0;
  }

  void on_close(Connection& conn) override {
    H2Conn* c = of(&conn);
    if (c->session != nullptr) {
      nghttp2_session_del(c->session);  // runs no callbacks
      c->session = nullptr;
    }
    c->reset_slots();
    c->goaway = false;
    c->goaway_last = 0;
    c->writing = false;
    c->settings_seen = false;
    c->cap = 0;
    c->out.clear();
    c->writing_out.clear();
  }

  // ---- connection life cycle ----

  // Counts every stream still in flight as failed with `cls` (the cancelled
  // ones were counted when they timed out); how many there were.
  size_t fail_streams(H2Conn* c, ErrorClass cls, TimePoint now) {
    size_t failed = 0;
    for (Slot& s : c->slots) {
      if (s.stream_id != 0 && !s.cancelled) {
        record_error(cls, now, s.backend, s.entry->name);
        ++failed;
      }
    }
    return failed;
  }

  // The connection is gone: its streams in flight fail with `cls`; a new one
  // replaces it (closed loop) or is opened when a stream needs it (open loop).
  void replace(H2Conn* c, ErrorClass cls, TimePoint now) {
    fail_streams(c, cls, now);
    lost(c, now);
  }

  // nghttp2 gave up on the session: its streams fail as protocol errors; then
  // as replace(). With none in flight nothing was asked, so nothing is counted.
  void replace_broken(H2Conn* c, TimePoint now) {
    fail_streams(c, ErrorClass::kProtocol, now);
    lost(c, now);
  }

  // now_: the connection policy's age is judged at the current event.
  bool can_take(const H2Conn* c) const {
    return c->state == ConnState::kOpen && !c->goaway && c->active < c->cap && !above_ramp(c) &&
           !spent(*c, now_);
  }

  // After nghttp2 has run: the connection's state follows what it learned,
  // freed slots take their next requests, and what was queued is written.
  // False when the connection was closed (replaced or parked).
  bool settle(H2Conn* c, TimePoint now) {
    if (c->state == ConnState::kConnecting && c->settings_seen) opened(c);
    if (c->goaway && c->active == 0) {
      // Every stream the server kept has finished: a fresh connection takes over.
      lost(c, now);
      return false;
    }
    // The connection policy: every stream answered, the connection is reopened.
    if (c->state == ConnState::kOpen && c->active == 0 && retire_if_spent(c, now)) return false;
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
      // nghttp2 ended the session (a connection error it answered with GOAWAY).
      if (c->state == ConnState::kConnecting) {
        connect_failed(c, now);  // not an HTTP/2 server: retried after a backoff
        return false;
      }
      replace_broken(c, now);
      return false;
    }
    if (c->state == ConnState::kOpen) {
      if (above_ramp(c) && c->active == 0) {
        park(c);
        return false;
      }
      fill(c, now);
    }
    return flush(c);
  }

  // Free slots take requests: closed loop the next one, open loop the due ones;
  // a connection with room left waits in the ready list for the schedule.
  void fill(H2Conn* c, TimePoint now) {
    if (finished_ || now >= plan_.end) return;
    if (plan_.mode == LoadMode::kClosed) {
      if (now < plan_.start) return;  // start_closed() fills every open connection
      while (can_take(c) && submit(c, now, now)) {
      }
      return;
    }
    while (now >= plan_.start && can_take(c) && has_due()) {
      if (!submit(c, pop_due(), now)) break;
    }
    if (can_take(c) && !c->in_ready_list) {
      c->in_ready_list = true;
      ready_.push_back(c);
    }
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

  // False when the connection can take no more streams, or this thread's
  // unique data ran out.
  bool submit(H2Conn* c, TimePoint intended, TimePoint now) {
    if (exhausted_) {
      note_exhausted(now);
      return false;
    }
    const RequestTable::Entry& request = c->target->requests.pick(rng_);
    const uint32_t i = c->free.back();
    Slot& s = c->slots[i];
    s.request = &request.h2;
    if (request.h2_render) {
      if (!request.h2_render->render(*render_, s.render)) {
        note_exhausted(now);
        return false;
      }
      s.request = &s.render.request;
    }
    s.entry = &request;
    s.body_sent = 0;
    s.body.reset(request.needle.get());
    nghttp2_data_provider body;
    body.source.ptr = &s;
    body.read_callback = &read_body;
    const H2Request& r = *s.request;
    const bool has_body = !r.body.empty();
    const int32_t id = nghttp2_submit_request(c->session, nullptr, r.fields.data(), r.fields.size(),
                                              has_body ? &body : nullptr, &s);
    if (id < 0) {
      // Stream ids ran out (2^31 per connection): drain it, then replace it.
      c->goaway = true;
      c->goaway_last = INT32_MAX;
      return false;
    }
    c->free.pop_back();
    ++c->active;
    s.stream_id = id;
    s.status = 0;
    s.grpc_status = -1;
    s.backend = c->backend;
    s.ended = s.reset = s.cancelled = false;
    s.since = now;
    s.origin = note_send(*c, intended, now);
    return true;
  }

  // Serializes what nghttp2 has queued and writes it: at once on a plain
  // socket (one non-blocking send nearly always takes it all), else, or for
  // the rest, asynchronously; frames queued meanwhile go in the next write.
  // False when the connection was replaced.
  bool flush(H2Conn* c) {
    if (c->writing) return true;  // the write's completion flushes again
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(c->session, &data);
      if (n < 0) {
        replace(c, ErrorClass::kProtocol, now_);
        return false;
      }
      if (n == 0) break;
      c->out.insert(c->out.end(), data, data + n);
    }
    if (c->out.empty()) return true;
    size_t written = 0;
    if (!c->tls) {
      boost::system::error_code ec;
      written = c->socket.write_some(asio::buffer(c->out), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        written = 0;
      }
      if (ec) {
        replace(c, ErrorClass::kWrite, now_);
        return false;
      }
      stats_.bytes_sent += written;
      if (written == c->out.size()) {
        c->out.clear();
        return true;
      }
    }
    c->writing_out.assign(c->out.begin() + static_cast<std::ptrdiff_t>(written), c->out.end());
    c->out.clear();
    c->writing = true;
    const uint32_t gen = c->generation;
    c->with_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(c->writing_out),
                        [this, c, gen](boost::system::error_code ec, size_t n) {
                          if (gen != c->generation) return;
                          c->writing = false;
                          c->writing_out.clear();
                          stats_.bytes_sent += n;
                          const TimePoint now = Clock::now();
                          now_ = now;
                          if (ec) {
                            replace(c, ErrorClass::kWrite, now);
                            return;
                          }
                          settle(c, now);
                        });
    });
    return true;
  }

  // One read is outstanding whenever the connection is open (ThreadLoop::read_next).
  void start_read(H2Conn* c) {
    read_next(c, [this](H2Conn* c, boost::system::error_code ec, size_t n) { on_read(c, ec, n); });
  }

  void on_read(H2Conn* c, boost::system::error_code ec, size_t n) {
    const TimePoint now = Clock::now();
    now_ = now;
    c->read_was_full = n == c->buffer.size();
    if (ec) {
      // In flight: a read error; idle: the server closed the connection, replace it.
      if (c->state == ConnState::kConnecting) {
        connect_failed(c, now);
      } else {
        replace(c, ErrorClass::kRead, now);
      }
      return;
    }
    stats_.bytes_received += n;
    const ssize_t rv = nghttp2_session_mem_recv(c->session, c->buffer.data(), n);
    if (rv < 0) {
      if (c->state == ConnState::kConnecting) {
        connect_failed(c, now);  // not an HTTP/2 server
      } else {
        replace_broken(c, now);
      }
      return;
    }
    if (settle(c, now)) start_read(c);
  }

  // ---- timeouts ----

  // Streams past request_timeout count as timeouts and are cancelled with
  // RST_STREAM; the connection lives on. A connection that cannot even deliver
  // the cancellation within another timeout is stuck and replaced.
  void expire_streams(H2Conn* c, TimePoint now) {
    bool cancelled = false;
    for (Slot& s : c->slots) {
      if (s.stream_id == 0 || now - s.since <= plan_.request_timeout) continue;
      if (s.cancelled) {
        replace(c, ErrorClass::kTimeout, now);
        return;
      }
      record_error(ErrorClass::kTimeout, now, s.backend, s.entry->name);
      s.cancelled = true;
      s.since = now;
      nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s.stream_id, NGHTTP2_CANCEL);
      cancelled = true;
    }
    if (cancelled) settle(c, now);
  }

  // ---- a stream closed: the request is counted (h2_session.cc notes the rest) ----

  static int on_stream_close(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                             void*) {
    Slot* s = slot_of(session, stream_id);
    if (s == nullptr || s->stream_id != stream_id) return 0;
    s->conn->owner->stream_closed(*s, error_code);
    return 0;
  }

  void stream_closed(Slot& s, uint32_t error_code) {
    H2Conn* c = s.conn;
    const TimePoint now = now_;
    if (!s.cancelled) {
      if (s.ended && s.status != 0) {
        record(s, now);
      } else if (s.reset) {
        record_error(ErrorClass::kStream, now, s.backend, s.entry->name);
      } else if ((c->goaway && s.stream_id > c->goaway_last) ||
                 error_code == NGHTTP2_REFUSED_STREAM) {
        record_error(ErrorClass::kGoaway, now, s.backend, s.entry->name);
      } else {
        record_error(ErrorClass::kProtocol, now, s.backend, s.entry->name);
      }
    }
    s.stream_id = 0;
    s.cancelled = false;
    c->free.push_back(static_cast<uint32_t>(&s - c->slots.data()));
    --c->active;
  }

  void record(const Slot& s, TimePoint now) {
    if (!record_response(s.status, s.origin, now, s.backend, *s.entry, s.body.found()) || !grpc_) {
      return;
    }
    if (s.grpc_status >= 0) {
      const auto code = static_cast<size_t>(s.grpc_status);
      ++stats_.grpc_status[code < stats_.grpc_status.size() ? code : kGrpcStatusUnknown];
    }
    if (s.status >= 400) return;  // counted as an HTTP error already
    if (s.grpc_status < 0) {
      count_error(ErrorClass::kProtocol);  // a gRPC response must carry grpc-status
    } else if (s.grpc_status != 0) {
      count_error(ErrorClass::kGrpc);
    }
  }

  const uint32_t streams_;
  const bool grpc_;
  const Callbacks callbacks_{&H2Loop::on_stream_close, reads_bodies(targets_)};
  std::vector<H2Conn*> ready_;         // open loop: connections that may have a free slot
  std::vector<H2Conn*> dirty_;         // open loop: connections with requests queued by dispatch()
  TimePoint now_;                      // when the current event began: what the callbacks count at
  std::optional<RenderState> render_;  // with templates: this thread's state
  bool exhausted_ = false;             // a unique data set ran out: nothing more is sent
};

}  // namespace h2

std::unique_ptr<ThreadLoop> make_h2_loop(const Plan& plan, std::vector<const Target*> targets,
                                         ThreadShare share, IntervalCollector& collector) {
  return std::make_unique<h2::H2Loop>(plan, std::move(targets), share, collector);
}

}  // namespace horde
