// Tests for the typed sweep and rebalance results: each to_json() gives, byte
// for byte, the summary.json text the raw JSON values used to give (the
// reference renderings below are the old construction, kept as the truth),
// with and without the optional parts.
#include "controller/sweep_result.h"

#include <gtest/gtest.h>

#include "controller/results.h"

namespace horde {
namespace sweep_result_test {

// summary.json's `capacity` entry as the planner used to build it.
nlohmann::json reference_capacity(uint32_t instances, uint32_t agents, uint32_t steps, double good,
                                  double bad, int64_t good_phase, double capacity, double p99) {
  nlohmann::json s = {{"instances", instances ? nlohmann::json(instances) : nlohmann::json()},
                      {"agents", agents},
                      {"steps", steps},
                      {"highest_good_rate", good >= 0 ? nlohmann::json(good) : nlohmann::json()},
                      {"lowest_bad_rate", bad >= 0 ? nlohmann::json(bad) : nlohmann::json()}};
  if (good_phase >= 0) {
    s["capacity_rps"] = capacity;
    s["p99_ms"] = p99;
    s["phase"] = good_phase;
  } else {
    s["capacity_rps"] = 0.0;
    s["p99_ms"] = nullptr;
    s["phase"] = nullptr;
  }
  // Added since (issue 17): a search stopped by a target that answered nothing.
  s["target_unreachable"] = false;
  s["unanswered_rate"] = nullptr;
  return s;
}

TEST(SweepResult, CapacityJsonIsTheOldText) {
  CapacityResult full;
  full.instances = 3;
  full.agents = 2;
  full.steps = 7;
  full.highest_good_rate = 800.0;
  full.lowest_bad_rate = 850.0;
  full.capacity_rps = 799.123456789;
  full.p99_ms = 12.5;
  full.phase = 4;
  EXPECT_EQ(full.to_json().dump(2),
            reference_capacity(3, 2, 7, 800.0, 850.0, 4, 799.123456789, 12.5).dump(2));

  CapacityResult none;  // nothing passed the SLO, no instances sweep
  none.agents = 1;
  none.steps = 3;
  none.lowest_bad_rate = 100.0;
  EXPECT_EQ(none.to_json().dump(2), reference_capacity(0, 1, 3, -1, 100.0, -1, 0, 0).dump(2));

  CapacityResult never_bad;  // stepped up to max_rate without breaking
  never_bad.agents = 1;
  never_bad.steps = 5;
  never_bad.highest_good_rate = 1600.0;
  never_bad.capacity_rps = 1598.0;
  never_bad.p99_ms = 3.0;
  never_bad.phase = 4;
  EXPECT_EQ(
      to_json(std::vector<CapacityResult>{full, never_bad}).dump(),
      nlohmann::json::array({reference_capacity(3, 2, 7, 800.0, 850.0, 4, 799.123456789, 12.5),
                             reference_capacity(0, 1, 5, 1600.0, -1, 4, 1598.0, 3.0)})
          .dump());
  EXPECT_EQ(to_json(std::vector<CapacityResult>{}).dump(), "[]");

  CapacityResult down;  // the first step got no response at all
  down.agents = 1;
  down.steps = 1;
  down.lowest_bad_rate = 200.0;
  down.unanswered_rate = 200.0;
  const auto j = down.to_json();
  EXPECT_TRUE(j["target_unreachable"].get<bool>());
  EXPECT_EQ(j["unanswered_rate"], 200.0);
}

TEST(SweepResult, ScalabilityJsonKeepsTheOldKeys) {
  Scalability s;
  s.kind = "instances";
  s.points = {{1, 100.0, 2.5, 0, 1.0, {98, 102}, {}, {}, 0, {}, true, {}, {}},
              {2, 190.0, 3.0, 1, 0.95, {185, 195}, {}, {}, 0, {}, true, {}, {}},
              {4, 300.0, 9.0, -1, 0.75, {290, 330}, {}, {}, 0, {}, true, {}, {}}};
  UslFit f;
  f.lambda = 101.5;
  f.sigma = 0.05;
  f.kappa = 0.001;
  f.r2 = 0.998;
  f.peak_n = 30.8;
  f.peak_throughput = 1234.5;
  s.usl = f;
  s.min_efficiency = 0.8;
  s.verdict = "4 instances deliver 75% of linear";
  s.passed = false;

  auto reference = [&](bool with_fit, bool with_peak) {
    nlohmann::json usl = nullptr;
    if (with_fit) {
      usl = {{"sigma", f.sigma},
             {"kappa", f.kappa},
             {"lambda", f.lambda},
             {"r2", f.r2},
             {"peak_n", with_peak ? nlohmann::json(*f.peak_n) : nlohmann::json()},
             {"peak_rps", with_peak ? nlohmann::json(f.peak_throughput) : nlohmann::json()}};
    }
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : s.points) {
      points.push_back({{"n", p.n},
                        {"capacity_rps", p.capacity_rps},
                        {"efficiency", p.efficiency},
                        {"p99_ms", p.p99_ms},
                        {"phase", p.phase},
                        {"capacity_ci", {p.capacity_ci.low, p.capacity_ci.high}}});
    }
    return nlohmann::json{{"kind", s.kind},       {"points", points},
                          {"usl", usl},           {"min_efficiency", s.min_efficiency},
                          {"verdict", s.verdict}, {"passed", s.passed},
                          {"shape", nullptr},     {"cpu", nullptr}}
        .dump(2);
  };
  EXPECT_EQ(s.to_json().dump(2), reference(true, true));
  s.usl->peak_n.reset();
  EXPECT_EQ(s.to_json().dump(2), reference(true, false));
  s.usl.reset();
  EXPECT_EQ(s.to_json().dump(2), reference(false, false));
}

TEST(SweepResult, ScalabilityJsonAddsShapeModelAndIntervals) {
  Scalability s;
  s.kind = "instances";
  s.points = {{1, 100.0, 2.5, 0, 1.0, {98, 102}, {99, 101}, {}, 0, {}, true, {}, {}}};
  s.shape = "plateau";
  UslFit f;
  f.lambda = 100;
  f.sigma = 0.2;
  s.usl = f;
  ModelChoice c;
  c.amdahl = f;
  c.usl = f;
  c.usl.kappa = 0.01;
  c.aicc_amdahl = 12.5;
  c.sigma_ci = {0.15, 0.25};
  c.kappa_ci = {0, 0.02};
  c.usl_sigma_ci = {0.1, 0.2};
  c.replicates = 400;
  s.choice = c;
  const auto j = s.to_json();
  EXPECT_EQ(j["shape"], "plateau");
  EXPECT_EQ(j["points"][0]["capacity_ci"], nlohmann::json::array({98.0, 102.0}));
  EXPECT_FALSE(j["points"][0].contains("interval_rps"));
  const auto& u = j["usl"];
  for (const char* key : {"sigma", "kappa", "lambda", "r2", "peak_n", "peak_rps"}) {
    EXPECT_TRUE(u.contains(key)) << key;
  }
  EXPECT_EQ(u["model"], "amdahl");
  EXPECT_EQ(u["sigma_ci"], nlohmann::json::array({0.15, 0.25}));
  EXPECT_EQ(u["kappa_ci"], nlohmann::json::array({0.0, 0.02}));
  EXPECT_EQ(u["kappa_significant"], false);
  EXPECT_EQ(u["aicc"]["amdahl"], 12.5);
  EXPECT_TRUE(u["aicc"]["usl"].is_null());
  EXPECT_EQ(u["full"]["kappa"], 0.01);
  EXPECT_EQ(u["amdahl"]["sigma"], 0.2);
  EXPECT_EQ(u["bootstrap"]["replicates"], 400);
}

TEST(SweepResult, RebalanceJsonIsTheOldText) {
  RebalanceRecord open;
  open.at_s = 2.1;
  open.lost_agent = "a1";
  open.survivors = {"a2", "a3"};
  open.rate_factor = 1.5;
  nlohmann::json ref = {{"at_s", 2.1}, {"lost_agent", "a1"}};
  ref["survivors"] = nlohmann::json::array({"a2", "a3"});
  ref["rate_factor"] = 1.5;
  EXPECT_EQ(open.to_json().dump(), ref.dump());

  RebalanceRecord closed;
  closed.at_s = 0;
  closed.lost_agent = "a3";
  closed.survivors = {"a1", "a2"};
  closed.connections = std::vector<uint32_t>{4, 5};
  nlohmann::json ref2 = {{"at_s", 0.0}, {"lost_agent", "a3"}};
  ref2["survivors"] = nlohmann::json::array({"a1", "a2"});
  ref2["connections"] = std::vector<uint32_t>{4, 5};
  EXPECT_EQ(closed.to_json().dump(), ref2.dump());

  // In summary.json: only phases with a rebalance carry the key.
  PhaseResult p;
  EXPECT_FALSE(phase_json(p).contains("rebalances"));
  p.rebalances = {open, closed};
  EXPECT_EQ(phase_json(p)["rebalances"].dump(), nlohmann::json::array({ref, ref2}).dump());
}

TEST(SweepResult, SummaryCarriesScalabilityAndCapacityOrNullAndEmpty) {
  RunResult r;
  EXPECT_EQ(summary_json(r)["scalability"].dump(), "null");
  EXPECT_EQ(summary_json(r)["capacity"].dump(), "[]");
  r.scalability = Scalability{};
  r.scalability->kind = "agents";
  r.capacity.push_back(CapacityResult{});
  EXPECT_EQ(summary_json(r)["scalability"].dump(), r.scalability->to_json().dump());
  EXPECT_EQ(summary_json(r)["capacity"].dump(), to_json(r.capacity).dump());
}

}  // namespace sweep_result_test
}  // namespace horde
