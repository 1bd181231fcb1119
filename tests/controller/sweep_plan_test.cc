// Tests for the sweep planner: which phases a sweep or a capacity search runs,
// driven by fabricated phase results (a fake target with a known capacity), so
// the search's path, its end and the scalability points are checked against
// truths computed by hand. No network.
#include "controller/sweep_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/workload_yaml.h"

namespace horde {
namespace sweep_plan_test {

constexpr double kDuration = 10;  // seconds every fake phase measured

Workload load(const std::string& yaml) {
  auto w = parse_workload(yaml, "test.yaml");
  if (!w) ADD_FAILURE() << w.error().message;
  auto f = finalize_workload(w.ok() ? *w : Workload{}, "test.yaml");
  if (!f) ADD_FAILURE() << f.error().message;
  return f.ok() ? *f : Workload{};
}

// A phase result as the controller would merge it: `achieved` requests/s over
// kDuration seconds, every latency sample at `latency_us`.
PhaseResult fake_result(std::optional<double> offered, double achieved, int64_t latency_us) {
  PhaseResult r;
  r.duration_s = kDuration;
  r.counters.requests = static_cast<uint64_t>(std::llround(achieved * kDuration));
  r.offered_rps = offered;
  if (r.counters.requests > 0) r.latency.record_n(latency_us, r.counters.requests);
  return r;
}

// A target that sustains `capacity` requests/s: below it, 99% of the offered
// rate at 5 ms; above it, `capacity` at 500 ms (breaks a p99 < 100ms SLO).
std::function<PhaseResult(const PhaseSpec&)> fake_target(double capacity) {
  return [capacity](const PhaseSpec& p) {
    const double offered = p.workload.load.rate;
    if (offered <= capacity) return fake_result(offered, 0.99 * offered, 5'000);
    return fake_result(offered, capacity, 500'000);
  };
}

struct Driven {
  std::vector<PhaseSpec> specs;
  std::vector<PhaseResult> done;
};

Driven drive(SweepPlanner& planner, const std::function<PhaseResult(const PhaseSpec&)>& target) {
  Driven d;
  while (auto spec = planner.next(d.done)) {
    // Every planned phase is a load the agents accept.
    if (auto ok = check_load(spec->workload.load, spec->name); !ok) {
      ADD_FAILURE() << ok.error().message;
    }
    PhaseResult r = target(*spec);
    r.index = static_cast<uint32_t>(d.done.size());
    r.name = spec->name;
    d.specs.push_back(*spec);
    d.done.push_back(std::move(r));
    if (d.done.size() > 10'000) {
      ADD_FAILURE() << "the plan never ends";
      break;
    }
  }
  return d;
}

double rate_of(const PhaseSpec& p) { return p.workload.load.rate; }

double achieved(const PhaseResult& r) {
  return static_cast<double>(r.counters.requests) / r.duration_s;
}

std::string capacity_yaml(const std::string& extra) {
  return "target: http://127.0.0.1:1/\n"
         "load: {mode: closed, connections: 20, duration: 30s, warmup: 2s}\n"
         "capacity:\n"
         "  slo: [\"p99 < 100ms\", \"error_rate < 1%\"]\n" +
         extra;
}

// ---- plain runs and simple sweeps ----

TEST(SweepPlanner, NoSweepIsOnePhaseWithTheBaseWorkload) {
  const Workload base = load(
      "target: http://127.0.0.1:1/\nload: {mode: open, rate: 300, connections: 8, duration: 5s}\n");
  SweepPlanner planner(base, 3);
  const Driven d = drive(planner, [](const PhaseSpec&) { return fake_result(300, 300, 1'000); });
  ASSERT_EQ(d.specs.size(), 1u);
  EXPECT_EQ(d.specs[0].workload, base);
  EXPECT_EQ(d.specs[0].agents, 3u);
  EXPECT_EQ(d.specs[0].instances, 0u);
  EXPECT_TRUE(planner.scalability_json().is_null());
  EXPECT_EQ(planner.capacity_json(), nlohmann::json::array());
  EXPECT_TRUE(planner.passed());
  EXPECT_TRUE(planner.points().empty());
}

TEST(SweepPlanner, RatesSweepRunsOneOpenLoopPhasePerRate) {
  const Workload base = load(
      "target: http://127.0.0.1:1/\n"
      "load: {mode: closed, connections: 16, duration: 4s}\n"
      "sweep: {rates: [100, 250.5, 1000]}\n");
  SweepPlanner planner(base, 2);
  const Driven d =
      drive(planner, [](const PhaseSpec& p) { return fake_result(rate_of(p), rate_of(p), 2'000); });
  const std::vector<double> rates = {100, 250.5, 1000};
  ASSERT_EQ(d.specs.size(), rates.size());
  for (size_t i = 0; i < rates.size(); ++i) {
    const LoadSpec& l = d.specs[i].workload.load;
    EXPECT_EQ(l.mode, LoadMode::kOpen) << i;
    EXPECT_DOUBLE_EQ(l.rate, rates[i]) << i;
    // Open loop connects on demand: the closed pool is the bound, none opened in advance.
    EXPECT_EQ(l.max_connections, 16u) << i;
    EXPECT_EQ(l.connections, 0u) << i;
    EXPECT_EQ(l.duration, base.load.duration) << i;
    EXPECT_EQ(d.specs[i].agents, 2u) << i;
    EXPECT_EQ(d.specs[i].workload.targets, base.targets) << i;
  }
  EXPECT_EQ(d.specs[2].name, "1000 rps");
  EXPECT_TRUE(planner.scalability_json().is_null());
  EXPECT_EQ(planner.capacity_json(), nlohmann::json::array());
  EXPECT_TRUE(planner.passed());
}

TEST(SweepPlanner, AgentsSweepMultipliesThePerAgentLoadAndCapsAtTheRoster) {
  const Workload base = load(
      "target: http://127.0.0.1:1/\n"
      "load: {mode: open, rate: 100, connections: 5, duration: 3s}\n"
      "sweep: {agents: [1, 2, 4, 8]}\n");
  SweepPlanner planner(base, 4);
  const Driven d =
      drive(planner, [](const PhaseSpec& p) { return fake_result(rate_of(p), rate_of(p), 1'000); });
  const std::vector<uint32_t> agents = {1, 2, 4, 4};  // 8 is capped at the roster of 4
  ASSERT_EQ(d.specs.size(), agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    EXPECT_EQ(d.specs[i].agents, agents[i]) << i;
    EXPECT_EQ(d.specs[i].workload.load.connections, 5 * agents[i]) << i;
    EXPECT_DOUBLE_EQ(d.specs[i].workload.load.rate, 100.0 * agents[i]) << i;
    EXPECT_EQ(d.specs[i].instances, 0u) << i;
  }
  EXPECT_EQ(d.specs[0].name, "agents 1");
  const auto s = planner.scalability_json();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["kind"], "agents");
  ASSERT_EQ(s["points"].size(), 4u);
  for (size_t i = 0; i < agents.size(); ++i) {
    EXPECT_EQ(s["points"][i]["n"], agents[i]);
    EXPECT_NEAR(s["points"][i]["capacity_rps"].get<double>(), 100.0 * agents[i], 1e-9);
    EXPECT_NEAR(s["points"][i]["efficiency"].get<double>(), 1.0, 1e-9);
    EXPECT_EQ(s["points"][i]["phase"], i);
  }
  EXPECT_TRUE(planner.passed());
  EXPECT_EQ(SweepPlanner::agents_needed(base, 1), 8u);
  EXPECT_EQ(SweepPlanner::agents_needed(base, 10), 10u);
}

TEST(SweepPlanner, AgentsSweepKeepsThePerAgentStagesAndPoolLimit) {
  const Workload open = load(
      "target: http://127.0.0.1:1/\n"
      "load:\n"
      "  mode: open\n"
      "  connections: 4\n"
      "  max_connections: 16\n"
      "  stages: [{duration: 2s, rate: 50}, {duration: 3s, rate: 200}]\n"
      "sweep: {agents: [1, 3]}\n");
  SweepPlanner planner(open, 3);
  const Driven d = drive(planner, [](const PhaseSpec&) { return fake_result(100, 100, 1'000); });
  ASSERT_EQ(d.specs.size(), 2u);
  const LoadSpec& l = d.specs[1].workload.load;
  EXPECT_EQ(l.connections, 12u);
  EXPECT_EQ(l.max_connections, 48u);
  ASSERT_EQ(l.stages.size(), 2u);
  EXPECT_DOUBLE_EQ(l.stages[0].rate, 150);
  EXPECT_DOUBLE_EQ(l.stages[1].rate, 600);
  EXPECT_EQ(l.stages[1].duration, open.load.stages[1].duration);

  const Workload closed = load(
      "target: http://127.0.0.1:1/\n"
      "load: {mode: closed, connections: 10, stages: [{duration: 1s, connections: 10}]}\n"
      "sweep: {agents: [1, 2]}\n");
  SweepPlanner p2(closed, 2);
  const Driven d2 = drive(p2, [](const PhaseSpec&) { return fake_result({}, 100, 1'000); });
  ASSERT_EQ(d2.specs.size(), 2u);
  EXPECT_EQ(d2.specs[1].workload.load.connections, 20u);
  EXPECT_EQ(d2.specs[1].workload.load.stages[0].connections, 20u);
}

TEST(SweepPlanner, RatesSweepHoldsEachRateInsteadOfTheStages) {
  const Workload base = load(
      "target: http://127.0.0.1:1/\n"
      "load: {mode: open, connections: 8, stages: [{duration: 4s, rate: 500}]}\n"
      "sweep: {rates: [100, 200]}\n");
  SweepPlanner planner(base, 1);
  const Driven d =
      drive(planner, [](const PhaseSpec& p) { return fake_result(rate_of(p), rate_of(p), 1'000); });
  ASSERT_EQ(d.specs.size(), 2u);
  for (const PhaseSpec& p : d.specs) {
    EXPECT_TRUE(p.workload.load.stages.empty());
    EXPECT_EQ(p.workload.load.duration, base.load.duration);
  }
  EXPECT_DOUBLE_EQ(rate_of(d.specs[1]), 200);
}

TEST(SweepPlanner, InstancesSweepWithTargetsUsesTheFirstK) {
  const Workload base = load(
      "targets: [http://127.0.0.1:1/, http://127.0.0.1:2/, http://127.0.0.1:3/]\n"
      "load: {mode: closed, connections: 30, duration: 3s}\n"
      "sweep: {instances: [1, 2, 3]}\n");
  SweepPlanner planner(base, 2);
  const Driven d = drive(planner, [](const PhaseSpec& p) {
    return fake_result(std::nullopt, 100.0 * static_cast<double>(p.workload.targets.size()), 1'000);
  });
  ASSERT_EQ(d.specs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const PhaseSpec& p = d.specs[i];
    EXPECT_EQ(p.instances, i + 1);
    ASSERT_EQ(p.workload.targets.size(), i + 1);
    for (size_t t = 0; t <= i; ++t) EXPECT_EQ(p.workload.targets[t], base.targets[t]);
    EXPECT_TRUE(p.new_instances);
    EXPECT_EQ(p.agents, 2u);
    EXPECT_EQ(p.workload.load, base.load);  // the load is the same at every k
  }
  EXPECT_EQ(d.specs[2].name, "instances 3");
}

TEST(SweepPlanner, ScaleCommandKeepsTargetsAndScalesOncePerInstanceCount) {
  const Workload base = load(capacity_yaml("  start_rate: 100\n  max_steps: 6\n") +
                             "sweep:\n"
                             "  instances: [1, 2, 4]\n"
                             "  scale_command: kubectl scale deploy/web --replicas={instances}\n");
  SweepPlanner planner(base, 1);
  const Driven d =
      drive(planner, [](const PhaseSpec& p) { return fake_target(300.0 * p.instances)(p); });
  ASSERT_FALSE(d.specs.empty());
  uint32_t last_k = 0;
  size_t groups = 0;
  for (const PhaseSpec& p : d.specs) {
    EXPECT_EQ(p.workload.targets, base.targets);
    EXPECT_EQ(p.new_instances, p.instances != last_k) << p.name;
    if (p.instances != last_k) ++groups;
    EXPECT_GE(p.instances, last_k);
    last_k = p.instances;
  }
  EXPECT_EQ(groups, 3u);
  EXPECT_EQ(last_k, 4u);
}

// ---- capacity search ----

struct SearchCase {
  double capacity;
  std::string extra;  // capacity keys besides slo
};

// The search's shape on a target of known capacity: up by step/factor until the
// first failure, then bisection, ending with good <= C < bad within precision.
void check_search(const SearchCase& c) {
  SCOPED_TRACE("capacity " + std::to_string(c.capacity) + " with\n" + c.extra);
  const Workload base = load(capacity_yaml(c.extra));
  const CapacitySearch& cs = *base.capacity;
  SweepPlanner planner(base, 1);
  const Driven d = drive(planner, fake_target(c.capacity));
  ASSERT_FALSE(d.specs.empty());
  EXPECT_LE(d.specs.size(), cs.max_steps);

  // Stepping up: start_rate, then + step or x factor, while each passes.
  size_t i = 0;
  double expect = cs.start_rate;
  for (; i < d.specs.size() && rate_of(d.specs[i]) <= c.capacity; ++i) {
    EXPECT_NEAR(rate_of(d.specs[i]), std::min(expect, cs.max_rate), 1e-9) << "phase " << i;
    expect = cs.step > 0 ? expect + cs.step : expect * cs.factor;
  }
  double good = -1, bad = -1;
  for (const PhaseSpec& p : d.specs) {
    EXPECT_EQ(p.workload.load.mode, LoadMode::kOpen);
    EXPECT_EQ(p.workload.load.duration, cs.hold);
    EXPECT_TRUE(p.workload.load.stages.empty());
    const double r = rate_of(p);
    if (r <= c.capacity) {
      good = std::max(good, r);
    } else {
      bad = bad < 0 ? r : std::min(bad, r);
    }
  }
  // Bisection never leaves the bracket (good, bad) known when it was chosen.
  double lo = 0, hi = -1;
  for (const PhaseSpec& p : d.specs) {
    const double r = rate_of(p);
    if (hi > 0) {
      EXPECT_GT(r, lo);
      EXPECT_LT(r, hi);
    }
    if (r <= c.capacity) {
      lo = std::max(lo, r);
    } else {
      hi = hi < 0 ? r : std::min(hi, r);
    }
  }

  const auto caps = planner.capacity_json();
  ASSERT_EQ(caps.size(), 1u);
  const auto& s = caps[0];
  EXPECT_EQ(s["steps"], d.specs.size());
  EXPECT_TRUE(s["instances"].is_null());
  if (bad < 0) {
    // Never failed: the search stopped at max_rate or max_steps.
    EXPECT_TRUE(s["lowest_bad_rate"].is_null());
    EXPECT_TRUE(rate_of(d.specs.back()) >= cs.max_rate || d.specs.size() == cs.max_steps);
  } else {
    EXPECT_DOUBLE_EQ(s["lowest_bad_rate"].get<double>(), bad);
    EXPECT_GT(bad, c.capacity);
  }
  if (good < 0) {
    EXPECT_TRUE(s["highest_good_rate"].is_null());
    EXPECT_TRUE(s["phase"].is_null());
    EXPECT_EQ(s["capacity_rps"].get<double>(), 0.0);
    return;
  }
  EXPECT_DOUBLE_EQ(s["highest_good_rate"].get<double>(), good);
  EXPECT_LE(good, c.capacity);
  const auto phase = s["phase"].get<size_t>();
  ASSERT_LT(phase, d.done.size());
  EXPECT_DOUBLE_EQ(rate_of(d.specs[phase]), good);
  // Capacity is what the best passing phase achieved (99% of offered here), not its offer.
  EXPECT_DOUBLE_EQ(s["capacity_rps"].get<double>(), achieved(d.done[phase]));
  EXPECT_NEAR(s["capacity_rps"].get<double>(), 0.99 * good, 0.1);
  EXPECT_DOUBLE_EQ(s["p99_ms"].get<double>(),
                   static_cast<double>(d.done[phase].latency.value_at_percentile(99)) / 1000.0);
  if (bad > 0 && d.specs.size() < cs.max_steps) {
    // Ended by precision (or a 1 rps bracket), never before.
    EXPECT_TRUE(bad - good <= cs.precision * good || bad - good <= 1.0)
        << "good " << good << " bad " << bad;
  }
}

TEST(CapacitySearch, FactorStepsThenBisectsToWithinPrecision) {
  for (double cap : {150.0, 777.0, 1234.0, 5000.0, 99'999.0}) {
    check_search({cap, "  start_rate: 100\n  factor: 2\n  precision: 0.05\n  max_rate: 200000\n"});
  }
}

TEST(CapacitySearch, AdditiveStepThenBisects) {
  for (double cap : {450.0, 1010.0, 3333.0}) {
    check_search({cap, "  start_rate: 100\n  step: 100\n  precision: 0.02\n"});
  }
}

TEST(CapacitySearch, KnownPathForCapacity1234) {
  const Workload base = load(capacity_yaml("  start_rate: 100\n  factor: 2\n  hold: 3s\n"));
  SweepPlanner planner(base, 1);
  const Driven d = drive(planner, fake_target(1234));
  std::vector<double> rates;
  for (const auto& p : d.specs) rates.push_back(rate_of(p));
  // Up x2 to the first failure at 1600, then halve the bracket until
  // (bad - good) <= 5% of good: 1250 - 1200 = 50 <= 60.
  EXPECT_EQ(rates, (std::vector<double>{100, 200, 400, 800, 1600, 1200, 1400, 1300, 1250}));
  EXPECT_EQ(d.specs[0].name, "100 rps");
  EXPECT_TRUE(d.specs[0].new_instances);
  for (size_t i = 1; i < d.specs.size(); ++i) EXPECT_FALSE(d.specs[i].new_instances);
  const auto s = planner.capacity_json()[0];
  EXPECT_EQ(s["highest_good_rate"], 1200.0);
  EXPECT_EQ(s["lowest_bad_rate"], 1250.0);
  EXPECT_EQ(s["phase"], 5);
  EXPECT_EQ(s["steps"], 9);
}

TEST(CapacitySearch, NeverExceedsMaxSteps) {
  for (uint32_t max_steps : {1u, 3u, 5u, 7u, 12u}) {
    check_search({1234, "  start_rate: 100\n  precision: 0.001\n  max_steps: " +
                            std::to_string(max_steps) + "\n"});
    const Workload base =
        load(capacity_yaml("  start_rate: 100\n  precision: 0.001\n"
                           "  max_steps: " +
                           std::to_string(max_steps) + "\n"));
    SweepPlanner planner(base, 1);
    const Driven d = drive(planner, fake_target(1234));
    EXPECT_EQ(d.specs.size(), max_steps);
  }
}

TEST(CapacitySearch, FirstStepFailingBisectsTowardZero) {
  // Capacity below the start rate: the search halves down to it.
  check_search({30, "  start_rate: 100\n"});
  // A target that fails everything ends with capacity 0 and no phase.
  const Workload base = load(capacity_yaml("  start_rate: 100\n"));
  SweepPlanner planner(base, 1);
  const Driven d = drive(planner, fake_target(0));
  ASSERT_GE(d.specs.size(), 2u);
  EXPECT_LE(d.specs.size(), base.capacity->max_steps);
  for (size_t i = 1; i < d.specs.size(); ++i) {
    EXPECT_LT(rate_of(d.specs[i]), rate_of(d.specs[i - 1]));
  }
  EXPECT_LE(rate_of(d.specs.back()), 1.0);
  const auto s = planner.capacity_json()[0];
  EXPECT_EQ(s["capacity_rps"], 0.0);
  EXPECT_TRUE(s["phase"].is_null());
  EXPECT_TRUE(s["p99_ms"].is_null());
  EXPECT_TRUE(s["highest_good_rate"].is_null());
  EXPECT_EQ(s["lowest_bad_rate"], rate_of(d.specs.back()));
}

TEST(CapacitySearch, ATargetThatAnswersNothingEndsTheSearchAtOnce) {
  // Issue 17: every request of the first step failed with no response (nothing
  // listens): the search stops there and says the target is down; bisecting
  // toward 0 rps would only repeat it and end with "capacity 0".
  const Workload base = load(capacity_yaml("  start_rate: 100\n"));
  SweepPlanner planner(base, 1);
  const Driven d = drive(planner, [](const PhaseSpec& p) {
    PhaseResult r = fake_result(rate_of(p), rate_of(p), 1'000);
    r.latency = Histogram{};
    r.counters.errors = r.counters.requests;
    r.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = r.counters.requests;
    return r;
  });
  ASSERT_EQ(d.specs.size(), 1u);
  const auto s = planner.capacity_json()[0];
  EXPECT_TRUE(s["target_unreachable"].get<bool>());
  EXPECT_EQ(s["unanswered_rate"], 100.0);
  EXPECT_EQ(s["steps"], 1);
  EXPECT_TRUE(s["highest_good_rate"].is_null());
  const std::string line = capacity_lines(planner.capacity_json());
  EXPECT_EQ(line,
            "capacity: unknown - the target answered no request at 100 rps (every one failed): "
            "it is down or unreachable, not at its capacity; 1 step(s)\n");
  // A target that answers, even only with errors, is still searched (fake_target(0) above).
}

TEST(CapacitySearch, MaxRateReachedWhilePassingEndsTheSearch) {
  check_search({1e9, "  start_rate: 100\n  factor: 3\n  max_rate: 1000\n"});
  const Workload base = load(capacity_yaml("  start_rate: 100\n  factor: 3\n  max_rate: 1000\n"));
  SweepPlanner planner(base, 1);
  const Driven d = drive(planner, fake_target(1e9));
  std::vector<double> rates;
  for (const auto& p : d.specs) rates.push_back(rate_of(p));
  EXPECT_EQ(rates, (std::vector<double>{100, 300, 900, 1000}));  // the last is clamped
  const auto s = planner.capacity_json()[0];
  EXPECT_EQ(s["highest_good_rate"], 1000.0);
  EXPECT_TRUE(s["lowest_bad_rate"].is_null());
}

TEST(CapacitySearch, FailsOnAchievedBelowOfferedOrErrors) {
  const Workload base = load(capacity_yaml("  start_rate: 1000\n  max_steps: 1\n"));
  {
    // Fast answers, but only 90% of the offered rate: min_achieved (0.98) fails it.
    SweepPlanner planner(base, 1);
    drive(planner, [](const PhaseSpec& p) { return fake_result(rate_of(p), 900, 1'000); });
    EXPECT_TRUE(planner.capacity_json()[0]["highest_good_rate"].is_null());
  }
  {
    // Every rate achieved, but 5% errors break error_rate < 1%.
    SweepPlanner planner(base, 1);
    drive(planner, [](const PhaseSpec& p) {
      PhaseResult r = fake_result(rate_of(p), rate_of(p), 1'000);
      r.counters.errors = r.counters.requests / 20;
      return r;
    });
    EXPECT_TRUE(planner.capacity_json()[0]["highest_good_rate"].is_null());
  }
  {
    SweepPlanner planner(base, 1);
    drive(planner, [](const PhaseSpec& p) { return fake_result(rate_of(p), 990, 1'000); });
    EXPECT_EQ(planner.capacity_json()[0]["highest_good_rate"], 1000.0);
  }
}

// ---- instances sweep with a search at each k: scalability ----

// The truth: USL with sigma 0.1, kappa 0, 400 rps per instance.
double usl_capacity(uint32_t k) { return 400.0 * k / (1 + 0.1 * (k - 1)); }

TEST(SweepPlanner, InstancesSweepWithCapacityGivesOnePointPerK) {
  const Workload base = load(
      "targets: [http://127.0.0.1:1/, http://127.0.0.1:2/, http://127.0.0.1:3/, "
      "http://127.0.0.1:4/]\n"
      "load: {mode: closed, connections: 20}\n"
      "capacity: {slo: [\"p99 < 100ms\"], start_rate: 100, precision: 0.01}\n"
      "sweep: {instances: [1, 2, 3, 4], min_efficiency: 0.8}\n");
  SweepPlanner planner(base, 2);
  const Driven d = drive(planner, [](const PhaseSpec& p) {
    return fake_target(usl_capacity(static_cast<uint32_t>(p.workload.targets.size())))(p);
  });
  const auto caps = planner.capacity_json();
  ASSERT_EQ(caps.size(), 4u);
  ASSERT_EQ(planner.points().size(), 4u);
  for (uint32_t k = 1; k <= 4; ++k) {
    const auto& pt = planner.points()[k - 1];
    EXPECT_EQ(pt.n, k);
    EXPECT_EQ(caps[k - 1]["instances"], k);
    ASSERT_GE(pt.phase, 0);
    const PhaseSpec& best = d.specs[static_cast<size_t>(pt.phase)];
    EXPECT_EQ(best.instances, k);
    EXPECT_EQ(best.workload.targets.size(), k);
    EXPECT_DOUBLE_EQ(pt.capacity_rps, achieved(d.done[static_cast<size_t>(pt.phase)]));
    EXPECT_DOUBLE_EQ(caps[k - 1]["capacity_rps"].get<double>(), pt.capacity_rps);
    // Within precision of the truth (and 99% of offered is what the fake achieves).
    EXPECT_LE(rate_of(best), usl_capacity(k));
    EXPECT_GE(rate_of(best), usl_capacity(k) / 1.01 - 1.0);
    EXPECT_NEAR(pt.p99_ms, 5.0, 0.01);
  }
  const auto s = planner.scalability_json();
  EXPECT_EQ(s["kind"], "instances");
  // Efficiency at 4 is about 1 / 1.3 = 0.77 < 0.8: the verdict fails.
  const double eff4 = s["points"][3]["efficiency"].get<double>();
  EXPECT_NEAR(eff4, planner.points()[3].capacity_rps / (4 * planner.points()[0].capacity_rps),
              1e-9);
  EXPECT_NEAR(eff4, 1 / 1.3, 0.03);
  EXPECT_FALSE(s["passed"].get<bool>());
  EXPECT_FALSE(planner.passed());
}

TEST(SweepPlanner, ScalabilityJsonFitsUslAndJudgesEfficiency) {
  for (double min_eff : {0.7, 0.8}) {
    Workload base = load(
        "targets: [http://127.0.0.1:1/, http://127.0.0.1:2/, http://127.0.0.1:3/, "
        "http://127.0.0.1:4/, http://127.0.0.1:5/]\n"
        "load: {mode: closed, connections: 64, duration: 3s}\n"
        "sweep: {instances: [1, 2, 3, 4, 5]}\n");
    base.sweep.min_efficiency = min_eff;
    SweepPlanner planner(base, 1);
    drive(planner, [](const PhaseSpec& p) {
      return fake_result(std::nullopt, usl_capacity(p.instances), 8'000);
    });
    const auto s = planner.scalability_json();
    SCOPED_TRACE(s.dump(2));
    for (const char* key : {"kind", "points", "usl", "verdict", "passed", "min_efficiency"}) {
      EXPECT_TRUE(s.contains(key)) << key;
    }
    EXPECT_EQ(s["kind"], "instances");
    EXPECT_EQ(s["min_efficiency"], min_eff);
    ASSERT_EQ(s["points"].size(), 5u);
    const double x1 = s["points"][0]["capacity_rps"].get<double>();
    for (uint32_t k = 1; k <= 5; ++k) {
      const auto& p = s["points"][k - 1];
      EXPECT_EQ(p["n"], k);
      EXPECT_NEAR(p["capacity_rps"].get<double>(), usl_capacity(k), 0.1);
      EXPECT_NEAR(p["efficiency"].get<double>(), p["capacity_rps"].get<double>() / (k * x1), 1e-9);
      EXPECT_NEAR(p["p99_ms"].get<double>(), 8.0, 0.01);
      EXPECT_EQ(p["phase"], k - 1);
    }
    ASSERT_TRUE(s["usl"].is_object());
    EXPECT_NEAR(s["usl"]["sigma"].get<double>(), 0.1, 0.01);
    EXPECT_NEAR(s["usl"]["kappa"].get<double>(), 0.0, 0.001);
    EXPECT_NEAR(s["usl"]["lambda"].get<double>(), 400, 2);
    EXPECT_FALSE(s["verdict"].get<std::string>().empty());
    // Efficiency at 5 is 1 / 1.4 = 0.714: passes 0.7, fails 0.8.
    EXPECT_EQ(s["passed"].get<bool>(), min_eff < 0.714);
    EXPECT_EQ(planner.passed(), min_eff < 0.714);
  }
}

}  // namespace sweep_plan_test
}  // namespace horde
