#include "controller/compare_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace horde {

namespace {

// Continued fraction for I_x(a, b) (modified Lentz; Numerical Recipes' betacf).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10'000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

double variance(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return s / static_cast<double>(v.size() - 1);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// One side of the bootstrap: its intervals as sparse (compact bucket, count)
// lists, with each interval's sum (for the mean) and exact max.
struct Side {
  std::vector<std::vector<std::pair<uint32_t, uint64_t>>> counts;
  std::vector<long double> sums;
  std::vector<int64_t> maxes;
};

Side make_side(const std::vector<Histogram>& hs, const std::vector<size_t>& compact_of) {
  Side s;
  for (const auto& h : hs) {
    if (h.empty()) continue;
    std::vector<std::pair<uint32_t, uint64_t>> c;
    for (size_t i = 0; i < h.bucket_count(); ++i) {
      if (h.count_at(i)) c.emplace_back(static_cast<uint32_t>(compact_of[i]), h.count_at(i));
    }
    s.counts.push_back(std::move(c));
    s.sums.push_back(static_cast<long double>(h.mean()) *
                     static_cast<long double>(h.total_count()));
    s.maxes.push_back(h.max());
  }
  return s;
}

// The statistics of the merge of `pick` (interval positions, repeats allowed).
class Estimator {
 public:
  Estimator(const std::vector<int64_t>& highest, const std::vector<double>& percentiles)
      : highest_(highest), percentiles_(percentiles), merged_(highest.size(), 0) {
    for (size_t j = 0; j < percentiles.size(); ++j) order_.push_back(j);
    std::sort(order_.begin(), order_.end(),
              [&](size_t x, size_t y) { return percentiles[x] < percentiles[y]; });
  }

  std::vector<double> operator()(const Side& s, const std::vector<size_t>& pick) {
    std::fill(merged_.begin(), merged_.end(), 0);
    uint64_t total = 0;
    long double sum = 0;
    int64_t max = 0;
    for (size_t k : pick) {
      for (const auto& [i, n] : s.counts[k]) {
        merged_[i] += n;
        total += n;
      }
      sum += s.sums[k];
      max = std::max(max, s.maxes[k]);
    }
    std::vector<double> out(percentiles_.size(), 0);
    // One pass over the buckets for every percentile, lowest rank first.
    size_t i = 0;
    uint64_t seen = 0;
    for (size_t j : order_) {
      const double p = percentiles_[j];
      if (p < 0) {
        out[j] = static_cast<double>(sum / static_cast<long double>(total));
        continue;
      }
      const double exact = std::min(p, 100.0) / 100.0 * static_cast<double>(total);
      const double rank_fp = std::ceil(exact - exact * 1e-12);
      const uint64_t rank =
          std::min<uint64_t>(total, rank_fp < 1 ? 1 : static_cast<uint64_t>(rank_fp));
      while (i < merged_.size() && seen + merged_[i] < rank) seen += merged_[i++];
      out[j] = static_cast<double>(std::min(highest_[std::min(i, merged_.size() - 1)], max));
    }
    return out;
  }

 private:
  const std::vector<int64_t>& highest_;
  const std::vector<double>& percentiles_;
  std::vector<uint64_t> merged_;
  std::vector<size_t> order_;
};

}  // namespace

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double student_t_two_sided(double t, double df) {
  if (!std::isfinite(t)) return 0;
  if (!(df > 0)) return 1;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

MannWhitney mann_whitney(const Histogram& a, const Histogram& b) {
  MannWhitney r;
  const auto n1 = static_cast<long double>(a.total_count());
  const auto n2 = static_cast<long double>(b.total_count());
  if (n1 == 0 || n2 == 0) return r;
  long double u = 0, below_a = 0, ties = 0;
  for (size_t i = 0; i < a.bucket_count(); ++i) {
    const auto ca = static_cast<long double>(a.count_at(i));
    const auto cb = static_cast<long double>(b.count_at(i));
    if (ca == 0 && cb == 0) continue;
    u += cb * (below_a + ca / 2);
    below_a += ca;
    const long double t = ca + cb;
    ties += t * t * t - t;
  }
  const long double n = n1 + n2;
  const long double mu = n1 * n2 / 2;
  const long double var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
  r.u = static_cast<double>(u);
  r.effect = static_cast<double>(u / (n1 * n2));
  const long double d = u - mu;
  if (var <= 0 || std::fabs(static_cast<double>(d)) <= 0.5) return r;
  r.z = static_cast<double>((d - (d > 0 ? 0.5L : -0.5L)) / std::sqrt(var));
  r.p_value = std::min(1.0, 2 * normal_sf(std::fabs(r.z)));
  return r;
}

Welch welch_t(const std::vector<double>& a, const std::vector<double>& b) {
  Welch w;
  w.mean_a = mean_of(a);
  w.mean_b = mean_of(b);
  if (a.size() < 2 || b.size() < 2) return w;
  const double va = variance(a, w.mean_a) / static_cast<double>(a.size());
  const double vb = variance(b, w.mean_b) / static_cast<double>(b.size());
  if (va + vb <= 0) return w;
  w.t = (w.mean_b - w.mean_a) / std::sqrt(va + vb);
  w.df =
      (va + vb) * (va + vb) /
      (va * va / static_cast<double>(a.size() - 1) + vb * vb / static_cast<double>(b.size() - 1));
  w.p_value = student_t_two_sided(w.t, w.df);
  return w;
}

TwoProportion two_proportion(uint64_t errors_a, uint64_t n_a, uint64_t errors_b, uint64_t n_b) {
  TwoProportion r;
  if (n_a == 0 || n_b == 0) return r;
  const double na = static_cast<double>(n_a), nb = static_cast<double>(n_b);
  r.rate_a = static_cast<double>(errors_a) / na;
  r.rate_b = static_cast<double>(errors_b) / nb;
  const double pooled = static_cast<double>(errors_a + errors_b) / (na + nb);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  if (se <= 0) return r;
  r.z = (r.rate_b - r.rate_a) / se;
  r.p_value = std::min(1.0, 2 * normal_sf(std::fabs(r.z)));
  return r;
}

std::vector<BootstrapStat> bootstrap_latency(const std::vector<Histogram>& a,
                                             const std::vector<Histogram>& b,
                                             const std::vector<double>& percentiles,
                                             const BootstrapOptions& options) {
  std::vector<BootstrapStat> out(percentiles.size());
  // Only buckets that hold a sample somewhere matter: a compact layout keeps each merge small.
  const size_t buckets = Histogram().bucket_count();
  std::vector<bool> used(buckets, false);
  for (const auto* side : {&a, &b}) {
    for (const auto& h : *side) {
      for (size_t i = 0; i < h.bucket_count(); ++i) used[i] = used[i] || h.count_at(i) > 0;
    }
  }
  std::vector<size_t> compact_of(buckets, 0);
  std::vector<int64_t> highest;
  for (size_t i = 0; i < buckets; ++i) {
    if (!used[i]) continue;
    compact_of[i] = highest.size();
    highest.push_back(Histogram::highest_equivalent(i));
  }
  const Side sa = make_side(a, compact_of), sb = make_side(b, compact_of);
  if (sa.counts.empty() || sb.counts.empty()) return out;
  Estimator estimate(highest, percentiles);
  const auto all = [](const Side& s) {
    std::vector<size_t> v(s.counts.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  };
  const auto full_a = estimate(sa, all(sa)), full_b = estimate(sb, all(sb));
  for (size_t j = 0; j < out.size(); ++j) {
    out[j].ratio = full_a[j] > 0 ? full_b[j] / full_a[j] : 1;
    out[j].ci_low = out[j].ci_high = out[j].ratio;
  }
  if (sa.counts.size() < 2 || sb.counts.size() < 2 || options.resamples == 0) return out;

  std::mt19937_64 rng(options.seed);
  const auto draw = [&rng](size_t n, std::vector<size_t>* pick) {
    pick->resize(n);
    for (auto& k : *pick) {
      // Lemire's multiply-shift: uniform enough for n far below 2^64.
      k = static_cast<size_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
    }
  };
  std::vector<std::vector<double>> ratios(out.size());
  std::vector<size_t> pick;
  for (uint32_t r = 0; r < options.resamples; ++r) {
    draw(sa.counts.size(), &pick);
    const auto ea = estimate(sa, pick);
    draw(sb.counts.size(), &pick);
    const auto eb = estimate(sb, pick);
    for (size_t j = 0; j < out.size(); ++j) {
      ratios[j].push_back(ea[j] > 0 ? eb[j] / ea[j] : 1);
    }
  }
  const double n = options.resamples;
  for (size_t j = 0; j < out.size(); ++j) {
    auto& v = ratios[j];
    std::sort(v.begin(), v.end());
    const auto at = [&v](double q) {
      const auto i = static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
      return v[std::min(i, v.size() - 1)];
    };
    out[j].ci_low = at(options.alpha / 2);
    out[j].ci_high = at(1 - options.alpha / 2);
    const auto at_most_1 =
        static_cast<double>(std::upper_bound(v.begin(), v.end(), 1.0) - v.begin());
    const auto at_least_1 =
        static_cast<double>(v.end() - std::lower_bound(v.begin(), v.end(), 1.0));
    out[j].p_value = std::min(1.0, 2 * (std::min(at_most_1, at_least_1) + 1) / (n + 1));
  }
  return out;
}

}  // namespace horde
