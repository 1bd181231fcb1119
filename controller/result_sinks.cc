#include "controller/result_sinks.h"

#include <spdlog/spdlog.h>

#include "controller/hlog.h"
#include "controller/interval_log.h"
#include "controller/metrics.h"
#include "controller/progress.h"

namespace horde {

void IntervalLogSink::on_interval(const ClosedInterval& c) {
  log_->append(c.row, c.latency, run_id_, c.backends != nullptr ? *c.backends : Backends{},
               c.names != nullptr ? *c.names : ByName{});
}

void HlogSink::on_interval(const ClosedInterval& c) {
  const double offset = c.phase.start_offset_s + c.row.interval * c.phase.interval_s;
  if (auto ok = writer_->append(offset, c.row.duration_s, c.latency, c.row.warmup ? "warmup" : "");
      !ok) {
    spdlog::warn("{}", ok.error().message);
  }
}

void ProgressSink::on_interval(const ClosedInterval& c) {
  const IntervalRow& row = c.row;
  const PhaseResult& res = c.so_far;
  ProgressStatus ps;
  ps.phase_index = c.phase.index;
  ps.phase_count = c.phase.phase_count;
  ps.phase_name = c.phase.name;
  ps.elapsed_s = (row.interval + 1) * c.phase.interval_s;
  ps.total_s = c.phase.total_s;
  ps.warmup = row.warmup;
  ps.rps = row.duration_s > 0 ? static_cast<double>(row.counters.requests) / row.duration_s : 0;
  ps.errors_per_s =
      row.duration_s > 0 ? static_cast<double>(row.counters.errors) / row.duration_s : 0;
  ps.errors = res.counters.errors;
  // During warm-up nothing is measured yet: show the interval's own percentiles.
  ps.p50_ms =
      static_cast<double>(res.latency.empty() ? row.p50_us : res.latency.value_at_percentile(50)) /
      1000.0;
  ps.p99_ms =
      static_cast<double>(res.latency.empty() ? row.p99_us : res.latency.value_at_percentile(99)) /
      1000.0;
  ps.connections = row.counters.connections_peak;
  ps.agents_active = c.agents_active;
  ps.agents_total = c.phase.agents_total;
  renderer_->update(ps);
}

void MetricsSink::on_interval(const ClosedInterval& c) {
  metrics_->interval(c.finished, c.so_far, c.row, c.latency,
                     c.agent_requests ? c.agent_requests() : decltype(c.agent_requests())(),
                     c.phase.interval_s, c.names != nullptr ? *c.names : ByName{});
}

}  // namespace horde
