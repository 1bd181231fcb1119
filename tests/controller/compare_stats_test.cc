// The statistics of `horde compare` against values computed another way:
// textbook table values (Student's t, the normal), closed forms (the
// incomplete beta for integer arguments), a brute-force pairwise count in
// Python for Mann-Whitney U (the script's numbers are written in below), the
// Welch example of Wikipedia's "Welch's t-test" page, and two seeded
// simulations: identical lognormal latency almost never flags at alpha 0.01
// (false alarms <= 2% of 200 pairs), a 20% shift of the median is found in
// >= 95% of 200 pairs.
#include "controller/compare_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace horde {
namespace compare_stats_test {

Histogram of(const std::vector<int64_t>& values) {
  Histogram h;
  for (auto v : values) h.record(v);
  return h;
}

TEST(CompareStats, NormalTailAtTableValues) {
  EXPECT_NEAR(normal_sf(1.959964), 0.025, 1e-6);
  EXPECT_NEAR(normal_sf(2.575829), 0.005, 1e-6);
  EXPECT_NEAR(normal_sf(0), 0.5, 1e-12);
  EXPECT_NEAR(normal_sf(-1.644854), 0.95, 1e-6);
}

TEST(CompareStats, IncompleteBetaClosedForms) {
  // Integer a, b: I_x(a, b) = P(Binomial(a + b - 1, x) >= a).
  EXPECT_NEAR(incomplete_beta(2, 3, 0.5), 11.0 / 16.0, 1e-12);
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-12);
  // P(Bin(5, 0.2) >= 3) = 10*.008*.64 + 5*.0016*.8 + .00032 = 0.05792.
  EXPECT_NEAR(incomplete_beta(3, 3, 0.2), 0.05792, 1e-12);
  EXPECT_EQ(incomplete_beta(2, 2, 0), 0);
  EXPECT_EQ(incomplete_beta(2, 2, 1), 1);
}

TEST(CompareStats, StudentTAtTableValues) {
  // t tables, df 10: 2.228 two-sided 0.05, 3.169 two-sided 0.01.
  EXPECT_NEAR(student_t_two_sided(2.228, 10), 0.05, 1e-4);
  EXPECT_NEAR(student_t_two_sided(3.169, 10), 0.01, 1e-4);
  EXPECT_NEAR(student_t_two_sided(-2.228, 10), 0.05, 1e-4);
  // df 1 is Cauchy: P(|T| > 1) = 1/2.
  EXPECT_NEAR(student_t_two_sided(1, 1), 0.5, 1e-12);
  // Non-integer df, by Simpson's rule on the density (Python): 0.38133725.
  EXPECT_NEAR(student_t_two_sided(1, 3.5), 0.38133725, 1e-7);
}

TEST(CompareStats, MannWhitneyWithoutTies) {
  // Python, counting all 72 pairs: U = 64, z = 2.6526984, p = 0.0079851.
  // Values below 2048 us have a bucket each, so the histogram keeps them exactly.
  const auto r = mann_whitney(of({1, 2, 3, 4, 5, 6, 7, 8}), of({5, 6, 7, 8, 9, 10, 11, 12, 13}));
  EXPECT_DOUBLE_EQ(r.u, 64);
  EXPECT_NEAR(r.z, 2.6526984330, 1e-9);
  EXPECT_NEAR(r.p_value, 0.0079851177, 1e-9);
  EXPECT_NEAR(r.effect, 64.0 / 72.0, 1e-12);
}

TEST(CompareStats, MannWhitneyWithTies) {
  // Python with midranks and the tie term sum(t^3 - t): U = 48, z = 2.3109716, p = 0.0208344.
  const auto r =
      mann_whitney(of({10, 10, 20, 20, 20, 30, 40}), of({20, 30, 30, 40, 40, 40, 50, 50}));
  EXPECT_DOUBLE_EQ(r.u, 48);
  EXPECT_NEAR(r.z, 2.3109716328, 1e-9);
  EXPECT_NEAR(r.p_value, 0.0208344218, 1e-9);
  // The other way round the sign flips and p stays.
  const auto back =
      mann_whitney(of({20, 30, 30, 40, 40, 40, 50, 50}), of({10, 10, 20, 20, 20, 30, 40}));
  EXPECT_NEAR(back.z, -r.z, 1e-12);
  EXPECT_NEAR(back.p_value, r.p_value, 1e-12);
}

TEST(CompareStats, MannWhitneyIdenticalAndEmpty) {
  const auto h = of({100, 200, 300, 300, 400});
  const auto same = mann_whitney(h, h);
  EXPECT_EQ(same.z, 0);
  EXPECT_EQ(same.p_value, 1);
  EXPECT_DOUBLE_EQ(same.effect, 0.5);
  EXPECT_EQ(mann_whitney(Histogram(), h).p_value, 1);
}

TEST(CompareStats, WelchOnWikipediasExample) {
  // en.wikipedia.org "Welch's t-test", example 1: t = 2.46, df = 24.99, p = 0.021
  // (Python with Simpson's rule: t 2.4553564, df 24.9885293, p 0.0213780).
  const std::vector<double> a = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
                                 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  const std::vector<double> b = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
                                 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
  const auto w = welch_t(a, b);
  EXPECT_NEAR(w.t, 2.4553563983, 1e-9);
  EXPECT_NEAR(w.df, 24.9885292902, 1e-8);
  EXPECT_NEAR(w.p_value, 0.0213780015, 1e-7);
  EXPECT_EQ(welch_t({1.0}, b).p_value, 1);           // one value: no variance estimate
  EXPECT_EQ(welch_t({2, 2, 2}, {2, 2}).p_value, 1);  // no variance at all
}

