#include "controller/usl.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace horde {

namespace {

double denominator(double sigma, double kappa, double n) {
  return 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0);
}

// For fixed (sigma, kappa) the model is linear in lambda, so the best lambda has
// a closed form and the search runs over two parameters only.
struct Objective {
  const std::vector<UslPoint>& points;
  double scale;  // divides throughput so the sums stay near 1 whatever the units

  double best_lambda(double sigma, double kappa) const {
    double xg = 0, gg = 0;
    for (const auto& p : points) {
      const double g = p.n / denominator(sigma, kappa, p.n);
      xg += p.weight * p.throughput / scale * g;
      gg += p.weight * g * g;
    }
    return gg > 0 ? xg / gg : 0;
  }

  double sse(double sigma, double kappa) const {
    const double lambda = best_lambda(sigma, kappa);
    double s = 0;
    for (const auto& p : points) {
      const double r = p.throughput / scale - lambda * p.n / denominator(sigma, kappa, p.n);
      s += p.weight * r * r;
    }
    return s;
  }
};

using Vec2 = std::array<double, 2>;

Vec2 project(Vec2 v) { return {std::max(0.0, v[0]), std::max(0.0, v[1])}; }

// Nelder-Mead on (sigma, kappa), every vertex projected onto sigma, kappa >= 0.
// Deterministic; restarted from its best vertex so a collapsed simplex on the
// boundary does not stop it early.
Vec2 nelder_mead(const Objective& obj, Vec2 start) {
  Vec2 best = project(start);
  double best_f = obj.sse(best[0], best[1]);
  for (int restart = 0; restart < 6; ++restart) {
    std::array<Vec2, 3> x = {best, best, best};
    x[1][0] += std::max(std::abs(best[0]) * 0.25, 1e-3);
    x[2][1] += std::max(std::abs(best[1]) * 0.25, 1e-5);
    std::array<double, 3> f;
    for (int i = 0; i < 3; ++i) {
      x[i] = project(x[i]);
      f[i] = obj.sse(x[i][0], x[i][1]);
    }
    for (int iter = 0; iter < 4000; ++iter) {
      std::array<int, 3> o = {0, 1, 2};
      std::sort(o.begin(), o.end(), [&](int a, int b) { return f[a] < f[b]; });
      const int lo = o[0], mid = o[1], hi = o[2];
      const double spread = std::abs(f[hi] - f[lo]);
      const double size =
          std::max(std::abs(x[hi][0] - x[lo][0]) + std::abs(x[mid][0] - x[lo][0]),
                   (std::abs(x[hi][1] - x[lo][1]) + std::abs(x[mid][1] - x[lo][1])) * 100);
      if (spread <= 1e-30 + 1e-15 * std::abs(f[lo]) && size < 1e-13) break;
      const Vec2 c = {(x[lo][0] + x[mid][0]) / 2, (x[lo][1] + x[mid][1]) / 2};
      auto along = [&](double t) {
        return project({c[0] + t * (x[hi][0] - c[0]), c[1] + t * (x[hi][1] - c[1])});
      };
      const Vec2 r = along(-1.0);
      const double fr = obj.sse(r[0], r[1]);
      if (fr < f[lo]) {
        const Vec2 e = along(-2.0);
        const double fe = obj.sse(e[0], e[1]);
        if (fe < fr) {
          x[hi] = e, f[hi] = fe;
        } else {
          x[hi] = r, f[hi] = fr;
        }
      } else if (fr < f[mid]) {
        x[hi] = r, f[hi] = fr;
      } else {
        const Vec2 k = fr < f[hi] ? along(-0.5) : along(0.5);
        const double fk = obj.sse(k[0], k[1]);
        if (fk < std::min(fr, f[hi])) {
          x[hi] = k, f[hi] = fk;
        } else {
          for (int i : {mid, hi}) {
            x[i] = project({(x[i][0] + x[lo][0]) / 2, (x[i][1] + x[lo][1]) / 2});
            f[i] = obj.sse(x[i][0], x[i][1]);
          }
        }
      }
    }
    const int lo = static_cast<int>(std::min_element(f.begin(), f.end()) - f.begin());
    if (f[lo] < best_f) {
      best = x[lo];
      best_f = f[lo];
    } else if (restart > 0) {
      break;
    }
  }
  return best;
}

// Linearized start: n / X = (1 + sigma (n-1) + kappa n (n-1)) / lambda is linear
// in (1/lambda, sigma/lambda, kappa/lambda); exact for noiseless data.
std::optional<Vec2> linearized_start(const std::vector<UslPoint>& points) {
  double a[3][4] = {};
  for (const auto& p : points) {
    if (p.throughput <= 0) return std::nullopt;
    const double row[3] = {1.0, p.n - 1.0, p.n * (p.n - 1.0)};
    const double y = p.n / p.throughput;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) a[i][j] += row[i] * row[j];
      a[i][3] += row[i] * y;
    }
  }
  for (int c = 0; c < 3; ++c) {  // Gaussian elimination with partial pivoting
    int piv = c;
    for (int r = c + 1; r < 3; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    }
    if (std::abs(a[piv][c]) < 1e-300) return std::nullopt;
    for (int j = 0; j < 4; ++j) std::swap(a[c][j], a[piv][j]);
    for (int r = 0; r < 3; ++r) {
      if (r == c) continue;
      const double m = a[r][c] / a[c][c];
      for (int j = c; j < 4; ++j) a[r][j] -= m * a[c][j];
    }
  }
  const double inv_lambda = a[0][3] / a[0][0];
  if (!(inv_lambda > 0)) return std::nullopt;
  const Vec2 v = {a[1][3] / a[1][1] / inv_lambda, a[2][3] / a[2][2] / inv_lambda};
  if (!std::isfinite(v[0]) || !std::isfinite(v[1])) return std::nullopt;
  return project(v);
}

