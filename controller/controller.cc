#include "controller/controller.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/wire.h"
#include "controller/backend_results.h"
#include "controller/compare.h"
#include "controller/cpu_evidence.h"
#include "controller/data_plan.h"
#include "controller/merge.h"
#include "controller/metrics.h"
#include "controller/observed.h"
#include "controller/observer.h"
#include "controller/phase_accumulator.h"
#include "controller/phase_state.h"
#include "controller/plan.h"
#include "controller/reachability.h"
#include "controller/report_html.h"
#include "controller/scale.h"

namespace horde {

namespace {
using SteadyClock = std::chrono::steady_clock;
std::mutex g_abort_mu;  // guards Controller::abort_reason_
}  // namespace

std::string make_run_id() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::random_device rd;
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{:04x}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rd() & 0xffff);
}

Controller::Controller(ControllerOptions options)
    : opt_(std::move(options)), server_(&events_), registry_(opt_.expect_agents) {
  result_.run_id = make_run_id();
  result_.workload = to_json(opt_.workload);
  out_dir_ = opt_.out_dir.empty() ? "results/" + result_.run_id : opt_.out_dir;
  progress_ = ProgressRenderer::for_stream(stdout, opt_.progress_in_place);
  result_.observe = opt_.workload.observe;
  if (!opt_.workload.observe.empty()) {
    observer_ = std::make_unique<Observer>(opt_.workload.observe);
  }
}

Controller::~Controller() { server_.shutdown(); }

Result<int> Controller::listen() {
  SessionServer::Options so;
  so.listen = opt_.listen;
  so.security = opt_.security;
  if (!opt_.metrics_listen.empty() && !metrics_) {
    auto metrics = std::make_unique<MetricsServer>();
    auto port = metrics->start(opt_.metrics_listen);
    if (!port) return port.error();
    metrics->set_request_names(request_names(opt_.workload));
    spdlog::info("metrics on http://{}/metrics (port {})", opt_.metrics_listen, *port);
    metrics_ = std::move(metrics);
  }
  return server_.start(so);
}

void Controller::abort(const std::string& reason) {
  {
    std::lock_guard lock(g_abort_mu);
    if (abort_reason_.empty()) abort_reason_ = reason;
  }
  abort_requested_ = true;
  events_.push(SessionEvent{SessionEvent::Kind::kClosed, 0, {}, 0, {}});  // wake the loop
}

void Controller::pump_until(SteadyClock::time_point deadline) {
  for (;;) {
    ping_all();
    const auto wake = std::min(deadline, next_ping_);
    auto e = events_.pop_until(wake);
    if (e) handle(*e);
    if (abort_requested_ || SteadyClock::now() >= deadline) return;
    // The last report of an interval arrived: back to the run loop to publish it.
    if (e && phase_ && phase_->merger->next_ready()) return;
  }
}

bool Controller::wait_for_agents() {
  const auto deadline = SteadyClock::now() + opt_.join_timeout;
  spdlog::info("waiting for {} agent(s) (timeout {} s)", opt_.expect_agents,
               opt_.join_timeout.count() / 1000);
  while (!abort_requested_) {
    const uint32_t ready = registry_.ready_count();
    registry_.prune_roster();  // sessions that ended before the start
    if (ready >= opt_.expect_agents) return true;
    if (SteadyClock::now() >= deadline) {
      const std::string why = fmt::format(
          "only {} of {} expected agents joined within {} s; start more agents with `horde agent "
          "--controller {}{}`{} or lower --expect-agents",
          registry_.roster().size(), opt_.expect_agents, opt_.join_timeout.count() / 1000,
          opt_.listen, opt_.security.token.empty() ? "" : " --token-file FILE",
          opt_.security.token.empty() ? "" : " (FILE holding the controller's token)");
      abort(why);
      return false;
    }
    pump_until(std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(100)));
  }
  return false;
}

