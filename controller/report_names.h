// The "Requests by name" section of report.html, for a workload with more than
// one request name: p99 and p50 of each name per interval over the run (from
// intervals.jsonl, which keeps each name's histogram per interval, so every
// point is exact, never an average of percentiles) and a table of each name's
// totals (summary.json's requests_by_name). The kMostNames names with the most
// requests get a line each; the others are merged into one line by adding
// their histograms, so a chart stays readable with 100 names.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/report_data.h"

namespace horde {

inline constexpr size_t kMostNames = 8;  // one palette colour each

struct NameTimeline {
  // The names drawn, most requests first, then maybe "the other N names".
  std::vector<std::string> series;
  // Per series, one value per row of ReportInput::intervals; NaN for a warm-up
  // interval or one without a request of that name.
  std::vector<std::vector<double>> p50_ms, p99_ms;
};

// From results_dir/intervals.jsonl; an error when it is missing or malformed.
Result<NameTimeline> name_timeline(const ReportInput& in, const std::string& results_dir);

// "" with fewer than two request names.
std::string names_section(const ReportInput& in, const std::string& results_dir);

}  // namespace horde
