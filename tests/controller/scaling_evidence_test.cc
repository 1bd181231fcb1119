// Tests of what a sweep's measurements support: capacity intervals against a t-interval computed
// by hand, the shape classifier on curves whose shape is known, AICc model choice on synthetic
// data (contention only -> amdahl; strongly retrograde -> usl with kappa's interval above 0), the
// bootstrap's reproducibility for a seed, and the verdict's claims following the evidence.
#include "controller/scaling_evidence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "controller/verdict.h"

namespace horde {
namespace scaling_evidence_test {

double Usl(double lambda, double sigma, double kappa, double n) {
  return lambda * n / (1 + sigma * (n - 1) + kappa * n * (n - 1));
}

// A step measured over `intervals` intervals whose throughputs scatter by `noise` (relative,
// normal) around `truth`; capacity is their mean, as requests / duration is.
CapacitySample Measured(double n, double truth, double noise, std::mt19937_64& rng,
                        int intervals = 5) {
  std::normal_distribution<double> d(0, noise * truth);
  CapacitySample s;
  s.n = n;
  for (int i = 0; i < intervals; ++i) s.interval_rps.push_back(truth + d(rng));
  double sum = 0;
  for (double x : s.interval_rps) sum += x;
  s.capacity = sum / intervals;
  s.ci = capacity_interval(s.capacity, s.interval_rps);
  return s;
}

// A step with a given interval and no intervals behind it.
CapacitySample Point(double n, double capacity, double half = 0) {
  CapacitySample s;
  s.n = n;
  s.capacity = capacity;
  s.ci = {capacity - half, capacity + half};
  return s;
}

std::vector<CapacitySample> Curve(double lambda, double sigma, double kappa,
                                  const std::vector<double>& ns, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<CapacitySample> out;
  for (double n : ns) out.push_back(Measured(n, Usl(lambda, sigma, kappa, n), noise, rng));
  return out;
}

TEST(CapacityInterval, IsTheStudentTIntervalOfTheIntervals) {
  // mean 100, sample sd = sqrt(((-2)^2 + 0 + 2^2) / 2) = 2, n = 3: half = 4.303 x 2 / sqrt(3).
  const Interval ci = capacity_interval(100, {98, 100, 102});
  EXPECT_NEAR(ci.low, 100 - 4.303 * 2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(ci.high, 100 + 4.303 * 2 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(capacity_interval(100, {100}), (Interval{100, 100}));
  EXPECT_EQ(capacity_interval(100, {}), (Interval{100, 100}));
  // A search's capacity may lie up to the lowest rate that failed.
  EXPECT_EQ(capacity_interval(100, {}, 110.0).high, 110);
  EXPECT_NEAR(t_quantile_95(1), 12.706, 1e-9);
  EXPECT_NEAR(t_quantile_95(500), 1.96, 1e-9);
}

TEST(CapacityInterval, JudgedWithAtLeastTwoPercent) {
  const Interval j = judged_interval(Point(1, 1000, 1));
  EXPECT_DOUBLE_EQ(j.low, 980);
  EXPECT_DOUBLE_EQ(j.high, 1020);
  const Interval wide = judged_interval(Point(1, 1000, 50));
  EXPECT_DOUBLE_EQ(wide.low, 950);
  EXPECT_DOUBLE_EQ(wide.high, 1050);
}

Shape ShapeOf(const std::vector<double>& capacities, double half = 0) {
  std::vector<CapacitySample> s;
  for (size_t i = 0; i < capacities.size(); ++i) {
    s.push_back(Point(static_cast<double>(i + 1), capacities[i], half));
  }
  auto f = classify_shape(s);
  EXPECT_TRUE(f.has_value());
  return f ? f->shape : Shape::kLinear;
}

TEST(ShapeClassifier, NamesWhatTheCapacitiesShow) {
  EXPECT_EQ(ShapeOf({400, 800, 1200, 1600}), Shape::kLinear);
  EXPECT_EQ(ShapeOf({400, 790, 1150, 1480}), Shape::kLinear);  // 92.5%
  EXPECT_EQ(ShapeOf({400, 727, 1000, 1231}), Shape::kSublinear);
  // The lock sweep: 180 / 298 / 322 / 323.
  EXPECT_EQ(ShapeOf({180, 298, 322, 323}), Shape::kPlateau);
  EXPECT_EQ(ShapeOf({200, 400, 400, 396}), Shape::kPlateau);  // -1% is noise, not a fall
  EXPECT_EQ(ShapeOf({400, 753, 800, 533, 400, 320}), Shape::kRetrograde);
  // Wide intervals: a dip inside them is no fall, and growth inside them is not a plateau.
  EXPECT_EQ(ShapeOf({400, 800, 700, 760}, 120), Shape::kPlateau);
  EXPECT_EQ(ShapeOf({100, 150, 400}, 150), Shape::kLinear);
  EXPECT_FALSE(classify_shape({Point(1, 100)}).has_value());
}

TEST(ShapeClassifier, PlateauStartsWhereNothingLaterExceedsIt) {
  std::vector<CapacitySample> s = {Point(1, 180), Point(2, 298), Point(3, 322), Point(4, 323)};
  const auto f = classify_shape(s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->shape, Shape::kPlateau);
  EXPECT_EQ(f->plateau_from, 2u);
}

TEST(Aicc, IsChiSquarePlusTheCorrectedPenalty) {
  EXPECT_DOUBLE_EQ(*aicc(10, 6, 2), 10 + 4 + 12.0 / 3);
  EXPECT_DOUBLE_EQ(*aicc(10, 6, 3), 10 + 6 + 24.0 / 2);
  EXPECT_FALSE(aicc(10, 4, 3).has_value());  // no degree of freedom left
  EXPECT_TRUE(aicc(10, 4, 2).has_value());
}

TEST(ModelChoice, ContentionOnlyDataIsAmdahl) {
  int usl = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto samples = Curve(400, 0.1, 0, {1, 2, 3, 4, 5, 6}, 0.01, seed);
    const auto c = choose_model(samples, 100);
    ASSERT_TRUE(c.ok()) << c.error().message;
    usl += c->model == FitModel::kUsl;
    EXPECT_NEAR(c->amdahl.sigma, 0.1, 0.03) << "seed " << seed;
    EXPECT_FALSE(c->kappa_significant) << "seed " << seed;
    EXPECT_LE(c->sigma_ci.low, c->amdahl.sigma);
    EXPECT_GE(c->sigma_ci.high, c->amdahl.sigma);
  }
  EXPECT_EQ(usl, 0);
}

TEST(ModelChoice, StrongRetrogradeIsUslWithKappaAboveZero) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto samples = Curve(400, 0.02, 0.05, {1, 2, 3, 4, 5, 6}, 0.01, seed);
    const auto c = choose_model(samples, 100);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->model, FitModel::kUsl) << "seed " << seed;
    EXPECT_TRUE(c->kappa_significant) << "seed " << seed;
    EXPECT_GT(c->kappa_ci.low, 0.0);
    EXPECT_LE(c->kappa_ci.low, 0.05);
    EXPECT_GE(c->kappa_ci.high, 0.05);
  }
}