bool Controller::start_phase(uint32_t index, const PhaseSpec& spec) {
  const Workload& w = spec.workload;
  // The first `spec.agents` agents still with us take part; the rest idle.
  std::vector<uint64_t> members;
  for (uint64_t id : registry_.roster()) {
    if (members.size() < spec.agents && !registry_.at(id).gone) members.push_back(id);
  }
  if (members.empty()) {
    abort("no agents left to run phase " + std::to_string(index));
    return false;
  }
  if (members.size() < spec.agents) {
    warn(fmt::format("phase {} ({}) runs on {} agent(s) instead of {}", index, spec.name,
                     members.size(), spec.agents));
  }
  std::vector<uint32_t> cores;
  for (uint64_t id : members) cores.push_back(registry_.at(id).threads);
  auto slices = split_load(w, cores);
  if (!slices) {
    abort(slices.error().message);
    return false;
  }
  plan_data(w.data, cores, index, &*slices);
  for (size_t i = 0; i < members.size(); ++i) {
    (*slices)[i].agent_name = registry_.at(members[i]).name;
  }

  const uint32_t intervals = interval_count(w.load);
  const auto total =
      std::chrono::duration_cast<SteadyClock::duration>(w.load.warmup + w.load.duration);
  // With stages the offered rate is the profile's mean, not load.rate (0).
  phase_ = std::make_unique<PhaseState>(index, spec.name, mean_offered_rate(w.load));
  PhaseState& p = *phase_;
  p.workload = &w;
  p.members = members;
  p.timing.interval_s = static_cast<double>(w.load.interval.count()) / 1000.0;
  p.timing.total_s = static_cast<double>((w.load.warmup + w.load.duration).count()) / 1000.0;
  p.timing.intervals = intervals;
  p.timing.warmup_intervals = warmup_interval_count(w.load);
  // The run's counts so far: no merged count of the run may wrap (checked at each report).
  const PhaseResult before = totals(result_.phases);
  p.merger = std::make_unique<PhaseMerger>(intervals, p.timing.warmup_intervals,
                                           std::set<uint64_t>(members.begin(), members.end()),
                                           before.counters, before.latency.total_count());
  p.interval = std::chrono::duration_cast<SteadyClock::duration>(w.load.interval);
  p.grace = p.interval + std::chrono::milliseconds(500);

  const auto start_unix = std::chrono::system_clock::now() + opt_.start_delay;
  const int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start_unix.time_since_epoch()).count();
  p.start = SteadyClock::now() + opt_.start_delay;
  p.end = p.start + total;
  p.hard_end = p.end + p.grace + std::chrono::seconds(5);
  p.view.index = index;
  p.view.name = spec.name;
  p.view.phase_count = planned_phase_count(opt_.workload);
  p.view.interval_s = p.timing.interval_s;
  p.view.total_s = p.timing.total_s;
  p.view.start_offset_s = std::chrono::duration<double>(p.start - run_start_).count();
  p.view.agents_total = static_cast<uint32_t>(members.size());
  if (observer_) {
    // Read beside the phase, on the observer's threads: the run loop never waits for a source.
    observer_->begin_phase(
        index,
        ObserveClock{p.start, std::chrono::duration<double>(start_unix.time_since_epoch()).count(),
                     w.load.interval, w.load.warmup + w.load.duration, intervals});
  }

  for (size_t i = 0; i < members.size(); ++i) {
    AgentRecord& a = registry_.at(members[i]);
    a.in_phase = true;
    a.phase_done = false;
    a.last_interval = -1;
    v1::ControllerMessage m;
    auto* as = m.mutable_assignment();
    as->set_run_id(result_.run_id);
    as->set_phase(index);
    to_wire((*slices)[i], as->mutable_slice());
    as->set_start_unix_ns(start_ns + a.clock.offset_ns());
    server_.send(a.session, m);
  }
  spdlog::info("phase {} ({}): {} agents, {}, {} + {} warm-up, start in {} ms", index, spec.name,
               members.size(), load_profile_text(w.load), format_duration(w.load.duration),
               format_duration(w.load.warmup), opt_.start_delay.count());
  return true;
}

