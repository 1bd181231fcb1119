// Tests for the workload file's experiment sections: `sweep:`, `capacity:` and
// `tolerate_lost_agents:` read into typed values, every mistake reported with
// its field path, and to_json writing them so they parse back equal.
#include "common/sweep_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/workload.h"

namespace horde {
namespace sweep_yaml_test {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const char* kTarget = "target: http://127.0.0.1:8080/\n";

// parse_workload then finalize_workload (where the cross-checks run).
Result<Workload> read(const std::string& yaml) {
  auto w = parse_workload(yaml, "w.yaml");
  if (!w) return w.error();
  return finalize_workload(*w, "w.yaml");
}

std::string error_of(const std::string& yaml) {
  auto w = read(yaml);
  if (w) return "(no error)";
  return w.error().message;
}

// ---- good cases ----

TEST(SweepYaml, InstancesSweepWithScaleCommandAndReadyUrl) {
  auto w = read(std::string(kTarget) +
                "sweep:\n"
                "  instances: [1, 2, 4, 8]\n"
                "  min_efficiency: 0.75\n"
                "  scale_command: kubectl scale deploy/web --replicas={instances}\n"
                "  ready: {url: http://web:8080/healthz, timeout: 90s}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  const Sweep& s = w->sweep;
  EXPECT_EQ(s.instances, (std::vector<uint32_t>{1, 2, 4, 8}));
  EXPECT_TRUE(s.agents.empty());
  EXPECT_TRUE(s.rates.empty());
  EXPECT_DOUBLE_EQ(s.min_efficiency, 0.75);
  EXPECT_EQ(s.scale_command, "kubectl scale deploy/web --replicas={instances}");
  ASSERT_TRUE(s.ready.has_value());
  EXPECT_EQ(s.ready->url, "http://web:8080/healthz");
  EXPECT_TRUE(s.ready->command.empty());
  EXPECT_EQ(s.ready->timeout, 90s);
  EXPECT_FALSE(w->capacity.has_value());
}

TEST(SweepYaml, ReadyCommandHasADefaultTimeout) {
  auto w = read(std::string(kTarget) +
                "sweep:\n"
                "  instances: [1, 2]\n"
                "  scale_command: ./scale.sh {instances}\n"
                "  ready: {command: ./ready.sh}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->sweep.ready.has_value());
  EXPECT_EQ(w->sweep.ready->command, "./ready.sh");
  EXPECT_EQ(w->sweep.ready->timeout, ReadyCheck{}.timeout);
  EXPECT_DOUBLE_EQ(w->sweep.min_efficiency, Sweep{}.min_efficiency);
}

TEST(SweepYaml, AgentsAndRatesSweeps) {
  auto a = read(std::string(kTarget) + "sweep: {agents: [1, 2, 4]}\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->sweep.agents, (std::vector<uint32_t>{1, 2, 4}));
  auto r = read(std::string(kTarget) + "sweep:\n  rates: [100, 250.5, 1e3]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sweep.rates, (std::vector<double>{100, 250.5, 1000}));
}

TEST(SweepYaml, InstancesSweepOverTheFirstKTargetsOrTheBuiltinTarget) {
  auto t = read(
      "targets: [http://127.0.0.1:1/, http://127.0.0.1:2/, http://127.0.0.1:3/]\n"
      "sweep: {instances: [1, 3]}\n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto b = read("builtin_target: {instances: 4}\nsweep: {instances: [1, 2, 3, 4]}\n");
  ASSERT_TRUE(b.ok()) << b.error().message;
}

TEST(CapacityYaml, EveryKeyAndTheDefaults) {
  auto w = read(std::string(kTarget) +
                "capacity:\n"
                "  slo: [\"p99 < 100ms\", \"error_rate < 1%\"]\n"
                "  start_rate: 50\n"
                "  max_rate: 5000\n"
                "  step: 25\n"
                "  hold: 3s\n"
                "  precision: 0.02\n"
                "  min_achieved: 0.95\n"
                "  max_steps: 12\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->capacity.has_value());
  const CapacitySearch& c = *w->capacity;
  ASSERT_EQ(c.slo.size(), 2u);
  EXPECT_EQ(c.slo[0].metric, Metric::kP99);
  EXPECT_EQ(c.slo[0].op, Comparison::kLess);
  EXPECT_DOUBLE_EQ(c.slo[0].value, 100);
  EXPECT_EQ(c.slo[1].metric, Metric::kErrorRate);
  EXPECT_DOUBLE_EQ(c.slo[1].value, 0.01);
  EXPECT_DOUBLE_EQ(c.start_rate, 50);
  EXPECT_DOUBLE_EQ(c.max_rate, 5000);
  EXPECT_DOUBLE_EQ(c.step, 25);
  EXPECT_DOUBLE_EQ(c.factor, CapacitySearch{}.factor);
  EXPECT_EQ(c.hold, 3s);
  EXPECT_DOUBLE_EQ(c.precision, 0.02);
  EXPECT_DOUBLE_EQ(c.min_achieved, 0.95);
  EXPECT_EQ(c.max_steps, 12u);

  auto d = read(std::string(kTarget) + "capacity: {slo: [\"p99 < 50ms\"]}\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  CapacitySearch expect;
  expect.slo = d->capacity->slo;
  EXPECT_EQ(*d->capacity, expect);
  EXPECT_DOUBLE_EQ(expect.start_rate, 100);
  EXPECT_DOUBLE_EQ(expect.max_rate, 100'000);
  EXPECT_DOUBLE_EQ(expect.factor, 2);
  EXPECT_EQ(expect.hold, 5s);
}

// The search picks every step's rate (issues 16 and 17): load.rate is not
// needed beside it, is refused when given, and max_connections does not ask
// for `mode: open` because every step runs open loop.
TEST(CapacityYaml, TheSearchSetsTheRate) {
  const std::string cap = "capacity: {slo: [\"p99 < 50ms\"]}\n";
  for (const char* load :
       {"load: {mode: open, connections: 8, max_connections: 64}\n",
        "load: {connections: 8, max_connections: 64}\n",
        "load: {mode: closed, connections: 8, max_connections: 64}\n", "load: {mode: open}\n"}) {
    auto w = read(std::string(kTarget) + load + cap);
    ASSERT_TRUE(w.ok()) << load << w.error().message;
    EXPECT_EQ(w->load.rate, 0) << load;
    // to_json writes no rate, and parses back equal.
    const nlohmann::json j = to_json(*w);
    EXPECT_TRUE(j["load"]["rate"].is_null()) << load;
    auto back = read(j.dump());
    ASSERT_TRUE(back.ok()) << load << back.error().message;
    EXPECT_EQ(back->load, w->load) << load;
  }
  const std::string given =
      error_of(std::string(kTarget) + "load: {mode: open, rate: 100}\n" + cap);
  EXPECT_THAT(given, HasSubstr("w.yaml: load.rate: not used with capacity:"));
  EXPECT_THAT(given, HasSubstr("the search sets every step's rate"));
  EXPECT_THAT(error_of(std::string(kTarget) + "load: {rate: 100}\n" + cap),
              HasSubstr("load.rate: not used with capacity:"));
  // A rate from the command line (--rate) is refused the same way.
  auto flagged = parse_workload(std::string(kTarget) + cap, "w.yaml");
  ASSERT_TRUE(flagged.ok());
  flagged->load.mode = LoadMode::kOpen;
  flagged->load.rate = 100;
  auto f = finalize_workload(*flagged, "w.yaml");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.error().message, HasSubstr("load.rate: not used with capacity:"));
  // Without capacity: the rules are unchanged.
  EXPECT_THAT(error_of(std::string(kTarget) + "load: {mode: open}\n"),
              HasSubstr("load.rate: missing; open mode needs a rate > 0"));
  EXPECT_THAT(error_of(std::string(kTarget) + "load: {connections: 8, max_connections: 64}\n"),
              HasSubstr("load.max_connections: only for open mode"));
}

TEST(CapacityYaml, WithAnInstancesSweep) {
  auto w = read(
      "builtin_target: {instances: 3}\n"
      "capacity: {slo: [\"p99 < 20ms\"], factor: 1.5}\n"
      "sweep: {instances: [1, 2, 3]}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_DOUBLE_EQ(w->capacity->factor, 1.5);
  EXPECT_EQ(w->sweep.instances.size(), 3u);
}

TEST(FaultPolicyYaml, TolerateLostAgents) {
  auto w = read(std::string(kTarget) + "tolerate_lost_agents: 2\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->faults.tolerate_lost_agents, 2u);
  auto d = read(kTarget);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->faults.tolerate_lost_agents, 0u);
  EXPECT_THAT(error_of(std::string(kTarget) + "tolerate_lost_agents: -1\n"),
              HasSubstr("tolerate_lost_agents"));
}

// ---- errors name the field path ----

struct Bad {
  std::string yaml;
  std::vector<std::string> says;  // substrings the error must contain
};

TEST(SweepYaml, ErrorsNameTheField) {
  const std::string t = kTarget;
  const std::vector<Bad> cases = {
      {t + "sweep: {instance: [1, 2]}\n",
       {"w.yaml: sweep.instance: unknown key", "did you mean \"instances\"?"}},
      {t + "sweep: {agents: [1, 2], min_eficiency: 0.9}\n",
       {"sweep.min_eficiency", "did you mean \"min_efficiency\"?"}},
      {t + "sweep: {agents: [1, 4, 2]}\n", {"sweep.agents[2]", "increase"}},
      {t + "sweep: {rates: [100, 100]}\n", {"sweep.rates[1]", "increase"}},
      {t + "sweep: {agents: []}\n", {"sweep.agents", "list"}},
      {t + "sweep: {agents: [0, 1]}\n", {"sweep.agents[0]", "whole number"}},
      {t + "sweep: {rates: [fast]}\n", {"sweep.rates[0]", "\"fast\""}},
      {t + "sweep: {agents: [1, 2], rates: [10, 20]}\n",
       {"sweep:", "exactly one of agents, rates or instances"}},
      {t + "sweep: {min_efficiency: 0.5}\n", {"exactly one of agents, rates or instances"}},
      {t + "sweep: {agents: [1, 2], min_efficiency: 1.5}\n", {"sweep.min_efficiency", "[0, 1]"}},
      {t + "sweep: {instances: [1, 2], scale_command: 'kubectl scale --replicas=3'}\n",
       {"sweep.scale_command", "{instances}"}},
      {t + "sweep: {agents: [1, 2], scale_command: './s.sh {instances}'}\n",
       {"sweep.scale_command", "only used with sweep.instances"}},
      {t + "sweep: {instances: [1], scale_command: 's {instances}', "
           "ready: {url: http://a/, command: b}}\n",
       {"sweep.ready", "exactly one of url"}},
      {t + "sweep: {instances: [1], scale_command: 's {instances}', ready: {timeout: 5s}}\n",
       {"sweep.ready", "exactly one of url"}},
      {t + "sweep: {instances: [1], scale_command: 's {instances}', ready: {url: https://a/}}\n",
       {"sweep.ready.url", "http://"}},
      {t + "sweep: {instances: [1], scale_command: 's {instances}', "
           "ready: {command: x, timeout: soon}}\n",
       {"sweep.ready.timeout", "duration"}},
      {t + "sweep: {instances: [1], scale_command: 's {instances}', ready: {comand: x}}\n",
       {"sweep.ready.comand", "unknown key", "did you mean \"command\"?"}},
      {t + "capacity: {start_rate: 10}\n", {"capacity.slo", "missing"}},
      {t + "capacity: {slo: []}\n", {"capacity.slo", "list of thresholds"}},
      {t + "capacity: {slo: [\"p99 < 1ms\", \"p99 fast\"]}\n", {"capacity.slo[1]"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], step: 10, factor: 2}\n",
       {"capacity:", "step", "factor", "not both"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], start_rate: 500, max_rate: 100}\n",
       {"capacity.max_rate", "start_rate"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], factor: 1}\n", {"capacity.factor", "1.01"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], precision: 0.9}\n", {"capacity.precision"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], min_achieved: 0.1}\n", {"capacity.min_achieved"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], max_steps: 0}\n", {"capacity.max_steps"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], hold: 0s}\n", {"capacity.hold", "duration > 0"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"], strat_rate: 5}\n",
       {"capacity.strat_rate", "did you mean \"start_rate\"?"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"]}\nsweep: {rates: [1, 2]}\n",
       {"sweep.rates", "not with capacity"}},
      {t + "capacity: {slo: [\"p99 < 1ms\"]}\nsweep: {agents: [1, 2]}\n",
       {"sweep.agents", "not with capacity"}},
      {"targets: [http://127.0.0.1:1/, http://127.0.0.1:2/]\nsweep: {instances: [1, 2, 3]}\n",
       {"w.yaml: sweep.instances", "needs 3 target URLs", "gives 2"}},
      {"builtin_target: {instances: 2}\nsweep: {instances: [1, 4]}\n",
       {"sweep.instances", "needs 4", "gives 2"}},
      // The per-agent load times the largest step must stay within one phase's bounds.
      {t + "load: {rate: 2000000}\nsweep: {agents: [1, 2, 8]}\n",
       {"sweep.agents", "2e+06 requests/s x 8 agents = 1.6e+07", "over the limit of 10000000"}},
      {t + "load: {stages: [{duration: 5s, rate: 3000000}]}\nsweep: {agents: [1, 4]}\n",
       {"sweep.agents", "x 4 agents", "over the limit"}},
      {t + "load: {connections: 400000}\nsweep: {agents: [1, 3]}\n",
       {"sweep.agents", "400000 connections x 3 agents = 1200000"}},
  };
  for (const Bad& b : cases) {
    const std::string e = error_of(b.yaml);
    for (const auto& s : b.says) EXPECT_THAT(e, HasSubstr(s)) << "for:\n" << b.yaml;
  }
}

// ---- to_json ----

TEST(SweepYaml, ToJsonIncludesSweepAndCapacityAndParsesBackEqual) {
  const std::vector<std::string> files = {
      std::string(kTarget) +
          "sweep:\n"
          "  instances: [1, 2, 4]\n"
          "  min_efficiency: 0.7\n"
          "  scale_command: ./scale.sh {instances}\n"
          "  ready: {url: http://127.0.0.1:9/ready, timeout: 45s}\n"
          "capacity:\n"
          "  slo: [\"p99 < 100ms\", \"error_rate < 1%\"]\n"
          "  start_rate: 200\n"
          "  step: 50\n"
          "  max_rate: 9000\n"
          "  hold: 2500ms\n"
          "tolerate_lost_agents: 1\n",
      std::string(kTarget) +
          "sweep: {instances: [1, 2], scale_command: 's {instances}', ready: {command: ./r.sh}}\n"
          "capacity: {slo: [\"p90 <= 20ms\"], factor: 1.5, precision: 0.1, min_achieved: 0.9, "
          "max_steps: 9}\n",
      std::string(kTarget) + "sweep: {agents: [1, 3, 5], min_efficiency: 0.95}\n",
      std::string(kTarget) + "load: {mode: open, rate: 10}\nsweep: {rates: [10, 20.5, 40]}\n",
      "builtin_target: {instances: 3, contention: 0.1, crosstalk: 0.01, lock: 0.25}\n"
      "sweep: {instances: [1, 2, 3]}\n",
  };
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    auto w = read(f);
    ASSERT_TRUE(w.ok()) << w.error().message;
    const nlohmann::json j = to_json(*w);
    ASSERT_TRUE(j.contains("sweep")) << j.dump(2);
    EXPECT_EQ(j.contains("capacity"), w->capacity.has_value()) << j.dump(2);
    auto back = read(j.dump());
    ASSERT_TRUE(back.ok()) << back.error().message << "\n" << j.dump(2);
    EXPECT_EQ(back->sweep, w->sweep);
    EXPECT_EQ(back->capacity, w->capacity);
    EXPECT_EQ(back->faults, w->faults);
    EXPECT_EQ(*back, *w);
  }
  auto plain = read(kTarget);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(to_json(*plain).contains("sweep"));
  EXPECT_FALSE(to_json(*plain).contains("capacity"));
  EXPECT_FALSE(to_json(*plain).contains("tolerate_lost_agents"));
}

TEST(SweepYaml, ToJsonValues) {
  auto w = read(std::string(kTarget) +
                "sweep: {instances: [1, 2], scale_command: 's {instances}', "
                "ready: {url: http://127.0.0.1:9/, timeout: 45s}}\n"
                "capacity: {slo: [\"p99 < 100ms\"], step: 50}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  const nlohmann::json j = to_json(*w);
  EXPECT_EQ(j["sweep"]["instances"], (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(j["sweep"]["scale_command"], "s {instances}");
  EXPECT_EQ(j["sweep"]["ready"]["url"], "http://127.0.0.1:9/");
  EXPECT_EQ(j["capacity"]["slo"], (std::vector<std::string>{"p99 < 100ms"}));
  EXPECT_EQ(j["capacity"]["step"], 50.0);
  EXPECT_FALSE(j["capacity"].contains("factor"));  // step and factor never both
}

}  // namespace sweep_yaml_test
}  // namespace horde
