// Tests for the USL and Amdahl fits: exact recovery of known parameters from
// noiseless curves, recovery within tolerance from noisy ones (fixed seed), the
// non-negativity constraint, kappa held at 0, and the weights. The verdict is
// tested in scaling_evidence_test.cc.
#include "controller/usl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace horde {
namespace usl_test {

std::vector<UslPoint> curve(double lambda, double sigma, double kappa,
                            const std::vector<double>& ns) {
  std::vector<UslPoint> out;
  for (double n : ns) {
    out.push_back({n, lambda * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))});
  }
  return out;
}

const std::vector<double> kNs = {1, 2, 3, 4, 6, 8, 12, 16};

TEST(Usl, RecoversNoiselessParametersExactly) {
  struct Case {
    double lambda, sigma, kappa;
  };
  for (const Case c : {Case{1000, 0, 0}, Case{1000, 0.05, 0}, Case{1000, 0, 0.002},
                       Case{2500, 0.02, 0.0005}, Case{800, 0.3, 0.01}, Case{120, 0.001, 0.00001}}) {
    SCOPED_TRACE(testing::Message() << "sigma " << c.sigma << " kappa " << c.kappa);
    const auto fit = fit_usl(curve(c.lambda, c.sigma, c.kappa, kNs));
    ASSERT_TRUE(fit.ok()) << fit.error().message;
    EXPECT_NEAR(fit->lambda, c.lambda, c.lambda * 1e-6);
    EXPECT_NEAR(fit->sigma, c.sigma, 1e-6);
    EXPECT_NEAR(fit->kappa, c.kappa, 1e-7);
    EXPECT_NEAR(fit->r2, 1.0, 1e-9);
    if (c.kappa > 0) {
      ASSERT_TRUE(fit->peak_n.has_value());
      const double peak = std::sqrt((1 - c.sigma) / c.kappa);
      EXPECT_NEAR(*fit->peak_n, peak, peak * 1e-3);
      EXPECT_NEAR(fit->peak_throughput,
                  c.lambda * peak / (1 + c.sigma * (peak - 1) + c.kappa * peak * (peak - 1)),
                  c.lambda * 1e-3);
    } else {
      EXPECT_FALSE(fit->peak_n.has_value());
    }
  }
}

TEST(Usl, RecoversNoisyParametersWithinTolerance) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(1.0, 0.01);  // 1% multiplicative noise
  std::vector<UslPoint> pts;
  for (int rep = 0; rep < 3; ++rep) {
    for (auto p : curve(1000, 0.05, 0.001, kNs)) pts.push_back({p.n, p.throughput * noise(rng)});
  }
  const auto fit = fit_usl(pts);
  ASSERT_TRUE(fit.ok()) << fit.error().message;
  EXPECT_NEAR(fit->lambda, 1000, 30);
  EXPECT_NEAR(fit->sigma, 0.05, 0.015);
  EXPECT_NEAR(fit->kappa, 0.001, 0.0005);
  EXPECT_GT(fit->r2, 0.98);
}

TEST(Usl, ParametersNeverNegative) {
  // Superlinear data would want negative sigma/kappa; the fit stays on the boundary.
  std::vector<UslPoint> super = {{1, 100}, {2, 210}, {3, 330}, {4, 460}, {8, 1000}};
  auto fit = fit_usl(super);
  ASSERT_TRUE(fit.ok());
  EXPECT_GE(fit->sigma, 0);
  EXPECT_GE(fit->kappa, 0);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (int i = 0; i < 50; ++i) {
    std::vector<UslPoint> pts;
    for (double n : {1.0, 2.0, 4.0, 8.0}) pts.push_back({n, 100 * n * u(rng)});
    fit = fit_usl(pts);
    ASSERT_TRUE(fit.ok());
    EXPECT_GE(fit->sigma, 0);
    EXPECT_GE(fit->kappa, 0);
    EXPECT_GE(fit->lambda, 0);
  }
}

TEST(Usl, TooFewPointsIsAnError) {
  EXPECT_FALSE(fit_usl({}).ok());
  EXPECT_FALSE(fit_usl({{1, 100}, {2, 190}}).ok());
  // Three points but only two distinct n.
  const auto r = fit_usl({{1, 100}, {2, 190}, {2, 195}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at least 3"), std::string::npos);
  EXPECT_FALSE(fit_usl({{0, 1}, {1, 100}, {2, 190}}).ok());
  EXPECT_FALSE(fit_usl({{1, NAN}, {2, 100}, {3, 190}}).ok());
}

TEST(Usl, ThroughputFormula) {
  UslFit f;
  f.lambda = 100, f.sigma = 0.1, f.kappa = 0.01;
  EXPECT_DOUBLE_EQ(usl_throughput(f, 1), 100);
  EXPECT_DOUBLE_EQ(usl_throughput(f, 4), 400 / (1 + 0.3 + 0.12));
}

TEST(Usl, AmdahlHoldsKappaAtZero) {
  const auto pts = curve(400, 0.1, 0, {1, 2, 3, 4, 6});
  const auto a = fit_amdahl(pts);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_NEAR(a->sigma, 0.1, 1e-6);
  EXPECT_NEAR(a->lambda, 400, 1e-3);
  EXPECT_EQ(a->kappa, 0);
  EXPECT_FALSE(a->peak_n.has_value());
  // On a curve with crosstalk Amdahl fits worse than the USL, never better.
  const auto bent = curve(400, 0.02, 0.03, {1, 2, 3, 4, 6});
  const auto amdahl = fit_amdahl(bent);
  const auto usl = fit_usl(bent);
  ASSERT_TRUE(amdahl.ok() && usl.ok());
  EXPECT_EQ(amdahl->kappa, 0);
  EXPECT_GT(weighted_sse(*amdahl, bent), weighted_sse(*usl, bent));
  EXPECT_NEAR(weighted_sse(*usl, bent), 0, 1e-6);
}

TEST(Usl, WeightsDecideWhichPointsTheFitFollows) {
  // One outlier at n = 4: with a tiny weight the fit follows the other points.
  auto pts = curve(400, 0.1, 0, {1, 2, 3, 4, 5});
  pts[3].throughput *= 0.8;
  pts[3].weight = 1e-9;
  const auto a = fit_amdahl(pts);
  ASSERT_TRUE(a.ok());
  EXPECT_NEAR(a->sigma, 0.1, 1e-3);
  pts[3].weight = 0;
  EXPECT_FALSE(fit_amdahl(pts).ok());  // weights must be > 0
}

}  // namespace usl_test
}  // namespace horde