// Checks the input; returns the largest throughput (which scales the sums).
Result<double> check_points(const std::vector<UslPoint>& points) {
  std::vector<double> ns;
  double max_x = 0;
  for (const auto& p : points) {
    if (!std::isfinite(p.n) || p.n < 1) {
      return Error{fmt::format("USL fit: n must be a finite number >= 1, got {}", p.n)};
    }
    if (!std::isfinite(p.throughput) || p.throughput < 0) {
      return Error{fmt::format("USL fit: throughput at n = {} must be finite and >= 0", p.n)};
    }
    if (!std::isfinite(p.weight) || p.weight <= 0) {
      return Error{fmt::format("USL fit: the weight at n = {} must be finite and > 0", p.n)};
    }
    if (std::find(ns.begin(), ns.end(), p.n) == ns.end()) ns.push_back(p.n);
    max_x = std::max(max_x, p.throughput);
  }
  if (ns.size() < 3) {
    return Error{
        fmt::format("USL fit needs at least 3 points with distinct n (instances or agents), got {}",
                    ns.size())};
  }
  if (max_x <= 0) return Error{"USL fit: every measured throughput is 0"};
  return max_x;
}

UslFit finish(const std::vector<UslPoint>& points, const Objective& obj, double max_x, double sigma,
              double kappa) {
  UslFit fit;
  fit.sigma = sigma;
  fit.kappa = kappa;
  fit.lambda = obj.best_lambda(fit.sigma, fit.kappa) * max_x;
  double mean = 0;
  for (const auto& p : points) mean += p.throughput;
  mean /= static_cast<double>(points.size());
  double ss_res = 0, ss_tot = 0;
  for (const auto& p : points) {
    const double r = p.throughput - usl_throughput(fit, p.n);
    ss_res += r * r;
    ss_tot += (p.throughput - mean) * (p.throughput - mean);
  }
  fit.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res <= 1e-18 * max_x * max_x ? 1.0 : 0.0);
  if (fit.kappa > 0) {
    // dX/dN = 0 at N = sqrt((1 - sigma) / kappa); with sigma >= 1 X falls from N = 1.
    fit.peak_n = fit.sigma < 1 ? std::max(1.0, std::sqrt((1.0 - fit.sigma) / fit.kappa)) : 1.0;
    fit.peak_throughput = usl_throughput(fit, *fit.peak_n);
  }
  return fit;
}

}  // namespace

double usl_throughput(const UslFit& f, double n) {
  const double d = denominator(f.sigma, f.kappa, n);
  return d > 0 ? f.lambda * n / d : 0;
}

Result<UslFit> fit_usl(const std::vector<UslPoint>& points) {
  auto checked = check_points(points);
  if (!checked.ok()) return checked.error();
  const double max_x = *checked;

  const Objective obj{points, max_x};
  // A coarse logarithmic grid finds the right basin; Nelder-Mead refines it.
  Vec2 best = {0, 0};
  double best_f = obj.sse(0, 0);
  auto consider = [&](Vec2 v) {
    const double f = obj.sse(v[0], v[1]);
    if (f < best_f) best = v, best_f = f;
  };
  std::vector<double> sigmas = {0}, kappas = {0};
  for (double e = -6; e <= 0.5; e += 0.125) sigmas.push_back(std::pow(10.0, e));
  for (double e = -8; e <= 0; e += 0.125) kappas.push_back(std::pow(10.0, e));
  for (double s : sigmas) {
    for (double k : kappas) consider({s, k});
  }
  if (auto lin = linearized_start(points)) consider(*lin);
  best = nelder_mead(obj, best);
  // Both parameters are non-negative: also polish on each edge, where the
  // optimum often lies (a curve with no crosstalk, or no contention).
  for (Vec2 edge : {Vec2{best[0], 0}, Vec2{0, best[1]}}) {
    const Vec2 v = nelder_mead(obj, edge);
    if (obj.sse(v[0], v[1]) < obj.sse(best[0], best[1])) best = v;
  }

  return finish(points, obj, max_x, best[0], best[1]);
}

Result<UslFit> fit_amdahl(const std::vector<UslPoint>& points) {
  auto checked = check_points(points);
  if (!checked.ok()) return checked.error();
  const double max_x = *checked;
  const Objective obj{points, max_x};
  // One parameter: a logarithmic grid, then golden-section search around the best.
  double best = 0, best_f = obj.sse(0, 0);
  for (double e = -6; e <= 0.5; e += 0.0625) {
    const double s = std::pow(10.0, e);
    if (const double f = obj.sse(s, 0); f < best_f) best = s, best_f = f;
  }
  double lo = best > 0 ? best / std::pow(10.0, 0.0625) : 0.0;
  double hi = best > 0 ? best * std::pow(10.0, 0.0625) : 1e-6;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = obj.sse(a, 0), fb = obj.sse(b, 0);
  for (int i = 0; i < 200 && hi - lo > 1e-15 * std::max(1.0, hi); ++i) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - g * (hi - lo);
      fa = obj.sse(a, 0);
    } else {
      lo = a, a = b, fa = fb;
      b = lo + g * (hi - lo);
      fb = obj.sse(b, 0);
    }
  }
  const double mid = (lo + hi) / 2;
  if (obj.sse(mid, 0) < best_f) best = mid;
  return finish(points, obj, max_x, best, 0);
}

double weighted_sse(const UslFit& f, const std::vector<UslPoint>& points) {
  double s = 0;
  for (const auto& p : points) {
    const double r = p.throughput - usl_throughput(f, p.n);
    s += p.weight * r * r;
  }
  return s;
}

}  // namespace horde
