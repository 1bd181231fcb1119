// The scalability analysis: fits the Universal Scalability Law
//   X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
// to capacity measured at N instances (or agents), and turns the fit and the
// measured efficiencies X(N) / (N X(1)) into a verdict in plain words: how much
// of the ideal linear gain N instances deliver, what limits it (contention
// sigma, crosstalk kappa, or nothing yet) and where the predicted peak lies.
// Pure functions on values, deterministic, so the verdict a user reads can be
// checked against synthetic curves with known parameters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace horde {

struct UslPoint {
  double n = 0;           // instances or agents
  double throughput = 0;  // capacity measured at n, requests/s
};

struct UslFit {
  double lambda = 0;             // throughput of one unit without overhead (requests/s)
  double sigma = 0;              // contention: the serialized fraction of the work (>= 0)
  double kappa = 0;              // crosstalk: pairwise coordination cost (>= 0)
  double r2 = 0;                 // coefficient of determination on throughput
  std::optional<double> peak_n;  // where X(N) peaks; none when kappa == 0 (no peak predicted)
  double peak_throughput = 0;    // X(peak_n); 0 without a peak
};

// Least squares on throughput with sigma, kappa >= 0. Needs at least 3 points
// with distinct n >= 1 and finite, non-negative throughput; an error otherwise.
Result<UslFit> fit_usl(const std::vector<UslPoint>& points);

// lambda n / (1 + sigma (n - 1) + kappa n (n - 1)).
double usl_throughput(const UslFit& f, double n);

struct ScalabilityVerdict {
  std::vector<double> efficiency;  // per point, in the order given
  std::string text;
  bool passed = false;
};

// Efficiency per point is X(N) / (N X(1)); X(1) is the point with n == 1 or,
// without one, the smallest n's throughput per unit. Passes when the efficiency
// at the largest N is at least min_efficiency (a fraction, e.g. 0.8). noun
// names the unit in the text: "instances" or "agents".
ScalabilityVerdict judge_scalability(const std::vector<UslPoint>& points,
                                     const std::optional<UslFit>& fit, double min_efficiency,
                                     const std::string& noun);

}  // namespace horde
