#include "agent/engine.h"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/interval_collector.h"
#include "agent/request_table.h"
#include "agent/response_parser.h"

namespace horde {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::nanoseconds;
using namespace std::chrono_literals;

constexpr size_t kReceiveBufferSize = 16 * 1024;
constexpr auto kSweepPeriod = 50ms;  // timeouts and reconnect backoff are checked this often
constexpr auto kLateAfter = 1ms;
constexpr auto kBackoffFirst = 100ms;
constexpr auto kBackoffMax = 1000ms;
constexpr size_t kStatusSlots = 1000;  // http-parser accepts 3-digit status codes only

// Everything the threads share, fixed before they start and read-only afterwards.
struct Target {
  bool resolved = false;
  tcp::endpoint endpoint;
  RequestTable requests;
};

struct Plan {
  LoadMode mode = LoadMode::kClosed;
  TimePoint start;
  TimePoint end;
  Clock::duration interval{};
  uint32_t intervals = 0;
  Clock::duration connect_timeout{};
  Clock::duration request_timeout{};
  std::vector<Target> targets;
  TimePoint boundary(uint32_t i) const { return start + interval * (i + 1); }
};

// One thread's measurements since its last interval boundary, in plain fields.
struct ThreadStats {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::array<uint64_t, kErrorClassCount> errors_by_class{};
  std::array<uint64_t, kStatusSlots> status{};
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t late = 0;
  int64_t max_schedule_lag_us = 0;
  uint64_t connections_opened = 0;
  Histogram latency;

  Counters to_counters() const {
    Counters c;
    c.requests = requests;
    c.errors = errors;
    c.errors_by_class = errors_by_class;
    for (size_t code = 0; code < kStatusSlots; ++code) {
      if (status[code] != 0) c.status_codes[static_cast<uint32_t>(code)] = status[code];
    }
    c.bytes_sent = bytes_sent;
    c.bytes_received = bytes_received;
    c.late = late;
    c.max_schedule_lag_us = max_schedule_lag_us;
    c.connections_opened = connections_opened;
    return c;
  }
  void reset() {
    Histogram keep = std::move(latency);
    *this = ThreadStats{};
    keep.reset();
    latency = std::move(keep);  // keeps the bucket storage: no reallocation per interval
  }
};

enum class ConnState : uint8_t { kBackoff, kConnecting, kIdle, kBusy };

struct Connection {
  explicit Connection(asio::io_context& io, const Target* t) : socket(io), target(t) {}
  tcp::socket socket;
  const Target* target;
  ResponseParser parser;
  ConnState state = ConnState::kBackoff;
  bool in_idle_list = false;
  bool writing = false;  // the rest of a request is being written asynchronously
  // Bumped whenever the socket closes, so completions of the old socket are ignored.
  uint32_t generation = 0;
  TimePoint since;   // connect start, request send time, or when to retry after backoff
  TimePoint origin;  // latency origin: send time (closed loop) or intended time (open loop)
  Clock::duration backoff{};
  std::array<char, kReceiveBufferSize> buffer;
};

// Open loop: intended send times waiting for a free connection. Pre-allocated
// ring; when full the oldest is dropped (and counted late) instead of growing.
class DueQueue {
 public:
  explicit DueQueue(size_t capacity) : ring_(std::max<size_t>(capacity, 1)) {}
  bool empty() const { return size_ == 0; }
  // False when the oldest entry had to be dropped to make room.
  bool push(TimePoint t) {
    bool dropped = false;
    if (size_ == ring_.size()) {
      pop();
      dropped = true;
    }
    ring_[(head_ + size_) % ring_.size()] = t;
    ++size_;
    return !dropped;
  }
  TimePoint pop() {
    TimePoint t = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return t;
  }

 private:
  std::vector<TimePoint> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
};

class Worker {
 public:
  Worker(const Plan& plan, std::vector<const Target*> targets, double rate,
         IntervalCollector& collector, uint64_t seed)
      : plan_(plan),
        io_(1),
        collector_(collector),
        rng_(seed),
        sweep_timer_(io_),
        interval_timer_(io_),
        end_timer_(io_),
        send_timer_(io_),
        due_(static_cast<size_t>(std::clamp(rate * 2, 1024.0, 1048576.0))) {
    connections_.reserve(targets.size());
    for (const Target* t : targets) connections_.push_back(std::make_unique<Connection>(io_, t));
    idle_.reserve(connections_.size());
    if (rate > 0) period_ns_ = 1e9 / rate;
    next_boundary_ = plan_.boundary(0);
  }

  void run() {
    asio::post(io_, [this] { begin(); });
    io_.run();
  }
  // From any thread.
  void request_stop() {
    asio::post(io_, [this] { finish(/*natural_end=*/false); });
  }

