// Named requests as results: the workload's request names, one name's part of
// a phase (its counts and histogram, merged exactly like the totals), the
// `requests_by_name` object of summary.json and the per-name terminal table.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/results.h"

namespace horde {

// The request names of a resolved workload's JSON (RunResult::workload), in
// name_index order.
std::vector<std::string> request_names_of(const nlohmann::json& workload);
// Name `index`'s part of `p` as a phase of its own (counts, latency, duration);
// with one name (p.names empty) all of `p`.
PhaseResult name_part(const PhaseResult& p, uint32_t index);
// `requests_by_name`: {name: {requests, errors, error_rate, throughput_rps,
// latency_ms, status_codes, errors_by_class}}.
nlohmann::json requests_by_name_json(const PhaseResult& p, const std::vector<std::string>& names);
// One row per request name over the run (only with more than one name).
std::string name_table(const RunResult& r);

}  // namespace horde
