// Where the load landed, as results: each phase's backends (requests, errors,
// share, throughput, latency, status codes) and their spread in summary.json,
// one backends.csv row per phase x interval x backend, the end-of-run backend
// table, and the uneven_spread warning. Every figure comes from the merged
// per-backend counts (common/backends.h), whose sums are the phase's totals.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/results.h"

namespace horde {

// `backends`: [{id, requests, errors, share, throughput_rps, latency_ms {p50,
// p99, max}, status_codes}], sorted by id.
nlohmann::json backends_json(const PhaseResult& p);
// `spread`: {backends, max_share, min_share, imbalance}.
nlohmann::json spread_json(const PhaseResult& p);
// The backend table printed after the summary when more than one backend answered.
std::string backend_table(const RunResult& r);
// "uneven_spread: ..." when the phase had more than one backend and an
// imbalance above `limit`, naming the heaviest backend and its share.
std::optional<std::string> uneven_spread_warning(const PhaseResult& p, double limit);
// The shares of `p`'s backends, largest first, as "66% / 34%".
std::string shares_text(const PhaseResult& p);
// One row of backends.csv as read back (report.html, horde compare).
struct BackendCsvRow {
  uint32_t phase = 0;
  uint32_t interval = 0;
  double time_s = 0;
  bool warmup = false;
  std::string backend;
  double requests = 0, errors = 0, rps = 0;
};
// Every well-formed row of the file, by header name (a quoted id taken whole); [] when
// the file is missing or has no header (results from before per-backend accounting).
std::vector<BackendCsvRow> read_backends_csv(const std::string& path);

}  // namespace horde
