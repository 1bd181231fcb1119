// Where closed intervals go while a run is live: every sink sees each interval
// once, in order, the moment it closes (on_interval), and each phase once when
// it ends (on_phase_end). Collecting (merge.h, phase_accumulator.h) stays apart
// from rendering: intervals.jsonl, latency.hlog, the progress line and the
// metrics endpoint are four sinks behind this one interface, and a test can
// hold a fake. summary.json, intervals.csv and report.html are written from
// the RunResult at the end (results.h, report_html.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "controller/results.h"

namespace horde {

class HlogWriter;
class IntervalLog;
class MetricsServer;
class ProgressRenderer;

// The phase a closed interval belongs to, as the sinks need it.
struct PhaseView {
  uint32_t index = 0;
  std::string name;
  uint32_t phase_count = 0;  // planned phases; 0 when a capacity search decides
  double interval_s = 1;
  double total_s = 0;         // warm-up + measured duration
  double start_offset_s = 0;  // phase start, seconds after the run's start
  uint32_t agents_total = 0;  // agents the phase started with
};

struct ClosedInterval {
  const PhaseView& phase;
  const IntervalRow& row;
  const Histogram& latency;                  // the interval's merged histogram
  const PhaseResult& so_far;                 // the phase so far, this interval included
  const std::vector<PhaseResult>& finished;  // phases before this one
  uint32_t agents_active = 0;                // of agents_total, not lost
  // Each agent's measured requests in the phase so far (asked only by a sink that needs it).
  std::function<std::vector<std::pair<std::string, uint64_t>>()> agent_requests;
  const Backends* backends = nullptr;  // the interval's per-backend counts
  const ByName* names = nullptr;       // the interval's per-name counts
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void on_interval(const ClosedInterval& c) = 0;
  virtual void on_phase_end(const PhaseResult& phase) { (void)phase; }
};

// intervals.jsonl: each interval's line, flushed (interval_log.h).
class IntervalLogSink : public ResultSink {
 public:
  IntervalLogSink(IntervalLog* log, std::string run_id) : log_(log), run_id_(std::move(run_id)) {}
  void on_interval(const ClosedInterval& c) override;

 private:
  IntervalLog* log_;
  std::string run_id_;
};

// latency.hlog: one line per interval, tagged "warmup" during warm-up (hlog.h).
class HlogSink : public ResultSink {
 public:
  explicit HlogSink(HlogWriter* writer) : writer_(writer) {}
  void on_interval(const ClosedInterval& c) override;

 private:
  HlogWriter* writer_;
};

// The live progress line (progress.h).
class ProgressSink : public ResultSink {
 public:
  explicit ProgressSink(ProgressRenderer* renderer) : renderer_(renderer) {}
  void on_interval(const ClosedInterval& c) override;

 private:
  ProgressRenderer* renderer_;
};

// The Prometheus endpoint's snapshot (metrics.h).
class MetricsSink : public ResultSink {
 public:
  explicit MetricsSink(MetricsServer* metrics) : metrics_(metrics) {}
  void on_interval(const ClosedInterval& c) override;

 private:
  MetricsServer* metrics_;
};

}  // namespace horde
