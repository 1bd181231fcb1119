// Prometheus's text exposition format (version 0.0.4), as a /metrics endpoint
// serves it: the reader of an `observe:` source that the controller scrapes
// directly (issue 22), and what turns two scrapes of a counter into a rate.
// Everything here is pure: text in, samples or an error naming the line out.
//
// What is read: `# HELP` / `# TYPE` and other comments (skipped), blank lines,
// and sample lines `name{label="value",...} value [timestamp_ms]`. Label values
// may hold the escapes \\, \" and \n; values are floats as Go parses them, with
// +Inf, -Inf and NaN (any case); a timestamp is an integer in ms. A body over
// kMaxExpositionBytes or with more than kMaxExpositionSamples samples is refused
// whole (a scrape is bounded like every input from outside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace horde {

inline constexpr size_t kMaxExpositionBytes = 10 * 1024 * 1024;
inline constexpr size_t kMaxExpositionSamples = 1'000'000;

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, names unique
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  bool operator==(const Sample&) const = default;
};

// Every sample of `text`, in order; or `line N: <what is wrong>`.
Result<std::vector<Sample>> parse_exposition(std::string_view text);

// Which series of a metric a source means: label -> "value" (equal) or
// "!value" (not equal; a missing label counts as the empty value).
struct SeriesMatch {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  bool matches(const Sample& s) const;
};

// The sum of the matching samples' values; nullopt when none matches.
std::optional<double> sum_matching(const std::vector<Sample>& samples, const SeriesMatch& m);

// The per-second rate of a counter summed over matching series, from scrape
// to scrape, with resets handled as Prometheus's rate() does: a series whose
// value fell was restarted, so its increase is its new value. A series seen
// for the first time adds nothing until its second scrape.
class CounterRate {
 public:
  explicit CounterRate(SeriesMatch match) : match_(std::move(match)) {}
  // A scrape at `t_seconds` (any monotonic clock); the rate since the previous
  // one, or nullopt for the first scrape, a clock that did not advance, or no
  // matching series in either scrape.
  std::optional<double> add(const std::vector<Sample>& samples, double t_seconds);

 private:
  SeriesMatch match_;
  std::map<std::vector<std::pair<std::string, std::string>>, double> last_;
  std::optional<double> last_t_;
};

}  // namespace horde