TEST(ModelChoice, FourPointsNeverChooseTheUsl) {
  // AICc with 3 parameters and 4 points has no degree of freedom left: the USL cannot win.
  const auto samples = Curve(400, 0, 0.1, {1, 2, 3, 4}, 0.01, 3);
  const auto c = choose_model(samples, 50);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->model, FitModel::kAmdahl);
  EXPECT_FALSE(c->aicc_usl.has_value());
  ASSERT_TRUE(c->aicc_amdahl.has_value());
}

TEST(ModelChoice, TheTargetsChannelCurveIsUslAndItsLockCurveAmdahl) {
  // Saturated curves of the built-in target's mechanisms (scaling_model.h), not of either model,
  // with 1% interval noise: the crosstalk channel's knee and fall, the lock's knee and plateau.
  const std::vector<double> channel = {400, 753, 800, 533, 400, 320};
  const std::vector<double> lock = {200, 380, 400, 400};
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<CapacitySample> c, l;
    for (size_t i = 0; i < channel.size(); ++i)
      c.push_back(Measured(i + 1.0, channel[i], 0.01, rng));
    for (size_t i = 0; i < lock.size(); ++i) l.push_back(Measured(i + 1.0, lock[i], 0.01, rng));
    const auto ca = analyse_scaling(c, 100);
    ASSERT_TRUE(ca.shape && ca.choice);
    EXPECT_EQ(ca.shape->shape, Shape::kRetrograde);
    EXPECT_EQ(ca.choice->model, FitModel::kUsl);
    EXPECT_TRUE(ca.choice->kappa_significant);
    EXPECT_TRUE(ca.crosstalk_supported());
    const auto la = analyse_scaling(l, 100);
    ASSERT_TRUE(la.shape && la.choice);
    EXPECT_EQ(la.shape->shape, Shape::kPlateau);
    EXPECT_EQ(la.choice->model, FitModel::kAmdahl);
    EXPECT_FALSE(la.crosstalk_supported());
    EXPECT_FALSE(la.shown_fit()->peak_n.has_value());
  }
}

