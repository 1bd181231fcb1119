// The controller's run loop: waits for agents to dial in (agent_registry.h),
// hands each its slice of the workload with one synchronized start time,
// merges their interval reports as they arrive (merge.h), turns closed
// intervals into the phase's result (phase_accumulator.h) and hands each to the
// live sinks (result_sinks.h), and writes the results at the end. One thread
// owns all run state; gRPC's threads only feed it events (session_server.h).
// The run loop is controller.cc; what each agent event does, agent_events.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/event_queue.h"
#include "common/workload.h"
#include "controller/agent_registry.h"
#include "controller/hlog.h"
#include "controller/interval_log.h"
#include "controller/progress.h"
#include "controller/result_sinks.h"
#include "controller/results.h"
#include "controller/session_server.h"
#include "controller/sweep_plan.h"

namespace horde {

class MetricsServer;
class Observer;

struct ControllerOptions {
  Workload workload;
  std::string listen = "0.0.0.0:7400";
  uint32_t expect_agents = 1;
  std::chrono::milliseconds join_timeout{60'000};
  std::chrono::milliseconds lease{5'000};
  std::chrono::milliseconds start_delay{1'000};  // from assignment to the common start
  std::string out_dir;                           // empty: results/<run-id>
  bool live = true;                              // live line on stdout
  bool progress_in_place = true;  // on a terminal, redraw it with '\r' (--no-progress: lines)
  std::string metrics_listen;     // HOST:PORT of the Prometheus /metrics endpoint; empty: none
  // After the results are written, /metrics stays up this long (a signal ends it early).
  std::chrono::milliseconds metrics_linger{0};
  Security security;  // token and TLS for the session server
};

class Controller {
 public:
  explicit Controller(ControllerOptions options);
  ~Controller();

  // Binds the session server; returns the port (so --listen 127.0.0.1:0 works).
  Result<int> listen();
  // Waits for the agents, runs every phase, writes results; returns the exit code.
  int run();
  // Thread-safe: ends the run early (SIGINT/SIGTERM); what was measured is kept.
  void abort(const std::string& reason);

  const RunResult& result() const { return result_; }
  const std::string& out_dir() const { return out_dir_; }

 private:
  void handle(const SessionEvent& e);
  void on_hello(AgentRecord& a, const v1::Hello& h);
  void drop(AgentRecord& a, const std::string& reason, bool lost);
  // `rebalance: true`: hands a lost agent's share to the phase's survivors.
  void rebalance_after_loss(const AgentRecord& lost);
  void ping_all();
  void ping(AgentRecord& a);
  bool wait_for_agents();
  void run_plan();
  // One phase: start it (assignments out), merge until every member is done
  // or its time is up, end it (close what is left, mark the missing as lost).
  void run_phase(uint32_t index, const PhaseSpec& spec);
  bool start_phase(uint32_t index, const PhaseSpec& spec);
  uint32_t clock_interval(std::chrono::steady_clock::time_point now) const;
  uint32_t forced_before(std::chrono::steady_clock::time_point now) const;
  void close_intervals(uint32_t force_before);  // to the sinks and the phase result
  void drop_silent(std::chrono::steady_clock::time_point now);
  bool members_finished() const;
  void end_phase();
  void pump_until(std::chrono::steady_clock::time_point deadline);
  void warn(const std::string& text);
  void publish_agents();  // agents connected / lost, to the metrics endpoint

  ControllerOptions opt_;
  EventQueue<SessionEvent> events_;
  SessionServer server_;
  AgentRegistry registry_;
  IntervalReport scratch_report_;  // every Report is decoded into this one (run thread only)
  RunResult result_;
  std::string out_dir_;
  std::atomic<bool> abort_requested_{false};
  std::string abort_reason_;  // guarded by abort_requested_ (written before the flag)
  std::chrono::steady_clock::time_point next_ping_{};
  uint64_t ping_seq_ = 0;
  struct PhaseState;
  std::unique_ptr<PhaseState> phase_;
  IntervalLog interval_log_;
  std::optional<HlogWriter> hlog_;
  std::chrono::steady_clock::time_point run_start_{};
  bool sweep_failed_ = false;
  std::unique_ptr<MetricsServer> metrics_;          // null without --metrics-listen
  std::unique_ptr<Observer> observer_;              // null without `observe:`
  std::vector<std::unique_ptr<ResultSink>> sinks_;  // where closed intervals go
  ProgressRenderer progress_;
};

std::string make_run_id();

}  // namespace horde
