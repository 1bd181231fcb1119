#include "target/instance.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "target/connection.h"

namespace horde::target {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

double ToMicros(std::chrono::nanoseconds t) { return static_cast<double>(t.count()) / 1000.0; }

}  // namespace

Instance::Instance(asio::io_context& io, uint32_t index, uint32_t workers, ScalingModel& model)
    : acceptor_(io), accept_retry_(io), index_(index), workers_(workers), model_(model) {}

Result<uint16_t> Instance::Listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    std::string address =
        endpoint.address().is_v6()
            ? fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port())
            : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Error{
        fmt::format("target instance {}: cannot {} {}: {}", index_, what, address, ec.message())};
  };
  if (acceptor_.open(endpoint.protocol(), ec)) return fail("open a socket for");
  // Lets a restarted target rebind at once over TIME_WAIT; a live listener still conflicts.
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("configure");
  if (acceptor_.bind(endpoint, ec)) return fail("bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return fail("read the port of");
  return port_;
}

void Instance::StartAccepting() { Accept(); }

void Instance::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors and the like: back off briefly rather than spin.
      accept_retry_.expires_after(std::chrono::milliseconds(10));
      accept_retry_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    std::make_shared<Connection>(std::move(socket), *this)->Start();
    Accept();
  });
}

void Instance::Shutdown() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  waiting_.clear();
}

Instance::Admission Instance::Submit(const std::shared_ptr<Connection>& connection,
                                     std::chrono::steady_clock::time_point now) {
  uint32_t busy = busy_.load(std::memory_order_relaxed);
  if (busy < workers_) {
    busy_.store(busy + 1, std::memory_order_relaxed);
    // Counted before the service time is read, so a request sees its own instance as active.
    if (busy == 0) model_.InstanceBusy();
    BeginService(*connection, now);
    return Admission::kStarted;
  }
  if (waiting_.size() >= kMaxQueued) return Admission::kRejected;
  waiting_.push_back({connection, now});
  queued_.store(static_cast<uint32_t>(waiting_.size()), std::memory_order_relaxed);
  return Admission::kQueued;
}

void Instance::Release(std::chrono::steady_clock::time_point finished_at) {
  // The worker passes straight to the next open connection, so busy only drops when none waits.
  while (!waiting_.empty()) {
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    queued_.store(static_cast<uint32_t>(waiting_.size()), std::memory_order_relaxed);
    if (!next.connection->failed()) {
      BeginService(*next.connection, std::max(finished_at, next.since));
      return;
    }
  }
  uint32_t busy = busy_.load(std::memory_order_relaxed) - 1;
  busy_.store(busy, std::memory_order_relaxed);
  if (busy == 0) model_.InstanceIdle();
}

void Instance::BeginService(Connection& connection, std::chrono::steady_clock::time_point start) {
  const std::chrono::nanoseconds service_time = model_.Serve(start) - start;
  last_service_time_.store(service_time.count(), std::memory_order_relaxed);
  connection.BeginService(start, service_time);
}

std::string Instance::StatsJson() const {
  nlohmann::json instances = nlohmann::json::array();
  uint64_t total = 0;
  for (const auto& peer : *peers_) {
    uint64_t served = peer->served();
    total += served;
    instances.push_back({{"instance", peer->index()},
                         {"port", peer->port()},
                         {"served", served},
                         {"workers", peer->workers()},
                         {"busy", peer->busy()},
                         {"queued", peer->queued()},
                         {"last_service_time_us", ToMicros(peer->last_service_time())}});
  }
  nlohmann::json stats = {{"served", total},
                          {"service_time_us", model_.service_time().count()},
                          {"contention", model_.contention()},
                          {"crosstalk", model_.crosstalk()},
                          {"lock", model_.lock()},
                          {"active_instances", model_.active()},
                          {"instances", std::move(instances)}};
  return stats.dump() + "\n";
}

}  // namespace horde::target
