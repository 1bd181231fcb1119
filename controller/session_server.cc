#include "controller/session_server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>

namespace horde {

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One agent's stream. Lifetime is gRPC's: it deletes itself in OnDone, after
// telling the server to forget it, so send() never touches a dead reactor.
class SessionServer::Reactor
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  Reactor(SessionServer* server, uint64_t id, std::string peer)
      : server_(server), id_(id), peer_(std::move(peer)) {
    StartRead(&in_);
  }

  void send(const v1::ControllerMessage& m) {
    std::unique_lock lock(mu_);
    if (finishing_ || done_) return;
    out_.push_back(m);
    if (writing_) return;
    writing_ = true;
    const v1::ControllerMessage* next = &out_.front();
    lock.unlock();
    StartWrite(next);
  }

  void finish(grpc::Status status) {
    std::unique_lock lock(mu_);
    if (finishing_ || done_) return;
    finishing_ = true;
    status_ = std::move(status);
    if (writing_) return;  // OnWriteDone finishes once the queue is drained
    lock.unlock();
    Finish(status_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      push_closed();
      finish(grpc::Status::OK);
      return;
    }
    SessionEvent e;
    e.session = id_;
    e.received_unix_ns = unix_now_ns();
    e.message = std::move(in_);
    e.peer = peer_;
    server_->events_->push(std::move(e));
    in_.Clear();
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    out_.pop_front();
    if (!ok) out_.clear();
    if (!out_.empty()) {
      const v1::ControllerMessage* next = &out_.front();
      lock.unlock();
      StartWrite(next);
      return;
    }
    writing_ = false;
    if (finishing_) {
      lock.unlock();
      Finish(status_);
    }
  }

  void OnCancel() override { push_closed(); }

  void OnDone() override {
    push_closed();
    server_->forget(id_);
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    delete this;
  }

 private:
  void push_closed() {
    if (closed_sent_.exchange(true)) return;
    SessionEvent e;
    e.kind = SessionEvent::Kind::kClosed;
    e.session = id_;
    e.received_unix_ns = unix_now_ns();
    e.peer = peer_;
    server_->events_->push(std::move(e));
  }

  SessionServer* server_;
  const uint64_t id_;
  const std::string peer_;
  v1::AgentMessage in_;
  std::mutex mu_;
  std::deque<v1::ControllerMessage> out_;  // front is the write in flight
  bool writing_ = false;
  bool finishing_ = false;
  bool done_ = false;
  grpc::Status status_;
  std::atomic<bool> closed_sent_{false};
};

// Answers a session that may not talk to us: finished before anything is sent.
class RejectReactor : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  explicit RejectReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

class SessionServer::Service : public v1::Controller::CallbackService {
 public:
  explicit Service(SessionServer* server) : server_(server) {}

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Session(
      grpc::CallbackServerContext* context) override {
    if (!server_->token_.empty()) {
      const auto& md = context->client_metadata();
      auto it = md.find("authorization");
      const std::string presented =
          it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
      if (!token_matches(presented, server_->token_)) {
        spdlog::warn("session from {} rejected: {} token", context->peer(),
                     it == md.end() ? "no" : "wrong");
        return new RejectReactor(
            grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong token"));
      }
    }
    std::lock_guard lock(server_->mu_);
    const uint64_t id = server_->next_session_++;
    auto* reactor = new Reactor(server_, id, context->peer());
    server_->sessions_[id] = reactor;
    return reactor;
  }

 private:
  SessionServer* server_;
};

SessionServer::SessionServer(EventQueue<SessionEvent>* events) : events_(events) {}

SessionServer::~SessionServer() { shutdown(); }

Result<int> SessionServer::start(const Options& options) {
  service_ = std::make_unique<Service>(this);
  grpc::ServerBuilder builder;
  int port = 0;
  token_ = options.security.token;
  builder.AddListeningPort(options.listen, server_credentials(options.security), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return Error{"cannot listen on " + options.listen +
                 " (address in use or not valid; give --listen HOST:PORT)"};
  }
  return port;
}

bool SessionServer::send(uint64_t session, const v1::ControllerMessage& message) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return false;
  it->second->send(message);
  return true;
}

void SessionServer::finish(uint64_t session, const grpc::Status& status) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it != sessions_.end()) it->second->finish(status);
}

void SessionServer::finish_all() {
  std::lock_guard lock(mu_);
  for (auto& [id, reactor] : sessions_) reactor->finish(grpc::Status::OK);
}

void SessionServer::forget(uint64_t session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

void SessionServer::shutdown() {
  if (!server_) return;
  finish_all();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

}  // namespace horde
