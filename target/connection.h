// One accepted HTTP/1.x connection of a target instance. It reads into a fixed buffer, parses
// pipelined request heads in place, discards bodies, and answers strictly in order: at most one
// request of a connection is in service (holding or waiting for a worker) at a time, later
// pipelined requests wait in the buffer. Responses are appended to an output buffer and written
// with one non-blocking send when possible, so the per-request path allocates nothing. A
// response counts as served once all its bytes were handed to the kernel.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace horde::target {

class Instance;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, Instance& instance);
  void Start();
  // A worker was granted: hold it for service_time counted from start.
  void BeginService(std::chrono::steady_clock::time_point start,
                    std::chrono::nanoseconds service_time);
  // A read or write failed: nothing more will be answered here.
  bool failed() const { return failed_; }

 private:
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  // Answers every complete buffered request it can, then writes, reads more or closes.
  void Process();
  void FinishService();
  void Flush();
  void OnWritten(const boost::system::error_code& ec);
  void MaybeClose();
  void Fail();
  // How a response is framed: keep-alive or close, 1.0 needs keep-alive said, HEAD has no body.
  struct Shape {
    bool keep_alive;
    bool http10;
    bool head_only;
  };
  void AppendResponse(std::string_view status, std::string_view content_type, std::string_view body,
                      Shape shape);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;  // service time, then the lingering close
  Instance& instance_;

  std::array<char, 16384> in_;
  size_t in_begin_ = 0;  // first unparsed byte
  size_t in_end_ = 0;
  uint64_t body_left_ = 0;  // request body bytes still to discard

  std::string out_;              // responses not yet handed to a write
  std::string writing_;          // bytes of the write in flight
  uint64_t out_served_ = 0;      // served responses in out_
  uint64_t writing_served_ = 0;  // served responses in writing_

  // The request in service is answered with these once its worker is done.
  Shape service_shape_{true, false, false};

  bool reading_ = false;
  bool write_pending_ = false;
  bool in_service_ = false;
  bool closing_ = false;   // the last request asked to close (or was bad): parse no more
  bool peer_eof_ = false;  // the peer half-closed: answer what is buffered, then close
  bool failed_ = false;
  bool lingering_ = false;  // our side is shut down; draining the peer's bytes until it closes
};

}  // namespace horde::target
