// The controller's reader of `observe:` sources (issue 22): what the target
// spent while horde measured it. Each source has its own thread for the length
// of a phase, so a slow or dead source never delays the run loop or another
// source. A source is read at each interval's end (a scrape of a counter also
// at the phase start, the first rate's baseline), each reading bounded by a
// timeout shorter than the interval. A reading that fails leaves that
// interval's value empty (null in the results, never 0) and is counted; the
// first failure per source and phase is logged, and end_phase() gives one
// warning per failing source with its error. The run goes on either way.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/observe.h"
#include "common/result.h"
#include "controller/exposition.h"

namespace horde {

// GETs a URL within a timeout and returns the body (http_get.h by default; a
// test passes a fake).
using ObserveFetch =
    std::function<Result<std::string>(const Url& url, std::chrono::milliseconds timeout)>;
ObserveFetch http_fetch();

// The value in a Prometheus /api/v1/query answer: an instant vector's samples
// summed (non-finite ones left out), or a scalar; nullopt for an empty vector;
// an error for a failed query (with Prometheus's own message) or another type.
Result<std::optional<double>> prometheus_value(std::string_view json);

// Turns one source's bodies into values, reading after reading.
class SourceReader {
 public:
  explicit SourceReader(const ObserveSource& source);
  // What to GET for the reading at the end of an interval ending at `end_unix_s`.
  Url url_at(double end_unix_s) const;
  // The body read at `t_s` (a monotonic clock, seconds): the value; nullopt
  // for the first scrape of a counter (the baseline); an error when it holds
  // no matching series or is not what the source reads.
  Result<std::optional<double>> read(std::string_view body, double t_s);
  // A reading failed: a rate starts again from the next scrape, never
  // spreading one increase over two intervals.
  void reset();

 private:
  const ObserveSource* source_;
  SeriesMatch match_;
  CounterRate rate_;
};

// When a phase's intervals end.
struct ObserveClock {
  std::chrono::steady_clock::time_point start;
  double start_unix_s = 0;  // the same instant on the system clock
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds total{0};  // warm-up + measured duration
  uint32_t intervals = 0;
  // End of interval i (the last may be shorter), from the start.
  std::chrono::milliseconds end_of(uint32_t i) const;
};

// A phase's readings: values[interval][source], empty where none was read.
struct ObservedPhase {
  std::vector<std::vector<std::optional<double>>> values;
  std::vector<std::string> warnings;  // one per failing source: how many failed, the first error
};

// The timeout of each reading: 80% of the interval, at most 10 s.
std::chrono::milliseconds observe_timeout(std::chrono::milliseconds interval);

class Observer {
 public:
  explicit Observer(std::vector<ObserveSource> sources, ObserveFetch fetch = http_fetch());
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  const std::vector<ObserveSource>& sources() const { return sources_; }
  // Starts each source's thread for this phase (`phase` names it in warnings).
  void begin_phase(uint32_t phase, const ObserveClock& clock);
  // Readings due up to `until` are still taken (so the last interval's end is
  // read); later ones are not. Waits for the threads and returns what they read.
  ObservedPhase end_phase(std::chrono::steady_clock::time_point until);

 private:
  struct Failures {
    uint32_t count = 0;
    uint32_t readings = 0;
    std::string first;
  };
  void run_source(size_t j);

  std::vector<ObserveSource> sources_;
  ObserveFetch fetch_;
  uint32_t phase_ = 0;
  ObserveClock clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::chrono::steady_clock::time_point> until_;  // guarded by mu_
  ObservedPhase out_;                                           // guarded by mu_
  std::vector<Failures> failures_;                              // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace horde
