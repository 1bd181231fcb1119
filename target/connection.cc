#include "target/connection.h"

#include <algorithm>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>

#include "target/instance.h"
#include "target/request_parser.h"

namespace horde::target {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Stop reading more requests while this much output waits behind a slow reader.
constexpr size_t kMaxPendingOutput = 64 * 1024;
// How long a closing connection drains the peer's unread bytes, so that closing with unread
// input does not turn into a reset that destroys our last response in flight.
constexpr std::chrono::seconds kLingerTime{1};

constexpr std::string_view kOkBody = "ok\n";
constexpr std::string_view kTextPlain = "text/plain";

}  // namespace

Connection::Connection(tcp::socket socket, Instance& instance)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), instance_(instance) {
  out_.reserve(4096);
  writing_.reserve(4096);
}

void Connection::Start() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  // Flush tries a plain send first; only a partial one goes through an async write.
  socket_.non_blocking(true, ec);
  Read();
}

void Connection::Read() {
  if (reading_ || failed_) return;
  if (lingering_) {
    in_begin_ = in_end_ = 0;
  } else {
    if (peer_eof_ || closing_) return;
    if (write_pending_ && out_.size() >= kMaxPendingOutput) return;  // resumes in OnWritten
    if (in_begin_ == in_end_) {
      in_begin_ = in_end_ = 0;
    } else if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    // Full of pipelined requests behind the one in service: resumes once it is answered.
    if (in_end_ == in_.size()) return;
  }
  reading_ = true;
  socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (lingering_) {
    if (ec) {
      Fail();
    } else {
      Read();
    }
    return;
  }
  if (ec == asio::error::eof) {
    // A half-closed peer may still wait for the answers to what it sent.
    peer_eof_ = true;
  } else if (ec) {
    Fail();
    return;
  }
  in_end_ += n;
  Process();
}

void Connection::Process() {
  while (!failed_) {
    if (body_left_ > 0) {
      uint64_t skip = std::min<uint64_t>(body_left_, in_end_ - in_begin_);
      in_begin_ += skip;
      body_left_ -= skip;
      if (body_left_ > 0) break;
    }
    if (in_service_ || closing_ || in_begin_ == in_end_) break;

    RequestHead head;
    ParseStatus status =
        ParseRequestHead(std::string_view(in_.data() + in_begin_, in_end_ - in_begin_), head);
    if (status == ParseStatus::kIncomplete) break;
    if (status != ParseStatus::kOk) {
      std::string_view reason = status == ParseStatus::kTooLarge
                                    ? "431 Request Header Fields Too Large"
                                : status == ParseStatus::kLengthRequired ? "411 Length Required"
                                                                         : "400 Bad Request";
      closing_ = true;
      AppendResponse(reason, kTextPlain, "bad request\n", {false, false, false});
      break;
    }
    in_begin_ += head.head_size;
    body_left_ = head.content_length;
    if (!head.keep_alive) closing_ = true;
    Shape shape{head.keep_alive, head.version_minor == 0, head.method == "HEAD"};

    if (head.path == "/__stats") {
      AppendResponse("200 OK", "application/json", instance_.StatsJson(), shape);
      continue;
    }
    if (instance_.service_time().count() == 0) {
      AppendResponse("200 OK", kTextPlain, kOkBody, shape);
      ++out_served_;
      continue;
    }
    service_shape_ = shape;
    in_service_ = true;
    auto admission = instance_.Submit(shared_from_this(), std::chrono::steady_clock::now());
    if (admission == Instance::Admission::kRejected) {
      in_service_ = false;
      AppendResponse("503 Service Unavailable", kTextPlain, "queue full\n", shape);
    }
  }
  Flush();
  Read();
  MaybeClose();
}

void Connection::BeginService(std::chrono::steady_clock::time_point start,
                              std::chrono::nanoseconds service_time) {
  timer_.expires_at(start + service_time);
  // Never cancelled while in service: the worker is only released here.
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code&) { self->FinishService(); });
}

void Connection::FinishService() {
  in_service_ = false;
  instance_.Release(timer_.expiry());
  if (failed_) return;
  AppendResponse("200 OK", kTextPlain, kOkBody, service_shape_);
  ++out_served_;
  Process();
}

void Connection::Flush() {
  if (write_pending_ || out_.empty() || failed_) return;
  boost::system::error_code ec;
  size_t n = socket_.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
  } else if (ec) {
    Fail();
    return;
  }
  if (n == out_.size()) {
    out_.clear();
    instance_.AddServed(out_served_);
    out_served_ = 0;
    return;
  }
  // The kernel buffer is full: hand the rest to an async write and keep the buffers' capacity.
  writing_.swap(out_);
  out_.clear();
  writing_served_ = out_served_;
  out_served_ = 0;
  write_pending_ = true;
  asio::async_write(socket_, asio::buffer(writing_.data() + n, writing_.size() - n),
                    [self = shared_from_this()](const boost::system::error_code& write_ec, size_t) {
                      self->OnWritten(write_ec);
                    });
}

void Connection::OnWritten(const boost::system::error_code& ec) {
  write_pending_ = false;
  if (ec) {
    Fail();
    return;
  }
  instance_.AddServed(writing_served_);
  writing_served_ = 0;
  writing_.clear();
  Process();
}

void Connection::MaybeClose() {
  if (failed_ || lingering_ || in_service_ || write_pending_ || !out_.empty()) return;
  if (!closing_ && !peer_eof_) return;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (peer_eof_ || ec) {
    Fail();
    return;
  }
  lingering_ = true;
  timer_.expires_after(kLingerTime);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
    if (!wait_ec) self->Fail();
  });
  Read();
}

void Connection::Fail() {
  failed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (lingering_) timer_.cancel();
}

void Connection::AppendResponse(std::string_view status, std::string_view content_type,
                                std::string_view body, Shape shape) {
  char length[24];
  auto [end, ec] = std::to_chars(length, length + sizeof(length), body.size());
  out_.append("HTTP/1.1 ").append(status);
  out_.append("\r\nContent-Type: ").append(content_type);
  out_.append("\r\nContent-Length: ").append(length, end);
  if (!shape.keep_alive) {
    out_.append("\r\nConnection: close");
  } else if (shape.http10) {
    out_.append("\r\nConnection: keep-alive");
  }
  out_.append("\r\n\r\n");
  if (!shape.head_only) out_.append(body);
}

}  // namespace horde::target
