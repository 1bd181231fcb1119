#include "agent/engine.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/interval_collector.h"
#include "agent/plan.h"
#include "agent/request_template.h"
#include "agent/thread_loop.h"
#include "common/load_validate.h"
#include "common/text.h"

namespace horde {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::duration_cast;

// The SSL context of an https target: verification against the slice's CAs
// (or the system's) and the host name, unless insecure_skip_verify.
// HTTP/2 and gRPC offer ALPN "h2" only: a server that does not pick it fails
// the connection (checked by the driver after the handshake).
std::shared_ptr<ssl::context> make_tls_context(const TlsSpec& tls, const std::string& name,
                                               bool h2) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_compression,
                   ec);
  if (h2) {
    static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx->native_handle(), kAlpnH2, sizeof kAlpnH2);
  }
  if (tls.insecure_skip_verify) {
    ctx->set_verify_mode(ssl::verify_none, ec);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (!tls.ca_pem.empty()) {
    // A bad bundle trusts nothing: every handshake then fails as a connect error.
    ctx->add_certificate_authority(asio::buffer(tls.ca_pem), ec);
  } else {
    ctx->set_default_verify_paths(ec);
  }
  ctx->set_verify_callback(ssl::host_name_verification(name), ec);
  return ctx;
}

// A target with its address book filled: a numeric address as it is, a name
// pinned by check_limits at its checked addresses, any other name resolved now
// (and added to `refresh` unless resolve: first). A name that does not resolve
// leaves the book empty: every connect counts as a connect error until a
// refresh finds it.
Target make_target(const Url& url, const std::vector<RequestSpec>& requests,
                   const WorkloadSlice& slice, const EngineOptions& options,
                   const TemplateData* templates, std::vector<AddressRefresher::Name>* refresh) {
  const TlsSpec& tls = slice.tls;
  Target target{std::make_shared<AddressBook>(),
                RequestTable(url, requests, templates, slice.protocol),
                nullptr,
                {},
                {}};
  const bool https = url_uses_tls(url);
  const uint16_t port = url.port != 0 ? url.port : default_port(url.scheme);
  target.name = url.host + ":" + std::to_string(port);
  std::string host = url.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (https) {
    const std::string name = tls.server_name.empty() ? host : tls.server_name;
    target.tls = make_tls_context(tls, name, slice.protocol != Protocol::kHttp1);
    // SNI carries names only (RFC 6066), never an IP address.
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) target.sni = name;
  }
  const bool first_only = slice.spread.resolve_first;
  if (const auto literal = IpAddress::parse(host)) {
    target.addresses->set(to_endpoints({*literal}, port, first_only));
  } else if (const auto at = options.pinned_addresses.find(url.host);
             at != options.pinned_addresses.end()) {
    target.addresses->set(to_endpoints(at->second, port, first_only));
  } else {
    if (auto addresses = options.resolve(host)) {
      target.addresses->set(to_endpoints(*addresses, port, first_only));
    }
    if (!first_only) refresh->push_back({host, port, target.addresses.get()});
  }
  return target;
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  IntervalFn on_interval;
  std::mutex mu;
  std::condition_variable stopped_cv;
  bool stopped = false;
  std::vector<std::unique_ptr<ThreadLoop>> workers;
  // The last rebalance, for threads that start after it came (guarded by mu).
  std::optional<std::tuple<double, uint32_t, std::chrono::system_clock::time_point>> rebalance;

  void apply_rebalance(ThreadLoop& w) {
    const auto& [factor, connections, from] = *rebalance;
    const auto at =
        Clock::now() + duration_cast<Clock::duration>(from - std::chrono::system_clock::now());
    w.rebalance(factor, connections, at);
  }

  // No connections on this agent: still report every interval, empty, on time.
  void run_idle(const Plan& plan, IntervalCollector& collector) {
    std::unique_lock lock(mu);
    for (uint32_t i = 0; i < plan.intervals; ++i) {
      const TimePoint until = std::min(plan.boundary(i), plan.end);
      const bool stop_now = stopped_cv.wait_until(lock, until, [&] { return stopped; });
      lock.unlock();
      collector.deliver(i, Counters{}, Histogram{});
      lock.lock();
      if (stop_now) break;
    }
  }
};

Engine::Engine(EngineOptions options, IntervalFn on_interval) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->on_interval = std::move(on_interval);
}

Engine::~Engine() = default;

void Engine::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopped = true;
  for (auto& w : impl_->workers) w->request_stop();
  impl_->stopped_cv.notify_all();
}

void Engine::rebalance(double rate_factor, uint32_t connections,
                       std::chrono::system_clock::time_point from) {
  std::lock_guard lock(impl_->mu);
  impl_->rebalance.emplace(rate_factor, connections, from);
  for (auto& w : impl_->workers) impl_->apply_rebalance(*w);
}

