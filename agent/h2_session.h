// What one HTTP/2 connection of the load engine holds and what nghttp2 tells it.
// A connection (`H2Conn`) runs one nghttp2 client session on a fixed receive
// buffer and a write buffer reused for the whole run; each request in flight
// sits in a `Slot` that nghttp2 hands back as the stream's user data (no map).
// The nghttp2 callbacks here only note what arrived on the slot or the
// connection (:status, grpc-status, the backend header, END_STREAM, RST_STREAM,
// SETTINGS, GOAWAY, and expect.body_contains over DATA)
// and feed a request body; the driver (h2_loop.cc) acts on it after nghttp2
// has run, and handles a stream's close itself, since that is where a request
// is counted.
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/body_match.h"
#include "agent/h2_template.h"
#include "agent/thread_loop.h"

namespace horde::h2 {

inline constexpr size_t kReceiveBufferSize = 32 * 1024;
inline constexpr size_t kWriteBufferReserve = 64 * 1024;
// Flow control stays automatic (nghttp2 sends WINDOW_UPDATE), with windows so
// large that a response body never waits for one, as h2load's defaults.
inline constexpr int32_t kWindow = (1 << 30) - 1;

struct H2Conn;
class H2Loop;

// One request in flight (stream_id != 0) or a free place for one.
struct Slot {
  H2Conn* conn = nullptr;
  int32_t stream_id = 0;
  uint16_t status = 0;
  int16_t grpc_status = -1;  // -1: none seen
  // BackendTable slot: the connection's address, or backend.header's value.
  uint16_t backend = BackendTable::kOther;
  bool ended = false;                  // the response's END_STREAM arrived
  bool reset = false;                  // the server sent RST_STREAM
  bool cancelled = false;              // timed out: counted, RST_STREAM sent, waiting for the close
  const H2Request* request = nullptr;  // the table's, or `render.request`
  const RequestTable::Entry* entry = nullptr;  // the request it carries (its name, expect)
  size_t body_sent = 0;
  BodyMatch body;          // expect.body_contains of `entry`, over the response's DATA
  loop::TimePoint since;   // send time; for a cancelled slot, when it was cancelled
  loop::TimePoint origin;  // latency origin: send time (closed loop) or intended time (open loop)
  // A templated request rendered for this stream; kept until it closes, and
  // its buffers (reserved once) from one stream to the next.
  H2Render render;
};

// kConnecting lasts until the server's first SETTINGS: only then is its
// stream limit known (see H2Loop::settle()).
struct H2Conn : Connection {
  H2Conn(loop::asio::io_context& io, const Target* t, uint32_t i, H2Loop* o, size_t streams)
      : Connection(io, t, i), owner(o), slots(streams) {
    for (auto& s : slots) s.conn = this;
    free.reserve(streams);
    reset_slots();
    out.reserve(kWriteBufferReserve);
    writing_out.reserve(kWriteBufferReserve);
  }
  ~H2Conn() override {
    if (session != nullptr) nghttp2_session_del(session);
  }
  void reset_slots() {
    free.clear();
    // Popped from the back: slot 0 first.
    for (size_t i = slots.size(); i-- > 0;) {
      H2Render kept = std::move(slots[i].render);
      slots[i] = Slot{};
      slots[i].conn = this;
      slots[i].render = std::move(kept);
      free.push_back(static_cast<uint32_t>(i));
    }
    active = 0;
  }

  H2Loop* owner;
  // backend.header (lower case; HTTP/2 names are lower case on the wire, and
  // gRPC metadata is headers too) and the thread's table its values go to.
  std::string_view backend_header;
  BackendTable* backends = nullptr;
  nghttp2_session* session = nullptr;
  bool goaway = false;  // the server sent GOAWAY (or ids ran out): no new streams
  int32_t goaway_last = 0;
  bool in_ready_list = false;
  bool in_dirty_list = false;
  bool writing = false;  // writing_out is being written asynchronously
  bool settings_seen = false;
  uint32_t cap = 0;     // streams usable: min(streams_per_connection, the server's limit)
  uint32_t active = 0;  // streams in flight
  std::vector<Slot> slots;
  std::vector<uint32_t> free;
  std::vector<uint8_t> out;          // frames serialized since the last write
  std::vector<uint8_t> writing_out;  // the frames of the write in flight
  std::array<uint8_t, kReceiveBufferSize> buffer;
};

// The callback table every session of a thread shares; the session's user
// data is its H2Conn. `on_stream_close` is the driver's: it counts the request.
class Callbacks {
 public:
  // `read_bodies`: some request has expect.body_contains, so DATA is fed to
  // its slot's BodyMatch (otherwise response bodies are not looked at).
  Callbacks(nghttp2_on_stream_close_callback on_stream_close, bool read_bodies);
  ~Callbacks();
  Callbacks(const Callbacks&) = delete;
  Callbacks& operator=(const Callbacks&) = delete;

  const nghttp2_session_callbacks* get() const { return callbacks_; }

 private:
  nghttp2_session_callbacks* callbacks_ = nullptr;
};

// The slot nghttp2 keeps as `stream_id`'s user data, or null.
inline Slot* slot_of(nghttp2_session* session, int32_t stream_id) {
  return static_cast<Slot*>(nghttp2_session_get_stream_user_data(session, stream_id));
}

// A data provider's read callback: the body of the slot in `source->ptr`.
ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                  nghttp2_data_source* source, void*);

// Did the TLS handshake of `c` select h2 by ALPN?
bool alpn_h2(const H2Conn* c);

}  // namespace horde::h2