uint32_t Controller::clock_interval(SteadyClock::time_point now) const {
  if (now <= phase_->start) return 0;
  return static_cast<uint32_t>(
      std::min<int64_t>((now - phase_->start) / phase_->interval, phase_->merger->intervals()));
}

uint32_t Controller::forced_before(SteadyClock::time_point now) const {
  // An interval its grace time past its end closes with whatever it holds.
  if (now <= phase_->start + phase_->grace) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(
      (now - phase_->start - phase_->grace) / phase_->interval, phase_->merger->intervals()));
}

void Controller::close_intervals(uint32_t force_before) {
  PhaseState& p = *phase_;
  // Each closed interval is handed on and forgotten: only open intervals hold a histogram.
  p.merger->close_ready(force_before, [&](ClosedMerge& m) {
    IntervalRow row = p.accumulator.row(p.timing, m.index, m.warmup, m.agents,
                                        std::move(m.counters), m.latency, unix_now_ns() / 1000);
    p.accumulator.add(row, m.latency, m.backends, m.names);
    uint32_t active = 0;
    for (uint64_t id : p.members) active += registry_.at(id).lost ? 0 : 1;
    const ClosedInterval closed{p.view,
                                row,
                                m.latency,
                                p.accumulator.result(),
                                result_.phases,
                                active,
                                [&] {
                                  std::vector<std::pair<std::string, uint64_t>> per_agent;
                                  for (uint64_t id : p.members) {
                                    per_agent.emplace_back(registry_.at(id).name,
                                                           p.merger->per_agent().at(id).requests);
                                  }
                                  return per_agent;
                                },
                                &m.backends,
                                &m.names};
    for (const auto& sink : sinks_) sink->on_interval(closed);
  });
}

void Controller::drop_silent(SteadyClock::time_point now) {
  const auto limit = silence_limit(phase_->interval);
  for (uint64_t id : registry_.silent(phase_->members, now, phase_->start, limit)) {
    AgentRecord& a = registry_.at(id);
    drop(a,
         fmt::format(
             "silent for {} ms (last interval reported: {})",
             std::chrono::duration_cast<std::chrono::milliseconds>(now - a.last_heard).count(),
             a.last_interval),
         true);
  }
}

bool Controller::members_finished() const {
  for (uint64_t id : phase_->members) {
    const AgentRecord& a = registry_.at(id);
    if (!a.phase_done && !a.gone) return false;
  }
  return true;
}

void Controller::run_phase(uint32_t index, const PhaseSpec& spec) {
  if (!start_phase(index, spec)) return;
  while (!abort_requested_) {
    // Handle everything already queued first: silence is judged on what the
    // agents sent, never on this thread's own backlog.
    while (auto e = events_.pop_until(SteadyClock::now())) handle(*e);
    const auto now = SteadyClock::now();
    close_intervals(forced_before(now));
    drop_silent(now);
    // Everything came, or nothing more can come (every member finished or was lost).
    const bool merged = phase_->merger->done() || phase_->merger->settled();
    if ((merged && members_finished()) || now >= phase_->hard_end) break;
    pump_until(std::min(phase_->hard_end, now + std::chrono::milliseconds(20)));
  }
  end_phase();
}

