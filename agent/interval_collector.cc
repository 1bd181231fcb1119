#include "agent/interval_collector.h"

#include <sys/resource.h>

#include <utility>

namespace horde {

IntervalCollector::IntervalCollector(uint32_t phase, unsigned threads, IntervalFn on_interval,
                                     CpuClock cpu)
    : phase_(phase), threads_(threads), on_interval_(std::move(on_interval)), cpu_(std::move(cpu)) {
  last_cpu_ = cpu_();
}

double IntervalCollector::process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

void IntervalCollector::deliver(uint32_t index, const Counters& counters, const Histogram& latency,
                                const Backends& backends, const ByName& names) {
  std::unique_lock lock(mu_);
  if (index < next_) return;  // cannot happen with in-order delivery; never report twice
  Pending& p = pending_[index];
  p.report.counters.add_concurrent(counters);  // threads of one interval: peaks add up
  p.report.latency.add(latency);
  p.report.backends.add(backends);
  add_names(p.report.names, names);
  ++p.delivered;
  flush(lock);
}

void IntervalCollector::thread_done() {
  std::unique_lock lock(mu_);
  ++done_;
  flush(lock);
}

void IntervalCollector::flush(std::unique_lock<std::mutex>& lock) {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    const bool all_in = it->second.delivered >= threads_;
    if (!all_in && done_ < threads_) break;
    // Indices are dense (threads deliver 0, 1, 2, ...); fill any gap with an empty report.
    while (next_ < it->first) {
      IntervalReport empty;
      report_locked(std::move(empty));
    }
    IntervalReport report = std::move(it->second.report);
    pending_.erase(it);
    report_locked(std::move(report));
  }
  // One emitter at a time keeps the index order; it takes what others left.
  if (emitting_) return;
  emitting_ = true;
  while (!ready_.empty()) {
    IntervalReport report = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    if (on_interval_) on_interval_(std::move(report));
    lock.lock();
  }
  emitting_ = false;
}

void IntervalCollector::report_locked(IntervalReport report) {
  report.phase = phase_;
  report.interval = next_++;
  const double cpu = cpu_();
  report.counters.cpu_seconds = cpu - last_cpu_;
  last_cpu_ = cpu;
  total_.add(report.counters);
  ready_.push_back(std::move(report));
}

Counters IntervalCollector::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

uint32_t IntervalCollector::reported() const {
  std::lock_guard lock(mu_);
  return next_;
}

}  // namespace horde
