// What an instances (or agents) sweep's measurements support, before any words: each capacity's
// 95% confidence interval from the per-interval throughputs of its step; the shape the
// capacities show (linear, sublinear, plateau, retrograde) judged against those intervals; and
// the choice between Amdahl's law (kappa = 0) and the full USL by AICc, with intervals for sigma
// and kappa from a seeded bootstrap over the per-interval values. Pure functions on values: the
// same measurements and seed always give the same intervals. docs/scalability.md has the
// formulas a user reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/usl.h"

namespace horde {

struct Interval {
  double low = 0;
  double high = 0;
  bool operator==(const Interval&) const = default;
};

// One step of a sweep as the analysis sees it.
struct CapacitySample {
  double n = 0;
  double capacity = 0;               // requests/s: the step's achieved rate
  std::vector<double> interval_rps;  // its measured intervals' throughputs (may be empty)
  Interval ci;                       // capacity_interval() of the above
};

// A step's capacity is judged with an uncertainty of at least this fraction of it, whatever its
// intervals say: a sweep's steps are not reproducible better than that (warm-up, the machine's
// other load, the rounding of a search).
inline constexpr double kMinRelativeError = 0.02;

// 95% interval of the mean of the interval throughputs (Student t), centred on the capacity.
// With fewer than 2 intervals it is [capacity, capacity]. A capacity search's capacity may lie
// anywhere up to the lowest rate that failed, so `upper` (that rate) raises the high end.
Interval capacity_interval(double capacity, const std::vector<double>& interval_rps,
                           std::optional<double> upper = std::nullopt);

// Two-sided 95% Student t quantile for df degrees of freedom (1.96 from 120 on).
double t_quantile_95(size_t df);

// The interval used to judge the shape and weigh the fit: the capacity interval, widened to at
// least +-kMinRelativeError of the capacity.
Interval judged_interval(const CapacitySample& s);

enum class Shape { kLinear, kSublinear, kPlateau, kRetrograde };
const char* shape_name(Shape s);

struct ShapeFinding {
  Shape shape = Shape::kLinear;
  size_t peak = 0;          // index (in n order) of the highest capacity
  size_t plateau_from = 0;  // plateau: first index nothing later exceeds beyond noise
  size_t fallen = 0;        // retrograde: the later point that is lower beyond noise
};

// Judged on the samples in increasing n (at least 2 distinct n, else nullopt), with
// judged_interval() as the noise:
// - retrograde: some point is lower than an earlier one, their intervals apart;
// - linear: every point's interval reaches 90% of the ideal n / n0 x the first's low end;
// - plateau: the last point is not above the one before it beyond noise;
// - sublinear: otherwise (still growing, less than linearly).
std::optional<ShapeFinding> classify_shape(const std::vector<CapacitySample>& by_n);

enum class FitModel { kAmdahl, kUsl };
const char* model_name(FitModel m);

// AICc of a least-squares fit with known variances: chi2 + 2k + 2k(k + 1) / (n - k - 1), with k
// the fitted parameters (2 for Amdahl: lambda, sigma; 3 for the USL); nullopt when n <= k + 1.
std::optional<double> aicc(double chi2, size_t n, size_t k);

struct ModelChoice {
  FitModel model = FitModel::kAmdahl;
  UslFit amdahl;  // kappa = 0
  UslFit usl;     // sigma and kappa free
  std::optional<double> aicc_amdahl, aicc_usl;
  Interval sigma_ci;               // of the chosen model's sigma
  Interval kappa_ci;               // of the full USL's kappa: the evidence for crosstalk
  Interval usl_sigma_ci;           // of the full USL's sigma
  bool kappa_significant = false;  // kappa_ci's low end costs >= 1% at the largest n
  uint32_t replicates = 0;
  const UslFit& chosen() const { return model == FitModel::kUsl ? usl : amdahl; }
};

inline constexpr uint32_t kBootstrapReplicates = 400;
inline constexpr uint64_t kBootstrapSeed = 20261201;

// Fits both models weighted by 1 / (judged half-width / 1.96)^2, keeps the USL only when its
// AICc is lower, and bootstraps: each replicate resamples every step's intervals with replacement
// (plus normal noise up to the step's judged error when its intervals vary less) and refits.
// An error when the fits are not possible (fewer than 3 distinct n).
Result<ModelChoice> choose_model(const std::vector<CapacitySample>& samples,
                                 uint32_t replicates = kBootstrapReplicates,
                                 uint64_t seed = kBootstrapSeed);

}  // namespace horde
