#include "target/target.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "target/instance.h"

namespace horde {

namespace asio = boost::asio;
using asio::ip::tcp;
using target::Instance;
using target::ScalingModel;

namespace {

Result<asio::ip::address> ResolveHost(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return address;
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, "", ec);
  if (ec || results.empty()) {
    return Error{fmt::format("target: cannot resolve listen host '{}': {}", host,
                             ec ? ec.message() : "no address")};
  }
  return results.begin()->endpoint().address();
}

}  // namespace

Result<TargetOptions> ValidateTargetOptions(const TargetOptions& options) {
  if (options.host.empty()) return Error{"target: --listen needs a host, e.g. 127.0.0.1:8080"};
  if (options.instances < 1) return Error{"target: --instances must be at least 1"};
  if (options.workers < 1) return Error{"target: --workers must be at least 1"};
  if (options.threads < 1) return Error{"target: --threads must be at least 1"};
  if (options.service_time.count() < 0) {
    return Error{"target: --service-time must be 0 or more"};
  }
  // Written as negations so that NaN fails too.
  if (!(options.contention >= 0 && options.contention < 1)) {
    return Error{fmt::format("target: --contention must be in [0, 1), got {}", options.contention)};
  }
  if (!(options.crosstalk >= 0 && options.crosstalk <= 1)) {
    return Error{fmt::format("target: --crosstalk must be in [0, 1], got {}", options.crosstalk)};
  }
  if (!(options.lock >= 0 && options.lock <= 1)) {
    return Error{fmt::format("target: --lock must be in [0, 1], got {}", options.lock)};
  }
  if (options.port != 0 && uint64_t{options.port} + options.instances - 1 > 65535) {
    return Error{fmt::format(
        "target: {} instances from port {} run past port 65535; lower --instances or the port",
        options.instances, options.port)};
  }
  return options;
}

// Instances are spread round-robin over one io_context per thread; each instance and its
// connections live on one thread, so no strand or lock is needed (threads beyond the number of
// instances would have nothing to own and are not started). The one thing the instances share is
// the ScalingModel: its count of busy instances, an atomic changed only when an instance turns
// busy or idle, and the lock and channel free times under its mutex.
struct TargetServer::Impl {
  explicit Impl(TargetOptions o) : options(std::move(o)) {}

  TargetOptions options;
  mutable std::mutex mutex;  // guards the lifecycle against served() from other threads
  bool started = false;
  bool stopped = false;
  std::unique_ptr<ScalingModel> model;  // shared by the instances; outlives them
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::unique_ptr<Instance>> instances;
  std::vector<std::thread> threads;
  std::vector<uint64_t> final_served;

  // Must run with the threads joined: acceptors go before their io_context, and destroying a
  // context destroys the handlers that own the connections, which closes them.
  void TearDown() {
    final_served.clear();
    for (const auto& instance : instances) {
      final_served.push_back(instance->served());
      instance->Shutdown();
    }
    instances.clear();
    guards.clear();
    contexts.clear();
  }
};

TargetServer::TargetServer(TargetOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

TargetServer::~TargetServer() { stop(); }

Result<std::vector<uint16_t>> TargetServer::start() {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  if (s.started) return Error{"target: start() called twice"};
  s.started = true;
  auto valid = ValidateTargetOptions(s.options);
  if (!valid) return valid.error();
  auto address = ResolveHost(s.options.host);
  if (!address) return address.error();

  const TargetOptions& o = s.options;
  s.model = std::make_unique<ScalingModel>(o.service_time, o.contention, o.crosstalk, o.lock);
  unsigned thread_count = std::min<unsigned>(o.threads, o.instances);
  for (unsigned t = 0; t < thread_count; ++t) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio skips its locks.
    s.contexts.push_back(std::make_unique<asio::io_context>(1));
  }
  std::vector<uint16_t> ports;
  for (uint32_t i = 0; i < o.instances; ++i) {
    auto& io = *s.contexts[i % thread_count];
    s.instances.push_back(std::make_unique<Instance>(io, i, o.workers, *s.model));
    uint16_t port = o.port == 0 ? 0 : static_cast<uint16_t>(o.port + i);
    auto bound = s.instances.back()->Listen(tcp::endpoint(*address, port));
    if (!bound) {
      s.TearDown();
      s.stopped = true;
      return bound.error();
    }
    ports.push_back(*bound);
  }
  for (auto& instance : s.instances) {
    instance->set_peers(&s.instances);
    instance->StartAccepting();
  }
  for (auto& io : s.contexts) {
    s.guards.push_back(asio::make_work_guard(*io));
    s.threads.emplace_back([context = io.get()] { context->run(); });
  }
  return ports;
}

void TargetServer::stop() {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  for (auto& io : s.contexts) io->stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
  s.TearDown();
}

std::vector<uint64_t> TargetServer::served() const {
  std::lock_guard lock(impl_->mutex);
  const Impl& s = *impl_;
  if (s.stopped) return s.final_served;
  if (!s.started) return std::vector<uint64_t>(s.options.instances, 0);
  std::vector<uint64_t> counts;
  for (const auto& instance : s.instances) counts.push_back(instance->served());
  return counts;
}

int run_target(const TargetOptions& options) {
  auto valid = ValidateTargetOptions(options);
  if (!valid) {
    std::fprintf(stderr, "%s\n", valid.error().message.c_str());
    return 2;
  }
  // The signal set exists before the server starts, so a signal during start-up is not lost
  // and never takes the default (abrupt) action.
  asio::io_context signals_io(1);
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (!ec) received = signal_number;
  });

  TargetServer server(options);
  auto ports = server.start();
  if (!ports) {
    std::fprintf(stderr, "%s\n", ports.error().message.c_str());
    return 1;
  }
  for (size_t i = 0; i < ports->size(); ++i) {
    std::string host =
        options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    std::printf("horde target: instance %zu listening on http://%s:%u/\n", i, host.c_str(),
                unsigned{(*ports)[i]});
  }
  std::fflush(stdout);
  // The capacity when every instance is loaded, bounded by the lock and the channel.
  const ScalingModel model(options.service_time, options.contention, options.crosstalk);
  const double loaded_service_s =
      static_cast<double>(model.ServiceTimeAt(options.instances).count()) / 1e9;
  const double service_s = static_cast<double>(options.service_time.count()) / 1e6;
  double capacity = options.instances * options.workers / loaded_service_s;
  if (options.lock > 0) capacity = std::min(capacity, 1 / (options.lock * service_s));
  if (options.crosstalk > 0 && options.instances > 1) {
    capacity = std::min(capacity, 1 / (options.crosstalk * service_s * (options.instances - 1)));
  }
  spdlog::info(
      "target: {} instance(s) x {} worker(s), service time {} us, contention {}, lock {}, "
      "crosstalk {}, capacity at most {} req/s",
      options.instances, options.workers, options.service_time.count(), options.contention,
      options.lock, options.crosstalk,
      options.service_time.count() == 0 ? std::string("unbounded")
                                        : fmt::format("{:.0f}", capacity));

  signals_io.run();
  spdlog::info("target: received signal {}, stopping", received);
  server.stop();
  std::vector<uint64_t> served = server.served();
  uint64_t total = 0;
  for (size_t i = 0; i < served.size(); ++i) {
    spdlog::info("target: instance {} served {}", i, served[i]);
    total += served[i];
  }
  spdlog::info("target: served {} in total", total);
  return 0;
}

}  // namespace horde
