// One instance of the sample target: a listening port, a pool of W workers and the FIFO queue of
// requests waiting for one, plus the connections it accepted. An instance and all its
// connections are owned by one io_context thread, so its state needs no lock; only the counters
// /__stats and served() read from other threads are atomics. A request holds a worker for the
// service time through a timer; with service time 0 it is answered at once without a worker.
//
// Contention, the lock and crosstalk (see scaling_model.h) enter at the two places a request
// starts service, Submit and Release: the instance asks the ScalingModel shared by all instances
// when a request starting now is answered, and tells it when the instance turns busy or idle.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "target/scaling_model.h"

namespace horde::target {

// Beyond this many waiting requests an instance answers 503 instead of queueing.
inline constexpr size_t kMaxQueued = 100000;

class Connection;

class Instance {
 public:
  // The model is shared with the other instances and must outlive this one.
  Instance(boost::asio::io_context& io, uint32_t index, uint32_t workers, ScalingModel& model);
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Binds and listens; returns the bound port or an error naming the address.
  Result<uint16_t> Listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Starts the accept loop; call before the owning thread runs, or on it.
  void StartAccepting();
  // Closes the listener and drops waiting requests; call with the owning thread stopped.
  void Shutdown();

  // All instances of the server, for /__stats; set once before serving.
  void set_peers(const std::vector<std::unique_ptr<Instance>>* peers) { peers_ = peers; }

  // Worker pool, called on the owning thread. Submit either starts the service at once
  // (the connection's BeginService runs before it returns), queues it, or refuses (full queue).
  enum class Admission { kStarted, kQueued, kRejected };
  Admission Submit(const std::shared_ptr<Connection>& connection,
                   std::chrono::steady_clock::time_point now);
  // A worker finished the request it held until finished_at (its timer's deadline): hand it to
  // the oldest waiting connection that is still open. The next service starts at that deadline,
  // not when the late timer ran, so timer lateness does not eat into the stated capacity.
  void Release(std::chrono::steady_clock::time_point finished_at);

  // Adds requests whose response was fully written.
  void AddServed(uint64_t n) { served_.fetch_add(n, std::memory_order_relaxed); }
  // The /__stats body for all peers.
  std::string StatsJson() const;

  uint32_t index() const { return index_; }
  uint16_t port() const { return port_; }
  // The base service time; a request may hold its worker longer (contention, lock, crosstalk).
  std::chrono::microseconds service_time() const { return model_.service_time(); }
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }
  uint32_t busy() const { return busy_.load(std::memory_order_relaxed); }
  uint32_t queued() const { return queued_.load(std::memory_order_relaxed); }
  uint32_t workers() const { return workers_; }
  // How long the request that started service last holds its worker (waits included), 0 before
  // any.
  std::chrono::nanoseconds last_service_time() const {
    return std::chrono::nanoseconds(last_service_time_.load(std::memory_order_relaxed));
  }

 private:
  void Accept();
  // Starts the service of a connection's request at start, for the time the model gives now.
  void BeginService(Connection& connection, std::chrono::steady_clock::time_point start);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  const uint32_t index_;
  const uint32_t workers_;
  ScalingModel& model_;
  uint16_t port_ = 0;
  const std::vector<std::unique_ptr<Instance>>* peers_ = nullptr;

  struct Waiting {
    std::shared_ptr<Connection> connection;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Waiting> waiting_;  // FIFO; at most one entry per connection
  // Written only by the owning thread; atomics so /__stats on another instance reads them.
  std::atomic<uint64_t> served_{0};
  std::atomic<uint32_t> busy_{0};
  std::atomic<uint32_t> queued_{0};
  std::atomic<int64_t> last_service_time_{0};  // nanoseconds
};

}  // namespace horde::target
