// What a run produced, as values, and the files and tables made from them:
// summary.json (stable schema, see docs/workload.md), intervals.csv and the
// end-of-run tables. Every figure here is computed from merged
// counts (never an average of percentiles).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/report.h"
#include "common/workload.h"
#include "controller/sweep_result.h"

namespace horde {

struct IntervalRow {
  uint32_t phase = 0;
  uint32_t interval = 0;
  double time_s = 0;  // end of the interval, seconds since the phase's measured start
  bool warmup = false;
  uint32_t agents = 0;
  Counters counters;
  double duration_s = 0;
  int64_t p50_us = 0, p99_us = 0, max_us = 0;
  // When the controller merged it (system clock, µs since the epoch): its
  // publish delay is this minus the interval's scheduled end.
  int64_t merged_unix_us = 0;
  // Per backend in this interval (requests, errors, latency percentiles): backends.csv's rows.
  struct Backend {
    std::string id;
    uint64_t requests = 0;
    uint64_t errors = 0;
    int64_t p50_us = 0, p99_us = 0, max_us = 0;
  };
  std::vector<Backend> backends;
  // One value per `observe:` source, in the workload's order; empty where none was read.
  std::vector<std::optional<double>> observed;
};

// `rebalance: true`: a lost agent's share handed to the phase's survivors.
struct RebalanceRecord {
  double at_s = 0;  // when the survivors took it over, seconds since the phase start
  std::string lost_agent;
  std::vector<std::string> survivors;
  std::optional<double> rate_factor;                 // open loop: each survivor's rate x this
  std::optional<std::vector<uint32_t>> connections;  // closed loop: each survivor's connections

  nlohmann::json to_json() const;
};

struct PhaseResult {
  uint32_t index = 0;
  std::string name;
  Counters counters;  // measured intervals only
  Histogram latency;
  Backends backends;  // measured intervals only; adds up to `counters`
  // Per request name (index in the workload's request names), measured
  // intervals only; empty when the workload has one name (the totals are its).
  ByName names;
  double duration_s = 0;
  std::optional<double> offered_rps;  // open loop only
  std::vector<IntervalRow> intervals;
  uint64_t discarded_reports = 0;
  // Reports refused as invalid (bad encoding, index, too far ahead, counts that
  // would wrap); each cost its agent the session.
  uint64_t rejected_reports = 0;
  // `rebalance: true`: one entry per lost agent whose share went to the survivors.
  std::vector<RebalanceRecord> rebalances;
};

struct AgentSummary {
  std::string name;
  std::string host;
  uint32_t cores = 0;
  uint32_t threads = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  bool lost = false;
  std::string lost_reason;
  int64_t last_interval = -1;  // last interval it reported (for a lost agent)
  uint64_t connections_opened = 0;
  uint64_t connections_peak = 0;  // the most it had open at once, over the run
  uint64_t reconnects = 0;        // connections opened again after closing, over the run
};

// A threshold is judged only on what was measured: in an aborted run, or on
// no request (or no latency sample) at all, it is "not judged", never a pass.
struct ThresholdOutcome {
  Threshold threshold;
  double observed = 0;  // ms for latency, a fraction for error_rate, requests/s
  bool passed = false;
  std::string not_judged;  // why it was not judged; empty: judged

  bool judged() const { return not_judged.empty(); }
  bool failed() const { return judged() && !passed; }
};

struct RunResult {
  std::string run_id;
  nlohmann::json workload;
  std::vector<PhaseResult> phases;
  std::vector<AgentSummary> agents;
  std::vector<ThresholdOutcome> thresholds;
  std::vector<std::string> warnings;
  bool aborted = false;
  std::string abort_reason;
  bool incomplete = false;                 // rebuilt from intervals.jsonl after the controller died
  std::optional<Scalability> scalability;  // an agents / instances sweep ran
  std::vector<CapacityResult> capacity;    // capacity searches
  bool scalability_passed = true;
  std::vector<ObserveSource> observe;  // the workload's sources (intervals.csv columns)
};

// Totals over phases: counters and histograms added, durations summed.
PhaseResult totals(const std::vector<PhaseResult>& phases);
// The value a threshold looks at (latency in ms, error_rate as a fraction, rps).
double observed_value(const PhaseResult& r, Metric m);
// `aborted`: the run did not complete, none is judged.
// A threshold with a {name:...} selector is judged on that name's requests;
// `names` are the workload's request names (request_names()).
std::vector<ThresholdOutcome> evaluate(const std::vector<Threshold>& ts, const PhaseResult& r,
                                       bool aborted = false,
                                       const std::vector<std::string>& names = {});
// The request names of a resolved workload's JSON (RunResult::workload), in
// name_index order.
std::vector<std::string> request_names_of(const nlohmann::json& workload);
// Name `index`'s part of `p` as a phase of its own (counters, latency, duration).
PhaseResult name_part(const PhaseResult& p, uint32_t index);
// 0 ok, 1 a threshold failed (or could not be judged on zero requests), 3 aborted.
int exit_code(const RunResult& r);
// The summary's verdict line on the thresholds: "2 of 3 thresholds failed", or
// "" when every one passed (or there are none, or the run aborted).
std::string thresholds_line(const RunResult& r);

// `names`: the request names, for requests_by_name (left out without them).
nlohmann::json phase_json(const PhaseResult& p, const std::vector<std::string>& names = {});
nlohmann::json summary_json(const RunResult& r);
std::string intervals_csv(const RunResult& r);
// One row per phase x interval x backend (only runs with backends have rows).
std::string backends_csv(const RunResult& r);
// Writes summary.json and intervals.csv into dir (created if needed).
Result<bool> write_results(const RunResult& r, const std::string& dir);

std::string summary_table(const RunResult& r);

// The run's last words, printed after every table and the results path: why it
// was aborted, or what share of requests failed and why, whether the
// scalability verdict failed, then how many thresholds failed (exit code 1).
std::string closing_lines(const RunResult& r);
// The sweep's table (N, capacity, efficiency, p99) and its verdict.
std::string scalability_table(const nlohmann::json& scalability);
// One line per capacity search: the capacity found and the bracket it ended in.
std::string capacity_lines(const nlohmann::json& capacity);

}  // namespace horde