TEST(CompareStats, TwoProportion) {
  // 10/1000 vs 25/1000, pooled 0.0175 (Python): z = 2.5579436, p = 0.0105293.
  const auto r = two_proportion(10, 1000, 25, 1000);
  EXPECT_NEAR(r.z, 2.5579435579, 1e-9);
  EXPECT_NEAR(r.p_value, 0.0105293181, 1e-9);
  EXPECT_EQ(two_proportion(0, 1000, 0, 1000).p_value, 1);
  EXPECT_EQ(two_proportion(0, 0, 3, 10).p_value, 1);
}

// Intervals of lognormal latency: `median_us` times exp(N(0, 0.5)).
std::vector<Histogram> lognormal_intervals(std::mt19937_64& rng, double median_us, int intervals,
                                           int per_interval) {
  std::lognormal_distribution<double> d(std::log(median_us), 0.5);
  std::vector<Histogram> out(intervals);
  for (auto& h : out) {
    for (int i = 0; i < per_interval; ++i) h.record(static_cast<int64_t>(d(rng)));
  }
  return out;
}

Histogram merged(const std::vector<Histogram>& hs) {
  Histogram m;
  for (const auto& h : hs) m.add(h);
  return m;
}

TEST(CompareStats, BootstrapIsSeededAndCentredOnTheFullRatio) {
  std::mt19937_64 rng(7);
  const auto a = lognormal_intervals(rng, 2000, 10, 300);
  const auto b = lognormal_intervals(rng, 2400, 10, 300);
  const std::vector<double> stats = {-1, 50, 99};
  const BootstrapOptions o{0.01, 500, 42};
  const auto r1 = bootstrap_latency(a, b, stats, o);
  const auto r2 = bootstrap_latency(a, b, stats, o);
  ASSERT_EQ(r1.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(r1[j].ci_low, r2[j].ci_low);
    EXPECT_EQ(r1[j].ci_high, r2[j].ci_high);
    EXPECT_LE(r1[j].ci_low, r1[j].ratio);
    EXPECT_GE(r1[j].ci_high, r1[j].ratio);
  }
  // The full-data ratio is the merged histograms' own figures.
  const Histogram ma = merged(a), mb = merged(b);
  EXPECT_NEAR(r1[0].ratio, mb.mean() / ma.mean(), 1e-3);
  EXPECT_DOUBLE_EQ(r1[1].ratio, double(mb.value_at_percentile(50)) / ma.value_at_percentile(50));
  EXPECT_DOUBLE_EQ(r1[2].ratio, double(mb.value_at_percentile(99)) / ma.value_at_percentile(99));
  EXPECT_LT(r1[1].p_value, 0.01);  // 20% slower median over 3000 samples a side
  // One interval per side: nothing to resample.
  const auto one = bootstrap_latency({a[0]}, {b[0]}, stats, o);
  EXPECT_EQ(one[1].p_value, 1);
}

struct Flags {
  int mwu = 0, mean = 0, p50 = 0, p99 = 0, any = 0;
};

// 200 seeded pairs of runs (10 intervals x 300 requests each side); the
// candidate's median is `shift` times the baseline's. A flag is p < 0.01 with
// the candidate slower, the direction a regression needs.
Flags simulate(double shift) {
  Flags f;
  const BootstrapOptions o{0.01, 1000, 1};
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    const auto a = lognormal_intervals(rng, 2000, 10, 300);
    const auto b = lognormal_intervals(rng, 2000 * shift, 10, 300);
    const auto u = mann_whitney(merged(a), merged(b));
    const auto bs = bootstrap_latency(a, b, {-1, 50, 99}, {o.alpha, o.resamples, seed});
    const bool mwu = u.p_value < 0.01 && u.z > 0;
    const bool mean = bs[0].p_value < 0.01 && bs[0].ratio > 1;
    const bool p50 = bs[1].p_value < 0.01 && bs[1].ratio > 1;
    const bool p99 = bs[2].p_value < 0.01 && bs[2].ratio > 1;
    f.mwu += mwu;
    f.mean += mean;
    f.p50 += p50;
    f.p99 += p99;
    f.any += mwu || mean || p50 || p99;
  }
  std::printf("shift %.2f, flagged of 200: mann-whitney %d, mean %d, p50 %d, p99 %d, any %d\n",
              shift, f.mwu, f.mean, f.p50, f.p99, f.any);
  return f;
}

TEST(CompareStats, IdenticalDistributionsRarelyFlag) {
  const Flags f = simulate(1.0);
  EXPECT_LE(f.mwu, 4);  // <= 2% of 200
  EXPECT_LE(f.mean, 4);
  EXPECT_LE(f.p50, 4);
  EXPECT_LE(f.p99, 4);
}

TEST(CompareStats, TwentyPercentSlowerMedianIsFound) {
  const Flags f = simulate(1.2);
  EXPECT_GE(f.mwu, 190);  // >= 95% of 200
  EXPECT_GE(f.p50, 190);
  EXPECT_GE(f.mean, 190);
}

TEST(CompareStats, WelchFalseAlarmsOnIntervalThroughput) {
  int flagged = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> rps(5000, 150);
    std::vector<double> a(30), b(30);
    for (auto& x : a) x = rps(rng);
    for (auto& x : b) x = rps(rng);
    flagged += welch_t(a, b).p_value < 0.01;
  }
  std::printf("welch false alarms: %d of 200\n", flagged);
  EXPECT_LE(flagged, 4);
}

}  // namespace compare_stats_test
}  // namespace horde
