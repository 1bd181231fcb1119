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
      xg += p.throughput / scale * g;
      gg += g * g;
    }
    return gg > 0 ? xg / gg : 0;
  }

  double sse(double sigma, double kappa) const {
    const double lambda = best_lambda(sigma, kappa);
    double s = 0;
    for (const auto& p : points) {
      const double r = p.throughput / scale - lambda * p.n / denominator(sigma, kappa, p.n);
      s += r * r;
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

std::string percent(double fraction) { return fmt::format("{:.0f}%", 100.0 * fraction); }

// "3.7" or "12"; one decimal only where it carries information.
std::string short_number(double v) {
  return std::abs(v) >= 10 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
}

std::string count_noun(double n, const std::string& noun) {
  return fmt::format(
      "{:g} {}", n,
      n == 1 && !noun.empty() && noun.back() == 's' ? noun.substr(0, noun.size() - 1) : noun);
}

}  // namespace

double usl_throughput(const UslFit& f, double n) {
  const double d = denominator(f.sigma, f.kappa, n);
  return d > 0 ? f.lambda * n / d : 0;
}

Result<UslFit> fit_usl(const std::vector<UslPoint>& points) {
  std::vector<double> ns;
  double max_x = 0;
  for (const auto& p : points) {
    if (!std::isfinite(p.n) || p.n < 1) {
      return Error{fmt::format("USL fit: n must be a finite number >= 1, got {}", p.n)};
    }
    if (!std::isfinite(p.throughput) || p.throughput < 0) {
      return Error{fmt::format("USL fit: throughput at n = {} must be finite and >= 0", p.n)};
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

  UslFit fit;
  fit.sigma = best[0];
  fit.kappa = best[1];
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

ScalabilityVerdict judge_scalability(const std::vector<UslPoint>& points,
                                     const std::optional<UslFit>& fit, double min_efficiency,
                                     const std::string& noun) {
  ScalabilityVerdict v;
  if (points.empty()) {
    v.text = fmt::format("No capacity was measured, so scaling over {} cannot be judged.", noun);
    return v;
  }
  // The per-unit baseline: X(1), or the smallest n's throughput per unit.
  const auto base_it = std::min_element(
      points.begin(), points.end(), [](const UslPoint& a, const UslPoint& b) { return a.n < b.n; });
  const UslPoint base = *base_it;
  const double per_unit = base.n > 0 ? base.throughput / base.n : 0;
  for (const auto& p : points) {
    v.efficiency.push_back(per_unit > 0 && p.n > 0 ? p.throughput / (p.n * per_unit) : 0);
  }
  const size_t top = static_cast<size_t>(
      std::max_element(points.begin(), points.end(),
                       [](const UslPoint& a, const UslPoint& b) { return a.n < b.n; }) -
      points.begin());
  const UslPoint& last = points[top];
  const double eff = v.efficiency[top];
  v.passed = per_unit > 0 && eff >= min_efficiency;

  std::string text;
  if (per_unit <= 0) {
    text = fmt::format("The smallest step ({}) measured no throughput, so efficiency is undefined.",
                       count_noun(base.n, noun));
  } else if (points.size() == 1 || last.n == base.n) {
    text = fmt::format("Only {} measured: {:.0f} requests/s.", count_noun(base.n, noun),
                       base.throughput);
  } else {
    const double gain = last.throughput / per_unit;
    text = fmt::format("{} handle {}x the traffic of one ({} efficiency)", count_noun(last.n, noun),
                       short_number(gain), percent(eff));
    if (base.n != 1)
      text += fmt::format("; one is estimated as 1/{:g} of {}", base.n, count_noun(base.n, noun));
    text += ".";
  }
  if (fit) {
    const double n = last.n;
    const double contention = fit->sigma * (n - 1);
    const double crosstalk = fit->kappa * n * (n - 1);
    if (contention < 0.05 && crosstalk < 0.05) {
      text += fmt::format(
          " Scaling is near linear over the measured range (sigma = {:.3g}, kappa = {:.3g}).",
          fit->sigma, fit->kappa);
    } else if (contention >= crosstalk) {
      text += fmt::format(
          " Scaling is limited by contention (sigma = {:.3g}): part of the work is serialized "
          "on a shared resource.",
          fit->sigma);
    } else {
      text += fmt::format(
          " Scaling is limited by crosstalk (kappa = {:.3g}): coordination between {} grows "
          "with the square of their number.",
          fit->kappa, noun);
    }
    if (fit->peak_n) {
      if (*fit->peak_n <= n) {
        text += fmt::format(
            " Throughput is predicted to peak at {} ({:.0f} requests/s) and fall beyond it.",
            count_noun(std::round(*fit->peak_n * 10) / 10, noun), fit->peak_throughput);
      } else {
        text += fmt::format(" Predicted peak at {} ({:.0f} requests/s).",
                            count_noun(std::round(*fit->peak_n), noun), fit->peak_throughput);
      }
    } else {
      text += " No peak is predicted.";
    }
    text += fmt::format(" USL fit R^2 = {:.3f}.", fit->r2);
  }
  if (per_unit > 0 && last.n != base.n) {
    text += fmt::format(" {}: efficiency {} at {} {} the required {}.", v.passed ? "PASS" : "FAIL",
                        percent(eff), count_noun(last.n, noun), v.passed ? "meets" : "is below",
                        percent(min_efficiency));
  } else {
    text += fmt::format(" FAIL: efficiency needs at least two different numbers of {}.", noun);
    v.passed = false;
  }
  v.text = text;
  return v;
}

}  // namespace horde