 private:
  void begin() {
    if (finished_) return;
    const TimePoint now = Clock::now();
    // Connections open before the start so they are ready when it comes.
    for (auto& c : connections_) connect(c.get(), now);
    arm_sweep();
    arm_interval();
    end_timer_.expires_at(plan_.end);
    end_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) finish(/*natural_end=*/true);
    });
    send_timer_.expires_at(plan_.start);
    send_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (plan_.mode == LoadMode::kClosed) {
        const TimePoint now = Clock::now();
        while (Connection* c = pop_idle()) send(c, now, now);
      } else {
        send_due();
      }
    });
  }

  // ---- connection life cycle ----

  void connect(Connection* c, TimePoint now) {
    if (!c->target->resolved) {
      connect_failed(c, now);
      return;
    }
    c->state = ConnState::kConnecting;
    c->since = now;
    const uint32_t gen = c->generation;
    c->socket.async_connect(c->target->endpoint, [this, c, gen](boost::system::error_code ec) {
      if (gen != c->generation) return;
      on_connect(c, ec);
    });
  }

  void on_connect(Connection* c, boost::system::error_code ec) {
    const TimePoint now = Clock::now();
    if (ec) {
      connect_failed(c, now);
      return;
    }
    boost::system::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    c->socket.non_blocking(true, ignored);
    c->parser.reset();
    c->backoff = {};
    ++stats_.connections_opened;
    start_read(c);
    ready(c, now);
  }

  void connect_failed(Connection* c, TimePoint now) {
    record_error(ErrorClass::kConnect, now);
    close(c);
    // Back off so a dead target costs a few attempts per second, not a spinning CPU.
    c->backoff = c->backoff == Clock::duration{}
                     ? Clock::duration(kBackoffFirst)
                     : std::min<Clock::duration>(c->backoff * 2, kBackoffMax);
    c->state = ConnState::kBackoff;
    c->since = now + c->backoff;
  }

  void close(Connection* c) {
    ++c->generation;
    c->writing = false;
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }

  void reconnect(Connection* c, TimePoint now) {
    close(c);
    connect(c, now);
  }

  // The connection can take a request: the next one now (closed loop), a due
  // one from the queue (open loop), or it waits in the idle list.
  void ready(Connection* c, TimePoint now) {
    c->state = ConnState::kIdle;
    if (finished_ || now >= plan_.end) return;
    if (now >= plan_.start) {
      if (plan_.mode == LoadMode::kClosed) {
        send(c, now, now);
        return;
      }
      if (!due_.empty()) {
        send(c, due_.pop(), now);
        return;
      }
    }
    if (!c->in_idle_list) {
      c->in_idle_list = true;
      idle_.push_back(c);
    }
  }

  Connection* pop_idle() {
    while (!idle_.empty()) {
      Connection* c = idle_.back();
      idle_.pop_back();
      c->in_idle_list = false;
      if (c->state == ConnState::kIdle) return c;  // else it closed while idle
    }
    return nullptr;
  }

  // ---- the request path ----

  void send(Connection* c, TimePoint intended, TimePoint now) {
    const RequestTable::Entry& request = c->target->requests.pick(rng_);
    c->parser.expect_head(request.head);
    c->state = ConnState::kBusy;
    c->since = now;
    c->origin = intended;
    if (plan_.mode == LoadMode::kOpen) {
      const auto lag = now - intended;
      if (lag > kLateAfter) ++stats_.late;
      stats_.max_schedule_lag_us =
          std::max<int64_t>(stats_.max_schedule_lag_us, duration_cast<microseconds>(lag).count());
    }
    // Requests are small: one non-blocking write nearly always takes all of it,
    // which saves a completion handler per request.
    boost::system::error_code ec;
    size_t n = c->socket.write_some(asio::buffer(request.bytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) {
      record_error(ErrorClass::kWrite, now);
      reconnect(c, now);
      return;
    }
    stats_.bytes_sent += n;
    if (n < request.bytes.size()) {
      c->writing = true;
      const uint32_t gen = c->generation;
      asio::async_write(c->socket, asio::buffer(request.bytes.data() + n, request.bytes.size() - n),
                        [this, c, gen](boost::system::error_code ec, size_t written) {
                          if (gen != c->generation) return;
                          c->writing = false;
                          stats_.bytes_sent += written;
                          if (ec) {
                            const TimePoint now = Clock::now();
                            record_error(ErrorClass::kWrite, now);
                            reconnect(c, now);
                          }
                        });
    }
  }

  // One read is outstanding whenever the connection is open, so a server that
  // closes an idle keep-alive connection is noticed and replaced before use.
  void start_read(Connection* c) {
    const uint32_t gen = c->generation;
    c->socket.async_read_some(asio::buffer(c->buffer),
                              [this, c, gen](boost::system::error_code ec, size_t n) {
                                if (gen != c->generation) return;
                                on_read(c, ec, n);
                              });
  }

  void on_read(Connection* c, boost::system::error_code ec, size_t n) {
    const TimePoint now = Clock::now();
    if (ec) {
      if (c->state == ConnState::kBusy) {
        if (ec == asio::error::eof) {
          const ResponseParser::Step step = c->parser.feed_eof();
          if (step.complete) {
            record_response(c, step.status, now);  // close-delimited body
            reconnect(c, now);
            return;
          }
        }
        record_error(ErrorClass::kRead, now);
      }
      reconnect(c, now);  // idle: the server closed a keep-alive connection
      return;
    }
    stats_.bytes_received += n;
    if (c->state != ConnState::kBusy) {
      record_error(ErrorClass::kProtocol, now);  // bytes nobody asked for
      reconnect(c, now);
      return;
    }
    const char* data = c->buffer.data();
    size_t left = n;
    while (left > 0) {
      const ResponseParser::Step step = c->parser.feed(data, left);
      if (step.error) {
        record_error(ErrorClass::kProtocol, now);
        reconnect(c, now);
        return;
      }
      data += step.consumed;
      left -= step.consumed;
      if (!step.complete) break;
      if (step.status < 200 && step.status != 101) continue;  // interim (100 Continue)
      record_response(c, step.status, now);
      if (!step.keep_alive || left > 0 || c->writing) {
        // Closed by the server, bytes beyond the one response we asked for, or an
        // answer before the request was fully written: the connection is not reusable.
        reconnect(c, now);
        return;
      }
      start_read(c);
      ready(c, now);
      return;
    }
    start_read(c);
  }

  // ---- recording ----

  void record_response(Connection* c, uint16_t status, TimePoint now) {
    c->state = ConnState::kIdle;
    if (now >= plan_.end) return;  // after the run: not counted
    roll_intervals(now);
    ++stats_.requests;
    stats_.status[status < kStatusSlots ? status : 0]++;
    stats_.latency.record(duration_cast<microseconds>(now - c->origin).count());
    if (status >= 400 && status < 500) {
      ++stats_.errors;
      ++stats_.errors_by_class[static_cast<size_t>(ErrorClass::kHttp4xx)];
    } else if (status >= 500 && status < 600) {
      ++stats_.errors;
      ++stats_.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)];
    }
  }

  void record_error(ErrorClass cls, TimePoint now) {
    // Before the start nothing was asked yet (connections opening early); after
    // the end nothing is counted.
    if (now < plan_.start || now >= plan_.end) return;
    roll_intervals(now);
    ++stats_.requests;
    ++stats_.errors;
    ++stats_.errors_by_class[static_cast<size_t>(cls)];
  }

  // Hands finished intervals to the collector; called before recording so each
  // request lands in the interval it finished in, whatever the timer's delay.
  void roll_intervals(TimePoint now) {
    while (now >= next_boundary_ && current_ + 1 < plan_.intervals) {
      deliver();
      next_boundary_ = plan_.boundary(current_);
    }
  }

  void deliver() {
    collector_.deliver(current_, stats_.to_counters(), stats_.latency);
    stats_.reset();
    ++current_;
  }

  // ---- timers ----

  void arm_interval() {
    if (current_ + 1 >= plan_.intervals) return;  // the last interval ends with the run
    interval_timer_.expires_at(next_boundary_);
    interval_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      roll_intervals(Clock::now());
      arm_interval();
    });
  }

  void arm_sweep() {
    sweep_timer_.expires_after(kSweepPeriod);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      sweep(Clock::now());
      arm_sweep();
    });
  }

  // One pass over this thread's connections instead of a timer per request.
  void sweep(TimePoint now) {
    for (auto& owned : connections_) {
      Connection* c = owned.get();
      switch (c->state) {
        case ConnState::kBusy:
          if (now - c->since > plan_.request_timeout) {
            record_error(ErrorClass::kTimeout, now);
            reconnect(c, now);
          }
          break;
        case ConnState::kConnecting:
          if (now - c->since > plan_.connect_timeout) connect_failed(c, now);
          break;
        case ConnState::kBackoff:
          if (now >= c->since) connect(c, now);
          break;
        case ConnState::kIdle:
          break;
      }
    }
  }

  // Open loop: request k is intended at start + k / rate.
  TimePoint intended(uint64_t k) const {
    return plan_.start + nanoseconds(static_cast<int64_t>(std::llround(k * period_ns_)));
  }

  void send_due() {
    if (period_ns_ <= 0 || finished_) return;
    const TimePoint now = Clock::now();
    for (;; ++next_request_) {
      const TimePoint t = intended(next_request_);
      if (t > now || t >= plan_.end) break;
      if (Connection* c = pop_idle()) {
        send(c, t, now);
      } else if (!due_.push(t)) {
        ++stats_.late;  // the queue overflowed: the oldest due request is given up
      }
    }
    const TimePoint next = intended(next_request_);
    if (next >= plan_.end) return;
    send_timer_.expires_at(next);
    send_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) send_due();
    });
  }

  void finish(bool natural_end) {
    if (finished_) return;
    finished_ = true;
    const TimePoint now = Clock::now();
    if (plan_.intervals > 0) {
      roll_intervals(now);
      // At the natural end every remaining index is delivered; on stop only the current one.
      const uint32_t last = natural_end ? plan_.intervals - 1 : current_;
      while (current_ <= last) {
        const bool more = current_ < last;
        deliver();
        if (!more) break;
      }
    }
    collector_.thread_done();
    boost::system::error_code ignored;
    sweep_timer_.cancel(ignored);
    interval_timer_.cancel(ignored);
    end_timer_.cancel(ignored);
    send_timer_.cancel(ignored);
    for (auto& c : connections_) close(c.get());
    io_.stop();
  }

  const Plan& plan_;
  asio::io_context io_;
  IntervalCollector& collector_;
  FastRandom rng_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer interval_timer_;
  asio::steady_timer end_timer_;
  asio::steady_timer send_timer_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  DueQueue due_;
  double period_ns_ = 0;
  uint64_t next_request_ = 0;
  ThreadStats stats_;
  uint32_t current_ = 0;
  TimePoint next_boundary_;
  bool finished_ = false;
};

