// intervals.jsonl: every merged interval, appended and flushed the moment it
// closes, so a controller that dies leaves everything up to its last second on
// disk. Each line carries the exact counters and sparse histogram (protobuf's
// JSON mapping of horde.v1 Counters / SparseHistogram), so `horde report DIR`
// can rebuild a partial summary from it.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/results.h"

namespace horde {

class IntervalLog {
 public:
  IntervalLog() = default;
  ~IntervalLog();
  IntervalLog(const IntervalLog&) = delete;
  IntervalLog& operator=(const IntervalLog&) = delete;

  Result<bool> open(const std::string& path);
  // `latency` is the interval's merged histogram (IntervalRow keeps only percentiles).
  void append(const IntervalRow& row, const Histogram& latency, const std::string& run_id,
              const Backends& backends = {}, const ByName& names = {});

 private:
  std::FILE* file_ = nullptr;
};

struct LoggedInterval {
  IntervalRow row;
  Histogram latency;
  Backends backends;
  ByName names;
};

// Reads intervals.jsonl back; every line is validated like a network message.
// A torn last line (the writer died mid-write) is skipped, anything else bad is an error.
Result<std::vector<LoggedInterval>> read_interval_log(const std::string& path, std::string* run_id);
// The same, one interval at a time: `fn` sees each in file order and may keep what it needs
// (a long run's histograms need not all be in memory at once). Returns how many were read.
Result<size_t> scan_interval_log(const std::string& path, std::string* run_id,
                                 const std::function<void(LoggedInterval&)>& fn);

// Rebuilds a RunResult (phases with totals; no agents) from logged intervals,
// marked aborted/incomplete.
RunResult rebuild_from_intervals(const std::vector<LoggedInterval>& intervals,
                                 const std::string& run_id);

// For `horde report DIR`: when summary.json is missing (the controller died) or
// unreadable (kept as summary.json.unreadable), rebuilds it and intervals.csv
// from intervals.jsonl, marked incomplete.
// Returns true when it had to rebuild.
Result<bool> ensure_summary(const std::string& dir);

}  // namespace horde
