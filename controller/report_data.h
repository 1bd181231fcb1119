// The inputs of report.html read back from a results directory: summary.json
// as JSON, intervals.csv as rows (columns found by name), the optional errors
// by class per interval from intervals.jsonl, and the optional latency.hlog.
// Kept apart from the page so the parsing is tested on its own terms.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace horde {

struct ReportInterval {
  uint32_t phase = 0;
  uint32_t interval = 0;
  double time_s = 0;
  bool warmup = false;
  double agents = 0, requests = 0, errors = 0, rps = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::map<std::string, double> errors_by_class;  // from intervals.jsonl, if present
  std::map<std::string, double> observed;         // `observe:` sources by name; NaN: no value
  double run_time_s = 0;  // end of the interval on one timeline across phases
};

struct ReportInput {
  nlohmann::json summary;
  std::vector<ReportInterval> intervals;
  bool have_error_classes = false;
  size_t hlog_intervals = 0;  // 0: no latency.hlog
  uint64_t hlog_samples = 0;
  std::string hlog_error;  // latency.hlog present but unreadable
  // Where each phase starts on the run timeline, in phase order of the CSV.
  std::vector<std::pair<uint32_t, double>> phase_starts;
};

Result<ReportInput> load_report_input(const std::string& results_dir);

// JSON helpers that tolerate missing keys and nulls (older or partial summaries).
double json_number(const nlohmann::json& j, const char* key, double fallback = 0);
std::string json_string(const nlohmann::json& j, const char* key);

}  // namespace horde