// Numeric addresses need no DNS; names are resolved once, before the run.
Target resolve_target(asio::io_context& io, const Url& url,
                      const std::vector<RequestSpec>& requests) {
  Target target{false, {}, RequestTable(url, requests)};
  const uint16_t port = url.port != 0 ? url.port : 80;
  std::string host = url.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    target.endpoint = tcp::endpoint(address, port);
    target.resolved = true;
    return target;
  }
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (!ec && !results.empty()) {
    target.endpoint = results.begin()->endpoint();
    for (const auto& r : results) {
      if (r.endpoint().address().is_v4()) {  // prefer IPv4, as most servers listen there
        target.endpoint = r.endpoint();
        break;
      }
    }
    target.resolved = true;
  }
  return target;  // unresolved: every connect attempt counts as a connect error
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  IntervalFn on_interval;
  std::mutex mu;
  std::condition_variable stopped_cv;
  bool stopped = false;
  std::vector<std::unique_ptr<Worker>> workers;

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

Counters Engine::run() {
  const EngineOptions& options = impl_->options;
  const WorkloadSlice& slice = options.slice;
  const LoadSpec& load = slice.load;

  Plan plan;
  plan.mode = load.mode;
  const auto until_start = options.start - std::chrono::system_clock::now();
  plan.start = Clock::now() + duration_cast<Clock::duration>(until_start);
  const Clock::duration length = load.warmup + load.duration;
  plan.end = plan.start + length;
  plan.interval = load.interval.count() > 0 ? Clock::duration(load.interval) : length;
  plan.intervals =
      plan.interval.count() > 0
          ? static_cast<uint32_t>((length + plan.interval - Clock::duration(1)) / plan.interval)
          : 0;
  plan.connect_timeout = load.connect_timeout;
  plan.request_timeout = load.request_timeout;

  std::vector<RequestSpec> requests = slice.requests;
  if (requests.empty()) requests.push_back(RequestSpec{});
  {
    asio::io_context resolver_io;
    for (const Url& url : slice.targets) {
      plan.targets.push_back(resolve_target(resolver_io, url, requests));
    }
  }

  // Connections split as evenly as possible; connection j aims at target j % targets.
  const uint32_t total = plan.targets.empty() ? 0 : load.connections;
  const unsigned threads = std::max(1u, options.threads);
  std::vector<std::vector<const Target*>> per_thread(threads);
  for (uint32_t j = 0; j < total; ++j) {
    per_thread[j % threads].push_back(&plan.targets[j % plan.targets.size()]);
  }
  unsigned running = 0;
  for (const auto& conns : per_thread) running += conns.empty() ? 0 : 1;

  IntervalCollector collector(options.phase, running, impl_->on_interval);
  if (running == 0) {
    impl_->run_idle(plan, collector);
    return collector.total();
  }

  std::random_device seed_source;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& conns : per_thread) {
      if (conns.empty()) continue;
      const double share = static_cast<double>(conns.size()) / total;
      const double rate = load.mode == LoadMode::kOpen ? load.rate * share : 0;
      const uint64_t seed = (static_cast<uint64_t>(seed_source()) << 32) ^ seed_source();
      impl_->workers.push_back(std::make_unique<Worker>(plan, conns, rate, collector, seed));
      if (impl_->stopped) impl_->workers.back()->request_stop();
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
