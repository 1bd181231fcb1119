// The nghttp2 callbacks of the HTTP/2 driver: they only note what arrived;
// H2Loop::settle() acts on it.
#include "agent/h2_session.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace horde::h2 {

namespace {

// Decimal digits up to `limit`; `limit` for anything else.
uint32_t parse_number(const uint8_t* p, size_t n, uint32_t limit) {
  if (n == 0 || n > 3) return limit;
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return limit;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

int on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
              size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Slot* s = slot_of(session, frame->hd.stream_id);
  if (s == nullptr) return 0;
  if (namelen == 7 && std::memcmp(name, ":status", 7) == 0) {
    s->status = static_cast<uint16_t>(parse_number(value, valuelen, 999));
  } else if (namelen == 11 && std::memcmp(name, "grpc-status", 11) == 0) {
    s->grpc_status = static_cast<int16_t>(parse_number(value, valuelen, 999));
  } else if (const H2Conn* c = s->conn;
             !c->backend_header.empty() && namelen == c->backend_header.size() &&
             std::memcmp(name, c->backend_header.data(), namelen) == 0 && valuelen > 0) {
    s->backend =
        c->backends->slot(std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }
  return 0;
}

int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                       size_t len, void*) {
  if (Slot* s = slot_of(session, stream_id)) s->body.feed(reinterpret_cast<const char*>(data), len);
  return 0;
}

int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  H2Conn* c = static_cast<H2Conn*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        if (Slot* s = slot_of(session, frame->hd.stream_id)) s->ended = true;
      }
      break;
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        c->settings_seen = true;
        const uint32_t limit =
            nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        c->cap = std::min<uint32_t>(static_cast<uint32_t>(c->slots.size()), limit);
      }
      break;
    case NGHTTP2_RST_STREAM:
      if (Slot* s = slot_of(session, frame->hd.stream_id)) s->reset = true;
      break;
    case NGHTTP2_GOAWAY:
      c->goaway = true;
      c->goaway_last = frame->goaway.last_stream_id;
      break;
    default:
      break;
  }
  return 0;
}

}  // namespace

Callbacks::Callbacks(nghttp2_on_stream_close_callback on_stream_close, bool read_bodies) {
  nghttp2_session_callbacks_new(&callbacks_);
  if (read_bodies) {
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks_, &on_data_chunk_recv);
  }
  nghttp2_session_callbacks_set_on_header_callback(callbacks_, &on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_, &on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks_, on_stream_close);
}

Callbacks::~Callbacks() { nghttp2_session_callbacks_del(callbacks_); }

ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                  nghttp2_data_source* source, void*) {
  Slot& s = *static_cast<Slot*>(source->ptr);
  const std::string_view body = s.request->body;
  const size_t n = std::min(length, body.size() - s.body_sent);
  std::memcpy(buf, body.data() + s.body_sent, n);
  s.body_sent += n;
  if (s.body_sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

bool alpn_h2(const H2Conn* c) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(c->tls->native_handle(), &proto, &len);
  return len == 2 && std::memcmp(proto, "h2", 2) == 0;
}

}  // namespace horde::h2
