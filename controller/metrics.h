// The controller's Prometheus endpoint (`--metrics-listen ADDR`): GET /metrics
// answers the run's live figures in the Prometheus text format, so a Grafana
// dashboard (docs/grafana-dashboard.json) can watch a long run. The run thread
// publishes a snapshot once per closed interval and whenever an agent joins or
// is lost; a small HTTP/1.1 server on its own thread (POSIX sockets + poll)
// serves the last rendered snapshot. The two share one mutex-guarded string,
// so a scrape never touches run state and never blocks the run for long. Idle
// connections time out and the oldest gives way to a new one: 64 idle sockets
// from anyone cannot lock a scraper out.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/report.h"
#include "common/result.h"
#include "controller/results.h"

namespace horde {

// Quantiles published for latency, in this order.
inline constexpr std::array<double, 4> kMetricsQuantiles = {0.5, 0.9, 0.99, 0.999};

// One request name's figures, labelled name="..." (every name, also a workload's only one).
struct NameMetrics {
  std::string name;
  uint64_t requests_total = 0;                            // measured, all phases so far
  std::array<uint64_t, kErrorClassCount> errors_total{};  // by class, measured
  std::array<double, 4> interval_latency_ms{};            // kMetricsQuantiles, last interval
  std::array<double, 4> phase_latency_ms{};               // current phase, measured so far
};

struct MetricsSnapshot {
  uint64_t requests_total = 0;  // measured (warm-up excluded), all phases so far
  std::array<uint64_t, kErrorClassCount> errors_total{};  // by class, measured
  double throughput_rps = 0;                              // last closed interval
  std::array<double, 4> interval_latency_ms{};            // kMetricsQuantiles, last interval
  std::array<double, 4> phase_latency_ms{};               // current phase, measured so far
  uint32_t agents_connected = 0;
  uint32_t agents_lost = 0;
  double offered_rps = 0;   // open loop: the phase's rate; 0 for closed loop
  double achieved_rps = 0;  // current phase: measured requests / measured time so far
  std::vector<std::pair<std::string, double>> agent_throughput_rps;  // last interval
  uint32_t phase_index = 0;
  uint32_t interval_index = 0;
  std::vector<NameMetrics> names;  // in the workload's request order
};

// The Prometheus text exposition format (version 0.0.4) of a snapshot.
std::string render_metrics(const MetricsSnapshot& s);

class MetricsServer {
 public:
  // A connection that has not sent its whole request within request_timeout is
  // closed (an idle socket must not hold a slot a scraper needs).
  explicit MetricsServer(std::chrono::milliseconds request_timeout = std::chrono::seconds(2))
      : request_timeout_(request_timeout) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds HOST:PORT (PORT 0: any free port) and starts serving; returns the port.
  Result<int> start(const std::string& listen);
  void stop();

  // ---- run thread only ----
  // The workload's request names (request_names()), before the first interval.
  void set_request_names(const std::vector<std::string>& names);
  // Agents currently connected and lost so far.
  void set_agents(uint32_t connected, uint32_t lost);
  // One closed interval. `agent_requests` is each agent's measured requests in
  // the phase so far; its growth since the last call gives per-agent rps.
  // `interval_names` is the interval's per-name part (empty with one name).
  void interval(const std::vector<PhaseResult>& finished_phases, const PhaseResult& phase,
                const IntervalRow& row, const Histogram& interval_latency,
                const std::vector<std::pair<std::string, uint64_t>>& agent_requests,
                double interval_s, const ByName& interval_names = {});
  const MetricsSnapshot& snapshot() const { return snapshot_; }

  // ---- any thread ----
  std::string text() const;

 private:
  void publish();
  void serve();

  MetricsSnapshot snapshot_;
  std::vector<std::string> request_names_;
  uint32_t last_phase_ = UINT32_MAX;
  std::map<std::string, uint64_t> last_agent_requests_;

  mutable std::mutex mu_;
  std::string text_;  // guarded by mu_

  std::chrono::milliseconds request_timeout_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: written by stop() to end serve()
  std::thread thread_;
};

}  // namespace horde