TEST(Bootstrap, IsReproducibleForASeed) {
  const auto samples = Curve(400, 0.05, 0.01, {1, 2, 3, 4, 5, 6}, 0.02, 11);
  const auto a = choose_model(samples, 60, 7);
  const auto b = choose_model(samples, 60, 7);
  const auto other = choose_model(samples, 60, 8);
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ(a->sigma_ci, b->sigma_ci);
  EXPECT_EQ(a->kappa_ci, b->kappa_ci);
  EXPECT_EQ(a->replicates, 60u);
  EXPECT_NE(a->kappa_ci, other->kappa_ci);  // the seed is really used
}

TEST(Verdict, PlateauNeverClaimsCrosstalkOrAFall) {
  // The sweep: four points of a plateau. Whatever a USL fit makes of them, the verdict
  // states the plateau first and predicts no fall.
  std::mt19937_64 rng(5);
  std::vector<CapacitySample> s = {Measured(1, 180, 0.01, rng), Measured(2, 298, 0.01, rng),
                                   Measured(3, 322, 0.01, rng), Measured(4, 323, 0.01, rng)};
  const auto a = analyse_scaling(s, 100);
  ASSERT_TRUE(a.shape && a.choice);
  EXPECT_EQ(a.shape->shape, Shape::kPlateau);
  const auto v = judge_scalability(a, 0.8, "instances");
  EXPECT_EQ(v.text.rfind("Throughput stops growing at about", 0), 0u) << v.text;
  EXPECT_NE(v.text.find("from 3 instances"), std::string::npos) << v.text;
  EXPECT_EQ(v.text.find("limited by crosstalk"), std::string::npos) << v.text;
  EXPECT_EQ(v.text.find("fall beyond"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("limited by contention"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("cannot separate contention from crosstalk"), std::string::npos) << v.text;
  EXPECT_FALSE(a.shown_fit()->peak_n.has_value());
}

TEST(Verdict, RetrogradeWithSixStepsNamesCrosstalkAndThePeak) {
  const auto a = analyse_scaling(Curve(400, 0.02, 0.05, {1, 2, 3, 4, 5, 6}, 0.01, 2), 100);
  ASSERT_TRUE(a.shape && a.choice);
  EXPECT_EQ(a.shape->shape, Shape::kRetrograde);
  const auto v = judge_scalability(a, 0.8, "instances");
  EXPECT_EQ(v.text.rfind("Throughput falls as instances are added", 0), 0u) << v.text;
  EXPECT_NE(v.text.find("limited by crosstalk"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("predicted to peak at"), std::string::npos) << v.text;
  ASSERT_TRUE(a.shown_fit()->peak_n.has_value());
  EXPECT_NEAR(*a.shown_fit()->peak_n, std::sqrt(0.98 / 0.05), 0.6);
}

TEST(Verdict, LinearAndContended) {
  const auto linear = analyse_scaling(Curve(1000, 0, 0, {1, 2, 4}, 0.005, 1), 50);
  auto v = judge_scalability(linear, 0.8, "instances");
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.text.rfind("Throughput grows linearly with instances", 0), 0u) << v.text;
  EXPECT_NE(v.text.find("near linear"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("No peak is predicted"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("PASS"), std::string::npos) << v.text;

  const auto contended = analyse_scaling(Curve(1000, 0.1, 0, {1, 2, 4, 8}, 0.005, 1), 50);
  v = judge_scalability(contended, 0.8, "instances");
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(contended.shape->shape, Shape::kSublinear);
  EXPECT_NE(v.text.find("8 instances handle 4.7x the traffic of one"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("limited by contention (sigma = 0.1"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("No peak is predicted"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("FAIL"), std::string::npos) << v.text;
  EXPECT_TRUE(judge_scalability(contended, 0.5, "instances").passed);
}

TEST(Verdict, WithoutAFitOrOnePoint) {
  const auto two = analyse_scaling({Point(1, 100), Point(2, 180)});
  EXPECT_FALSE(two.choice.has_value());
  const auto v = judge_scalability(two, 0.8, "agents");
  EXPECT_TRUE(v.passed);
  EXPECT_NE(v.text.find("2 agents handle 1.8x the traffic of one (90% efficiency)"),
            std::string::npos)
      << v.text;
  EXPECT_NE(v.text.find("no model is fitted"), std::string::npos) << v.text;
  const auto halves = analyse_scaling({Point(2, 200), Point(4, 400), Point(6, 600)});
  EXPECT_NE(judge_scalability(halves, 0.8, "agents").text.find("estimated as 1/2 of 2 agents"),
            std::string::npos);
  EXPECT_FALSE(judge_scalability(analyse_scaling({}), 0.8, "agents").passed);
}

}  // namespace scaling_evidence_test
}  // namespace horde
