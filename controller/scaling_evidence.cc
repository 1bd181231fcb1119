#include "controller/scaling_evidence.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>

namespace horde {

namespace {

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); 0 with fewer than 2 values.
double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// The standard error a fit and the bootstrap give a step: half its judged interval / 1.96.
double judged_error(const CapacitySample& s) {
  const Interval j = judged_interval(s);
  return std::max((j.high - j.low) / 2 / 1.96, 1e-9);
}

// Exactly specified generators only (std::normal_distribution is not), so a replicate is the
// same on every standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t index(size_t n) { return static_cast<size_t>(engine_() % n); }
  double normal() {                     // Box-Muller
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }

 private:
  std::mt19937_64 engine_;
};

Interval percentile_interval(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const double last = static_cast<double>(v.size() - 1);
  return {v[static_cast<size_t>(std::floor(0.025 * last))],
          v[static_cast<size_t>(std::ceil(0.975 * last))]};
}

std::vector<UslPoint> weighted_points(const std::vector<CapacitySample>& samples,
                                      const std::vector<double>& capacity) {
  std::vector<UslPoint> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    const double e = judged_error(samples[i]);
    out.push_back({samples[i].n, std::max(0.0, capacity[i]), 1.0 / (e * e)});
  }
  return out;
}

}  // namespace

double t_quantile_95(size_t df) {
  static constexpr std::array<double, 30> kT = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return INFINITY;
  if (df <= kT.size()) return kT[df - 1];
  if (df < 40) return 2.030;
  if (df < 60) return 2.015;
  if (df < 120) return 1.990;
  return 1.960;
}

Interval capacity_interval(double capacity, const std::vector<double>& interval_rps,
                           std::optional<double> upper) {
  Interval ci{capacity, capacity};
  if (interval_rps.size() >= 2) {
    const double half = t_quantile_95(interval_rps.size() - 1) * sd_of(interval_rps) /
                        std::sqrt(static_cast<double>(interval_rps.size()));
    ci = {std::max(0.0, capacity - half), capacity + half};
  }
  if (upper && *upper > ci.high) ci.high = *upper;
  return ci;
}

Interval judged_interval(const CapacitySample& s) {
  const double floor = kMinRelativeError * s.capacity;
  return {std::min(s.ci.low, s.capacity - floor), std::max(s.ci.high, s.capacity + floor)};
}

const char* shape_name(Shape s) {
  switch (s) {
    case Shape::kLinear:
      return "linear";
    case Shape::kSublinear:
      return "sublinear";
    case Shape::kPlateau:
      return "plateau";
    case Shape::kRetrograde:
      return "retrograde";
  }
  return "linear";
}

std::optional<ShapeFinding> classify_shape(const std::vector<CapacitySample>& by_n) {
  if (by_n.size() < 2 || by_n.front().n == by_n.back().n || by_n.front().n <= 0) {
    return std::nullopt;
  }
  std::vector<Interval> j;
  for (const auto& s : by_n) j.push_back(judged_interval(s));
  ShapeFinding f;
  for (size_t i = 0; i < by_n.size(); ++i) {
    if (by_n[i].capacity > by_n[f.peak].capacity) f.peak = i;
  }
  for (size_t later = 1; later < by_n.size(); ++later) {
    for (size_t earlier = 0; earlier < later; ++earlier) {
      if (j[later].high < j[earlier].low) {
        f.shape = Shape::kRetrograde;
        f.fallen = later;
        return f;
      }
    }
  }
  const double per_unit_low = j[0].low / by_n[0].n;
  bool linear = true;
  for (size_t i = 0; i < by_n.size(); ++i) {
    linear &= j[i].high >= 0.9 * by_n[i].n * per_unit_low;
  }
  if (linear) return f;
  const size_t last = by_n.size() - 1;
  if (j[last].low <= j[last - 1].high) {
    f.shape = Shape::kPlateau;
    // The first step that nothing after it exceeds beyond noise.
    f.plateau_from = last;
    for (size_t p = last; p-- > 0;) {
      bool flat = true;
      for (size_t k = p + 1; k <= last; ++k) flat &= j[k].low <= j[p].high;
      if (!flat) break;
      f.plateau_from = p;
    }
    return f;
  }
  f.shape = Shape::kSublinear;
  return f;
}

const char* model_name(FitModel m) { return m == FitModel::kUsl ? "usl" : "amdahl"; }

std::optional<double> aicc(double chi2, size_t n, size_t k) {
  if (n <= k + 1) return std::nullopt;
  const double kk = static_cast<double>(k);
  return chi2 + 2 * kk + 2 * kk * (kk + 1) / static_cast<double>(n - k - 1);
}

Result<ModelChoice> choose_model(const std::vector<CapacitySample>& samples, uint32_t replicates,
                                 uint64_t seed) {
  std::vector<double> capacity;
  for (const auto& s : samples) capacity.push_back(s.capacity);
  const auto points = weighted_points(samples, capacity);
  auto amdahl = fit_amdahl(points);
  if (!amdahl.ok()) return amdahl.error();
  auto usl = fit_usl(points);
  if (!usl.ok()) return usl.error();
  ModelChoice c;
  c.amdahl = *amdahl;
  c.usl = *usl;
  c.aicc_amdahl = aicc(weighted_sse(c.amdahl, points), points.size(), 2);
  c.aicc_usl = aicc(weighted_sse(c.usl, points), points.size(), 3);
  if (c.aicc_usl && (!c.aicc_amdahl || *c.aicc_usl < *c.aicc_amdahl)) c.model = FitModel::kUsl;

  Rng rng(seed);
  std::vector<double> sigmas, kappas, usl_sigmas;
  std::vector<double> replicate(samples.size());
  for (uint32_t b = 0; b < replicates; ++b) {
    for (size_t i = 0; i < samples.size(); ++i) {
      const CapacitySample& s = samples[i];
      const double error = judged_error(s);
      double value = s.capacity, spread = 0;
      const size_t m = s.interval_rps.size();
      if (m >= 2) {
        double sum = 0;
        for (size_t k = 0; k < m; ++k) sum += s.interval_rps[rng.index(m)];
        value += sum / static_cast<double>(m) - mean_of(s.interval_rps);
        spread = sd_of(s.interval_rps) / std::sqrt(static_cast<double>(m));
      }
      // Noise the intervals do not show, up to the step's judged error.
      value += rng.normal() * std::sqrt(std::max(0.0, error * error - spread * spread));
      replicate[i] = value;
    }
    const auto pts = weighted_points(samples, replicate);
    auto a = fit_amdahl(pts);
    auto u = fit_usl(pts);
    if (!a.ok() || !u.ok()) continue;
    sigmas.push_back(c.model == FitModel::kUsl ? u->sigma : a->sigma);
    kappas.push_back(u->kappa);
    usl_sigmas.push_back(u->sigma);
  }
  c.replicates = static_cast<uint32_t>(kappas.size());
  c.sigma_ci = percentile_interval(sigmas);
  c.kappa_ci = percentile_interval(kappas);
  c.usl_sigma_ci = percentile_interval(usl_sigmas);
  double n_max = 0;
  for (const auto& s : samples) n_max = std::max(n_max, s.n);
  c.kappa_significant = c.replicates > 0 && c.kappa_ci.low * n_max * (n_max - 1) >= 0.01;
  return c;
}

}  // namespace horde
