// The statistics behind `horde compare`, as pure functions on values: a
// two-sample rank test on whole latency histograms (Mann-Whitney U, ties by
// bucket, normal approximation with tie and continuity correction), a seeded
// bootstrap over per-interval histograms for the ratio of latency percentiles
// and means, Welch's t on per-interval values (throughput) and a two-proportion
// z test (error rates). Deterministic for a given seed, so a verdict can be
// reproduced and every figure checked against values computed another way
// (tests/controller/compare_stats_test.cc). docs/compare.md has the formulas.
#pragma once

#include <cstdint>
#include <vector>

#include "common/histogram.h"

namespace horde {

// Upper tail of the standard normal: P(Z > z).
double normal_sf(double z);
// Two-sided tail of Student's t with df degrees of freedom: P(|T| > |t|).
double student_t_two_sided(double t, double df);
// I_x(a, b), the regularized incomplete beta function (Lentz continued fraction).
double incomplete_beta(double a, double b, double x);

struct MannWhitney {
  double u = 0;        // U of the candidate (b): pairs (a, b) with b > a, ties counted 1/2
  double z = 0;        // (U - n1 n2 / 2) standardized, continuity-corrected; > 0: b is slower
  double p_value = 1;  // two-sided
  // P(a random b request is slower than a random a request) + P(tie) / 2: 0.5 when alike.
  double effect = 0.5;
};
// Samples in one histogram bucket are ties (their exact values are gone). Either side
// empty: z 0, p 1.
MannWhitney mann_whitney(const Histogram& a, const Histogram& b);

struct Welch {
  double mean_a = 0, mean_b = 0;
  double t = 0;  // (mean_b - mean_a) / sqrt(s_a^2/n_a + s_b^2/n_b)
  double df = 0;
  double p_value = 1;  // two-sided; 1 when fewer than 2 values on a side or no variance
};
Welch welch_t(const std::vector<double>& a, const std::vector<double>& b);

struct TwoProportion {
  double rate_a = 0, rate_b = 0;
  double z = 0;        // pooled; > 0: b has the higher rate
  double p_value = 1;  // two-sided
};
TwoProportion two_proportion(uint64_t errors_a, uint64_t n_a, uint64_t errors_b, uint64_t n_b);

// What the bootstrap estimates per resample of each side's intervals: the mean
// (percentile < 0) or a percentile with Histogram::value_at_percentile's rule.
struct BootstrapStat {
  double ratio = 1;   // b / a on the full data
  double ci_low = 1;  // (1 - alpha) percentile-bootstrap interval of the ratio
  double ci_high = 1;
  double p_value = 1;  // two-sided: 2 x the share of resampled ratios on the far side of 1
};

struct BootstrapOptions {
  double alpha = 0.01;
  uint32_t resamples = 2000;
  uint64_t seed = 1;
};

// Each resample draws as many intervals as each side has, with replacement,
// independently per side, and merges their counts. Needs at least 2 intervals
// with samples per side; otherwise every result keeps p 1 and the ratio on the
// full data.
std::vector<BootstrapStat> bootstrap_latency(const std::vector<Histogram>& a,
                                             const std::vector<Histogram>& b,
                                             const std::vector<double>& percentiles,
                                             const BootstrapOptions& options);

}  // namespace horde
