// Tests for the phase accumulator: the live run (merger -> accumulator, each
// row logged to intervals.jsonl) and `horde report`'s rebuild from that log give
// the same phase - counters, histogram, rows and measured duration - when the
// phase ran to its end and when it was aborted half way.
#include "controller/phase_accumulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "controller/interval_log.h"
#include "controller/merge.h"

namespace horde {
namespace phase_accumulator_test {

IntervalReport report(uint32_t interval, uint64_t requests, std::mt19937_64& rng) {
  IntervalReport r;
  r.interval = interval;
  r.counters.requests = requests;
  r.counters.errors = requests / 7;
  r.counters.errors_by_class[static_cast<size_t>(ErrorClass::kHttp5xx)] = requests / 7;
  r.counters.status_codes[200] = requests - requests / 7;
  r.counters.status_codes[503] = requests / 7;
  r.counters.bytes_received = requests * 100;
  std::uniform_int_distribution<int64_t> us(100, 90'000);
  for (uint64_t i = 0; i < requests; ++i) r.latency.record(us(rng));
  return r;
}

struct Live {
  PhaseResult phase;
  std::vector<LoggedInterval> logged;
};

// What the controller does for one phase of 2 agents: merge, close intervals
// into the accumulator and the log, finish. Agents report intervals
// [0, reported), then stop.
Live run_live(const PhaseTiming& t, uint32_t reported, bool aborted, const std::string& path) {
  std::mt19937_64 rng(42);
  PhaseMerger merger(t.intervals, t.warmup_intervals, {1, 2});
  PhaseAccumulator acc(3, "rate 100", 100.0);
  IntervalLog log;
  EXPECT_TRUE(log.open(path).ok());
  // As Controller::close_intervals: each closed interval is handed on, then forgotten.
  auto close = [&](uint32_t force_before) {
    merger.close_ready(force_before, [&](ClosedMerge& m) {
      IntervalRow row = acc.row(t, m.index, m.warmup, m.agents, std::move(m.counters), m.latency,
                                1'700'000'000'000'000 + m.index);
      acc.add(row, m.latency);
      log.append(row, m.latency, "run-1");
    });
  };
  for (uint32_t i = 0; i < reported; ++i) {
    EXPECT_TRUE(merger.add(1, report(i, 50 + i, rng)).ok());
    EXPECT_TRUE(merger.add(2, report(i, 30 + 2 * i, rng)).ok());
    close(0);
  }
  merger.agent_finished(1);
  merger.agent_finished(2);
  close(merger.reported_end());  // as Controller::end_phase: nothing after the stop is invented
  Live out;
  out.phase = acc.finish(t.planned_measured_s(), aborted);
  std::string run_id;
  auto logged = read_interval_log(path, &run_id);
  EXPECT_TRUE(logged.ok());
  EXPECT_EQ(run_id, "run-1");
  if (logged) out.logged = *logged;
  return out;
}

void expect_same_measurement(const PhaseResult& live, const PhaseResult& rebuilt) {
  EXPECT_EQ(live.index, rebuilt.index);
  EXPECT_EQ(live.counters, rebuilt.counters);
  EXPECT_EQ(live.latency, rebuilt.latency);
  EXPECT_EQ(live.duration_s, rebuilt.duration_s);  // exactly: the same sum in the same order
  ASSERT_EQ(live.intervals.size(), rebuilt.intervals.size());
  for (size_t i = 0; i < live.intervals.size(); ++i) {
    const IntervalRow& a = live.intervals[i];
    const IntervalRow& b = rebuilt.intervals[i];
    SCOPED_TRACE("interval " + std::to_string(i));
    EXPECT_EQ(a.phase, b.phase);
    EXPECT_EQ(a.interval, b.interval);
    EXPECT_EQ(a.time_s, b.time_s);
    EXPECT_EQ(a.warmup, b.warmup);
    EXPECT_EQ(a.agents, b.agents);
    EXPECT_EQ(a.counters, b.counters);
    EXPECT_EQ(a.duration_s, b.duration_s);
    EXPECT_EQ(a.p50_us, b.p50_us);
    EXPECT_EQ(a.p99_us, b.p99_us);
    EXPECT_EQ(a.max_us, b.max_us);
  }
}

// 2 warm-up intervals, then 7.5 s measured at 1 s intervals: the last one is half long.
PhaseTiming timing() {
  PhaseTiming t;
  t.interval_s = 1.0;
  t.total_s = 9.5;
  t.intervals = 10;
  t.warmup_intervals = 2;
  return t;
}

std::string temp_log(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("horde-acc-" + std::to_string(::getpid()) + "-" + name + ".jsonl");
  std::filesystem::remove(path);
  return path.string();
}

TEST(PhaseTiming, RowsAndPlannedTime) {
  const PhaseTiming t = timing();
  EXPECT_DOUBLE_EQ(t.interval_length_s(0), 1.0);
  EXPECT_DOUBLE_EQ(t.interval_length_s(9), 0.5);
  EXPECT_DOUBLE_EQ(t.interval_end_s(0), -1.0);  // warm-up: before the measured start
  EXPECT_DOUBLE_EQ(t.interval_end_s(2), 1.0);
  EXPECT_DOUBLE_EQ(t.planned_measured_s(), 7.5);
  PhaseTiming only_warmup = t;
  only_warmup.warmup_intervals = 10;
  EXPECT_EQ(only_warmup.planned_measured_s(), 0.0);
}

TEST(PhaseAccumulator, LiveEqualsRebuiltOnANormalEnd) {
  const PhaseTiming t = timing();
  const std::string path = temp_log("normal");
  const Live live = run_live(t, t.intervals, false, path);
  EXPECT_EQ(live.phase.name, "rate 100");
  EXPECT_EQ(live.phase.offered_rps, 100.0);
  EXPECT_EQ(live.phase.intervals.size(), 10u);
  EXPECT_EQ(live.phase.duration_s, 7.5);
  // The measured sums are the sums of the measured rows (a truth computed apart).
  uint64_t requests = 0;
  for (uint32_t i = 2; i < 10; ++i) requests += (50 + i) + (30 + 2 * i);
  EXPECT_EQ(live.phase.counters.requests, requests);
  EXPECT_EQ(live.phase.latency.total_count(), requests);

  const RunResult rebuilt = rebuild_from_intervals(live.logged, "run-1");
  ASSERT_EQ(rebuilt.phases.size(), 1u);
  EXPECT_EQ(rebuilt.phases[0].name, "phase3");
  expect_same_measurement(live.phase, rebuilt.phases[0]);
  std::filesystem::remove(path);
}

TEST(PhaseAccumulator, LiveEqualsRebuiltOnAnAbort) {
  const PhaseTiming t = timing();
  // Aborted after 6 intervals (4 measured): what closes after them is empty and does not count.
  const std::string path = temp_log("abort");
  const Live live = run_live(t, 6, true, path);
  EXPECT_GE(live.phase.intervals.size(), 6u);
  EXPECT_EQ(live.phase.intervals.size(), 6u);  // nothing invented after the stop
  EXPECT_EQ(live.logged.size(), live.phase.intervals.size());
  EXPECT_EQ(live.phase.duration_s, 4.0);
  const RunResult rebuilt = rebuild_from_intervals(live.logged, "run-1");
  ASSERT_EQ(rebuilt.phases.size(), 1u);
  expect_same_measurement(live.phase, rebuilt.phases[0]);

  // A controller that died instead left only what it had closed: the same
  // measured figures and time.
  std::vector<LoggedInterval> before_death(live.logged.begin(), live.logged.begin() + 6);
  const RunResult died = rebuild_from_intervals(before_death, "run-1");
  ASSERT_EQ(died.phases.size(), 1u);
  EXPECT_EQ(died.phases[0].counters, live.phase.counters);
  EXPECT_EQ(died.phases[0].latency, live.phase.latency);
  EXPECT_EQ(died.phases[0].duration_s, live.phase.duration_s);

  // Aborted in the last, half-long interval: it counts with its own length.
  const std::string path2 = temp_log("abort-last");
  const Live late = run_live(t, 10, true, path2);
  EXPECT_EQ(late.phase.duration_s, 7.5);
  expect_same_measurement(late.phase, rebuild_from_intervals(late.logged, "run-1").phases[0]);
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

TEST(PhaseAccumulator, AbortNeverCountsMoreThanThePlan) {
  PhaseAccumulator acc(0, "p", std::nullopt);
  PhaseTiming t;
  t.interval_s = 1;
  t.total_s = 2;
  t.intervals = 2;
  Counters c;
  c.requests = 5;
  Histogram h;
  for (uint32_t i = 0; i < 2; ++i) acc.add(acc.row(t, i, false, 1, c, h, 0), h);
  EXPECT_EQ(acc.finish(1.5, true).duration_s, 1.5);
}

}  // namespace phase_accumulator_test
}  // namespace horde
