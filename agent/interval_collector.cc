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

void IntervalCollector::deliver(uint32_t index, const Counters& counters,
                                const Histogram& latency) {
  std::lock_guard lock(mu_);
  if (index < next_) return;  // cannot happen with in-order delivery; never report twice
  Pending& p = pending_[index];
  p.report.counters.add(counters);
  p.report.latency.add(latency);
  ++p.delivered;
  flush_locked();
}

void IntervalCollector::thread_done() {
  std::lock_guard lock(mu_);
  ++done_;
  flush_locked();
}

void IntervalCollector::flush_locked() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    const bool all_in = it->second.delivered >= threads_;
    if (!all_in && done_ < threads_) return;
    // Indices are dense (threads deliver 0, 1, 2, ...); fill any gap with an empty report.
    while (next_ < it->first) {
      IntervalReport empty;
      report_locked(std::move(empty));
    }
    IntervalReport report = std::move(it->second.report);
    pending_.erase(it);
    report_locked(std::move(report));
  }
}

void IntervalCollector::report_locked(IntervalReport report) {
  report.phase = phase_;
  report.interval = next_++;
  const double cpu = cpu_();
  report.counters.cpu_seconds = cpu - last_cpu_;
  last_cpu_ = cpu;
  total_.add(report.counters);
  // Under the lock, so reports reach the callback in index order.
  if (on_interval_) on_interval_(std::move(report));
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