void Controller::end_phase() {
  PhaseState& p = *phase_;
  if (abort_requested_) {
    v1::ControllerMessage stop;
    stop.mutable_stop()->set_reason("run aborted");
    for (uint64_t id : p.members) server_.send(id, stop);
  }
  // Whatever is missing now will not come; what nobody reported and whose time
  // has not come is not invented (an abort or a phase everyone left ends here).
  close_intervals(std::max(forced_before(SteadyClock::now()), p.merger->reported_end()));
  for (uint64_t id : p.members) {
    AgentRecord& a = registry_.at(id);
    if (!a.phase_done && !a.gone && !abort_requested_) {
      a.lost = true;
      a.lost_reason = "did not finish the phase in time";
    }
    a.measured.add(p.merger->per_agent().at(id));
    a.in_phase = false;
  }
  if (observer_) {
    // The last interval's end is still read (each reading within its timeout);
    // after an abort, or when everyone left early, what is not due is not waited for.
    const auto now = SteadyClock::now();
    ObservedPhase seen =
        observer_->end_phase(abort_requested_ ? now : std::min(p.end, now + p.interval));
    for (IntervalRow& row : p.accumulator.result().intervals) {
      if (row.interval < seen.values.size()) row.observed = std::move(seen.values[row.interval]);
    }
    for (const auto& text : seen.warnings) warn(text);
  }
  p.accumulator.result().discarded_reports += p.merger->discarded_reports();
  p.accumulator.result().rejected_reports += p.merger->rejected_reports();
  PhaseResult res = p.accumulator.finish(p.timing.planned_measured_s(), abort_requested_);
  if (auto uneven = uneven_spread_warning(res, opt_.workload.spread.spread_warning)) warn(*uneven);
  for (const auto& sink : sinks_) sink->on_phase_end(res);
  result_.phases.push_back(std::move(res));
  phase_.reset();
}

void Controller::run_plan() {
  SweepPlanner planner(opt_.workload, static_cast<uint32_t>(registry_.roster().size()));
  const Sweep& sweep = opt_.workload.sweep;
  uint32_t index = 0;
  while (!abort_requested_) {
    auto spec = planner.next(result_.phases);
    if (!spec) break;
    if (spec->new_instances && spec->instances > 0 && !sweep.scale_command.empty()) {
      // A stop (SIGINT/SIGTERM) ends the command or the wait at once.
      auto scaled = run_scale_command(sweep.scale_command, spec->instances,
                                      std::chrono::minutes(10), &abort_requested_);
      if (scaled && sweep.ready) {
        scaled = wait_ready(*sweep.ready, spec->instances, &abort_requested_);
      }
      if (abort_requested_) break;
      if (!scaled) {
        warn("sweep ended: " + scaled.error().message + "; the points measured so far are kept");
        sweep_failed_ = true;
        break;
      }
    }
    run_phase(index++, *spec);
    if (registry_.roster_lost_count() > opt_.workload.faults.tolerate_lost_agents) break;
  }
  result_.scalability = planner.scalability();
  if (result_.scalability && !result_.observe.empty()) {
    for (ScalabilityPoint& pt : result_.scalability->points) {
      const auto it = std::find_if(result_.phases.begin(), result_.phases.end(),
                                   [&](const PhaseResult& r) { return r.index == pt.phase; });
      if (it == result_.phases.end()) continue;
      pt.observed = observed_stats(result_.observe, {&*it});
      const ObservedStat* cores = cores_stat(pt.observed);
      if (cores && *cores->mean > 0) pt.requests_per_core_second = pt.capacity_rps / *cores->mean;
    }
    if (auto cpu = cpu_evidence(*result_.scalability, sweep.cores_available)) {
      result_.scalability->cpu = cpu->to_json();
      if (!cpu->text.empty()) result_.scalability->verdict += " " + cpu->text;
    }
  }
  result_.capacity = planner.capacity();
  result_.scalability_passed = !result_.scalability || result_.scalability->passed;
}

