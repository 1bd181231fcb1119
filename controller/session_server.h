// The controller's gRPC side: one bidirectional Session stream per agent, on
// gRPC's callback (reactor) API. Reactors do no run logic: every message that
// arrives becomes a SessionEvent on one EventQueue, consumed by the single
// thread that owns the run (controller.cc). Messages to agents go out through
// send(), which queues writes per stream so at most one is in flight.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/event_queue.h"
#include "common/result.h"
#include "common/security.h"
#include "horde/v1/session.grpc.pb.h"

namespace horde {

struct SessionEvent {
  enum class Kind { kMessage, kClosed };
  Kind kind = Kind::kMessage;
  uint64_t session = 0;  // stream id, unique for the server's lifetime
  v1::AgentMessage message;
  int64_t received_unix_ns = 0;
  std::string peer;
};

class SessionServer {
 public:
  struct Options {
    std::string listen = "0.0.0.0:7400";
    size_t max_message_bytes = 4 << 20;
    Security security;  // token (empty: none required) and TLS files
  };

  explicit SessionServer(EventQueue<SessionEvent>* events);
  ~SessionServer();

  // Binds and starts serving; returns the bound port (useful with port 0).
  Result<int> start(const Options& options);
  // Queues a message on one stream; false if that stream is gone.
  bool send(uint64_t session, const v1::ControllerMessage& message);
  // Ends one stream with a status after its queued messages are written.
  void finish(uint64_t session, const grpc::Status& status);
  void finish_all();
  // Stops the server; waits briefly for streams to end.
  void shutdown();

  class Reactor;  // defined in the .cc; public so the service can create it

 private:
  class Service;
  friend class Reactor;
  void forget(uint64_t session);

  EventQueue<SessionEvent>* events_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::map<uint64_t, Reactor*> sessions_;
  uint64_t next_session_ = 1;
  std::string token_;
};

int64_t unix_now_ns();

}  // namespace horde