Counters Engine::run() {
  const EngineOptions& options = impl_->options;
  const WorkloadSlice& slice = options.slice;
  const LoadSpec& load = slice.load;

  Plan plan;
  plan.protocol = slice.protocol;
  plan.streams_per_connection =
      slice.protocol == Protocol::kHttp1 ? 1 : std::max<uint32_t>(load.streams_per_connection, 1);
  plan.mode = load.mode;
  plan.arrival = load.arrival;
  plan.rate_limit = options.rate_limit;
  const auto until_start = options.start - std::chrono::system_clock::now();
  plan.start = Clock::now() + duration_cast<Clock::duration>(until_start);
  const Clock::duration length = load.warmup + load.duration;
  plan.end = plan.start + length;
  if (options.skip_before > options.start) {
    plan.skip_before =
        plan.start + duration_cast<Clock::duration>(options.skip_before - options.start);
  }
  plan.interval = load.interval.count() > 0 ? Clock::duration(load.interval) : length;
  plan.intervals =
      plan.interval.count() > 0
          ? static_cast<uint32_t>((length + plan.interval - Clock::duration(1)) / plan.interval)
          : 0;
  plan.connect_timeout = load.connect_timeout;
  plan.backend_header = text::lower(slice.spread.backend_header);
  for (const RequestSpec& r : slice.requests) {
    plan.names = std::max<uint32_t>(plan.names, uint32_t{r.name_index} + 1);
  }
  plan.request_timeout = load.request_timeout;
  plan.keep_alive = load.keep_alive;
  plan.max_requests = load.keep_alive ? load.connection_max_requests : 1;
  plan.max_age = load.connection_max_age;
  if (load.mode == LoadMode::kOpen) {
    // Stages start at the phase start (they allow no warm-up); else one constant segment.
    plan.rate = load.stages.empty()
                    ? Ramp::constant(load.rate, std::chrono::duration<double>(length).count())
                    : Ramp::rate_stages(load.stages, 1.0);
  } else if (!load.stages.empty()) {
    plan.connections = Ramp::connection_stages(load.stages);
  }

  std::vector<RequestSpec> requests = slice.requests;
  if (requests.empty()) requests.push_back(RequestSpec{});
  if (!load.keep_alive) {
    // HTTP/1.1 says so to the server (HTTP/2 drops connection headers: the
    // connection is closed after its one stream).
    for (RequestSpec& r : requests) {
      const bool has = std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
        return text::lower(h.first) == "connection";
      });
      if (!has) r.headers.emplace_back("Connection", "close");
    }
  }
  // Names are resolved at every phase start (a scale step's new instances are
  // seen) and again every dns_refresh while it runs.
  std::vector<AddressRefresher::Name> refresh;
  // Templates: compiled per target (a gRPC message's in protobuf syntax).
  plan.templates = std::make_shared<TemplateData>(slice);
  for (const Url& url : slice.targets) {
    plan.targets.push_back(
        make_target(url, requests, slice, options, plan.templates.get(), &refresh));
  }
  AddressRefresher refresher(std::move(refresh), options.resolve, slice.spread.dns_refresh);

  // Connections split as evenly as possible; connection j aims at target j % targets.
  // Closed loop: each thread runs its connections and nothing more. Open loop:
  // the pool's bound is split over the threads, each takes the rate in
  // proportion to its part of the bound, and connections opened in advance
  // (load.connections, often none) go round the same threads.
  const bool open = load.mode == LoadMode::kOpen;
  const uint32_t total = plan.targets.empty() ? 0 : load.connections;
  const uint32_t bound = plan.targets.empty() ? 0 : open ? open_pool_bound(load) : total;
  const unsigned threads = std::max(1u, std::min<unsigned>(options.threads, std::max(bound, 1u)));
  plan.threads = threads;
  std::vector<std::vector<const Target*>> per_thread(threads);
  for (uint32_t j = 0; j < total; ++j) {
    per_thread[j % threads].push_back(&plan.targets[j % plan.targets.size()]);
  }
  std::vector<uint32_t> max_per_thread(threads, 0);
  for (uint32_t j = 0; j < bound; ++j) ++max_per_thread[j % threads];
  unsigned running = 0;
  for (unsigned i = 0; i < threads; ++i) running += max_per_thread[i] > 0 ? 1 : 0;

  IntervalCollector collector(options.phase, running, impl_->on_interval);
  if (running == 0) {
    impl_->run_idle(plan, collector);
    return collector.total();
  }

  std::random_device seed_source;
  const uint64_t schedule_seed = options.seed != 0
                                     ? options.seed
                                     : (static_cast<uint64_t>(seed_source()) << 32) ^ seed_source();
  {
    std::lock_guard lock(impl_->mu);
    // Thread i's first connection in the run-wide numbering: the agent's first
    // (slice.first_connection) plus the threads' before it, so the initial
    // connections of every agent and thread take consecutive addresses.
    uint64_t address_start = slice.first_connection;
    for (unsigned i = 0; i < threads; ++i) {
      if (max_per_thread[i] == 0) continue;
      const auto& conns = per_thread[i];
      ThreadShare share;
      share.index = i;
      share.rate_share = static_cast<double>(max_per_thread[i]) / bound;
      share.address_start = address_start;
      address_start += open ? max_per_thread[i] : conns.size();
      share.max_connections = max_per_thread[i];
      share.seed = (static_cast<uint64_t>(seed_source()) << 32) ^ seed_source();
      share.schedule_seed = schedule_seed + i;
      impl_->workers.push_back(make_thread_loop(plan, conns, share, collector));
      if (impl_->stopped) impl_->workers.back()->request_stop();
      if (impl_->rebalance) impl_->apply_rebalance(*impl_->workers.back());
    }
  }
  std::vector<std::thread> pool;
  for (size_t i = 1; i < impl_->workers.size(); ++i) {
    pool.emplace_back([w = impl_->workers[i].get()] { w->run(); });
  }
  impl_->workers[0]->run();  // the calling thread is one of the engine threads
  for (auto& t : pool) t.join();
  {
    // The workers' io_contexts go away with them; a late stop() finds none.
    std::lock_guard lock(impl_->mu);
    impl_->workers.clear();
  }
  return collector.total();
}

}  // namespace horde