int Controller::run() {
  std::error_code ec;
  std::filesystem::create_directories(out_dir_, ec);
  if (auto opened = interval_log_.open(out_dir_ + "/intervals.jsonl"); !opened) {
    spdlog::error("{} (give --out DIR with a writable directory)", opened.error().message);
    return 2;
  }
  run_start_ = SteadyClock::now();
  auto hlog = HlogWriter::open(
      out_dir_ + "/latency.hlog",
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  sinks_.push_back(std::make_unique<IntervalLogSink>(&interval_log_, result_.run_id));
  if (hlog) {
    hlog_.emplace(std::move(*hlog));
    sinks_.push_back(std::make_unique<HlogSink>(&*hlog_));
  } else {
    spdlog::warn("{}", hlog.error().message);
  }
  if (opt_.live) sinks_.push_back(std::make_unique<ProgressSink>(&progress_));
  if (metrics_) sinks_.push_back(std::make_unique<MetricsSink>(metrics_.get()));
  if (wait_for_agents()) run_plan();
  // Tell agents the run is over; they exit (--once) or wait for the next controller.
  v1::ControllerMessage stop;
  stop.mutable_stop()->set_reason("run complete");
  registry_.for_each([&](AgentRecord& a) {
    if (!a.gone) server_.send(a.session, stop);
  });
  server_.finish_all();

  for (uint64_t id : registry_.roster()) {
    const AgentRecord& a = registry_.at(id);
    result_.agents.push_back({a.name, a.host, a.cores, a.threads, a.measured.requests,
                              a.measured.errors, a.lost, a.lost_reason, a.last_interval,
                              a.measured.connections_opened, a.measured.connections_peak,
                              a.measured.reconnects});
    if (a.lost) {
      result_.warnings.push_back(fmt::format("agent {} was lost: {}", a.name, a.lost_reason));
    }
  }
  if (abort_requested_) {
    std::lock_guard lock(g_abort_mu);
    result_.aborted = true;
    result_.abort_reason = abort_reason_;
  } else {
    uint32_t lost = 0;
    for (const auto& a : result_.agents) lost += a.lost ? 1 : 0;
    if (lost > opt_.workload.faults.tolerate_lost_agents) {
      result_.aborted = true;
      result_.abort_reason =
          fmt::format("{} agent(s) lost during the run (tolerate_lost_agents: {})", lost,
                      opt_.workload.faults.tolerate_lost_agents);
    }
  }
  if (sweep_failed_ && !result_.aborted) {
    result_.aborted = true;
    result_.abort_reason = "the sweep could not scale the target (see warnings)";
  }
  if (!result_.aborted) {  // a phase that got no response at all measured nothing (exit 3)
    if (auto why = unreachable_reason(result_.phases, opt_.workload.targets)) {
      result_.aborted = true;
      result_.abort_reason = *why;
    }
  }
  result_.thresholds = evaluate(opt_.workload.thresholds, totals(result_.phases), result_.aborted,
                                request_names(opt_.workload));
  progress_.finish();
  std::printf("\n%s", summary_table(result_).c_str());
  if (result_.scalability) {
    std::printf("\n%s", scalability_table(result_.scalability->to_json()).c_str());
  }
  std::printf("%s", capacity_lines(to_json(result_.capacity)).c_str());
  std::fflush(stdout);
  if (auto written = write_results(result_, out_dir_); !written) {
    spdlog::error("{}", written.error().message);
    return 3;
  }
  if (auto report = write_report(out_dir_); !report) {
    spdlog::warn("report.html not written: {}", report.error().message);
  }
  std::printf(
      "results: %s/ (summary.json, intervals.csv, intervals.jsonl, latency.hlog, "
      "report.html)\n",
      out_dir_.c_str());
  std::printf("%s", closing_lines(result_).c_str());
  std::fflush(stdout);
  if (metrics_ && opt_.metrics_linger.count() > 0 && !abort_requested_) {
    // Prometheus pulls: without this its last scrape, up to a scrape interval before the
    // end, would miss the run's last intervals.
    spdlog::info("metrics stay on /metrics for {} ms (--metrics-linger)",
                 opt_.metrics_linger.count());
    const auto until = SteadyClock::now() + opt_.metrics_linger;
    while (!abort_requested_ && SteadyClock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  server_.shutdown();
  const int code = exit_code(result_);
  return opt_.workload.baseline ? compare_with_baseline(*opt_.workload.baseline, out_dir_, code)
                                : code;
}

}  // namespace horde
