// The two scalability models fitted to capacity measured at N instances (or
// agents): the Universal Scalability Law
//   X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
// and its nested special case Amdahl's law (kappa = 0), by (weighted) least
// squares with sigma, kappa >= 0. Which one the data support, with what
// uncertainty, is scaling_evidence.h; the words a user reads, verdict.h. Pure
// functions on values, deterministic, so they are checked against synthetic
// curves with known parameters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace horde {

struct UslPoint {
  double n = 0;           // instances or agents
  double throughput = 0;  // capacity measured at n, requests/s
  double weight = 1;      // in the sum of squares: 1 / variance of throughput, or 1
};

struct UslFit {
  double lambda = 0;             // throughput of one unit without overhead (requests/s)
  double sigma = 0;              // contention: the serialized fraction of the work (>= 0)
  double kappa = 0;              // crosstalk: pairwise coordination cost (>= 0)
  double r2 = 0;                 // coefficient of determination on throughput
  std::optional<double> peak_n;  // where X(N) peaks; none when kappa == 0 (no peak predicted)
  double peak_throughput = 0;    // X(peak_n); 0 without a peak
};

// Least squares on throughput (each residual squared times its point's weight)
// with sigma, kappa >= 0. Needs at least 3 points with distinct n >= 1, finite,
// non-negative throughput and finite positive weights; an error otherwise.
Result<UslFit> fit_usl(const std::vector<UslPoint>& points);
// The same with kappa held at 0: Amdahl's law. Same input rules.
Result<UslFit> fit_amdahl(const std::vector<UslPoint>& points);

// lambda n / (1 + sigma (n - 1) + kappa n (n - 1)).
double usl_throughput(const UslFit& f, double n);

// The weighted sum of squared residuals of a fit: chi-square when the weights
// are 1 / variance.
double weighted_sse(const UslFit& f, const std::vector<UslPoint>& points);

}  // namespace horde
