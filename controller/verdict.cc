#include "controller/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace horde {

namespace {

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

std::string rps(double v) { return fmt::format("{:.0f}", v); }

std::string interval_text(const Interval& i) {
  return fmt::format("95% interval {:.3g} .. {:.3g}", i.low, i.high);
}

std::string shape_sentence(const ScalingAnalysis& a, const std::string& noun) {
  const auto& s = a.by_n;
  const ShapeFinding& f = *a.shape;
  const CapacitySample &first = s.front(), &last = s.back();
  switch (f.shape) {
    case Shape::kLinear:
      return fmt::format(
          "Throughput grows linearly with {} within noise: {} requests/s at {}, {} at {}.", noun,
          rps(first.capacity), count_noun(first.n, noun), rps(last.capacity),
          count_noun(last.n, noun));
    case Shape::kSublinear:
      return fmt::format(
          "Throughput still grows with {}, but less than linearly: {} requests/s at {}, {} at {}.",
          noun, rps(first.capacity), count_noun(first.n, noun), rps(last.capacity),
          count_noun(last.n, noun));
    case Shape::kPlateau: {
      double level = 0;
      for (size_t i = f.plateau_from; i < s.size(); ++i) level += s[i].capacity;
      level /= static_cast<double>(s.size() - f.plateau_from);
      return fmt::format(
          "Throughput stops growing at about {} requests/s from {}: more {} add nothing beyond "
          "noise.",
          rps(level), count_noun(s[f.plateau_from].n, noun), noun);
    }
    case Shape::kRetrograde: {
      size_t low = f.peak;
      for (size_t i = f.peak; i < s.size(); ++i) {
        if (s[i].capacity < s[low].capacity) low = i;
      }
      if (low == f.peak) low = f.fallen;
      return fmt::format(
          "Throughput falls as {} are added: it peaks at {} requests/s at {} and is down to {} "
          "at {}, beyond noise.",
          noun, rps(s[f.peak].capacity), count_noun(s[f.peak].n, noun), rps(s[low].capacity),
          count_noun(s[low].n, noun));
    }
  }
  return "";
}

std::string model_sentences(const ScalingAnalysis& a, const std::string& noun) {
  const ModelChoice& c = *a.choice;
  const double n = a.by_n.back().n;
  const size_t steps = a.by_n.size();
  std::string text;
  const bool linear = a.shape && a.shape->shape == Shape::kLinear;
  const bool retrograde = a.shape && a.shape->shape == Shape::kRetrograde;
  if (linear) {
    const UslFit& f = c.chosen();
    return fmt::format(
        " Scaling is near linear over the measured range (sigma = {:.3g}, kappa = {:.3g}). No "
        "peak is predicted.",
        f.sigma, f.kappa);
  }
  if (a.crosstalk_supported()) {
    const UslFit& f = c.usl;
    if (f.kappa * n * (n - 1) >= f.sigma * (n - 1)) {
      text += fmt::format(
          " Scaling is limited by crosstalk (kappa = {:.3g}, {}): coordination between {} grows "
          "with the square of their number.",
          f.kappa, interval_text(c.kappa_ci), noun);
    } else {
      text += fmt::format(
          " Scaling is limited by contention (sigma = {:.3g}, {}) and by crosstalk (kappa = "
          "{:.3g}, {}).",
          f.sigma, interval_text(c.sigma_ci), f.kappa, interval_text(c.kappa_ci));
    }
    if (f.peak_n && *f.peak_n <= n) {
      text += fmt::format(
          " Throughput is predicted to peak at {} ({:.0f} requests/s) and fall beyond it.",
          count_noun(std::round(*f.peak_n * 10) / 10, noun), f.peak_throughput);
    } else if (f.peak_n) {
      text += fmt::format(" Predicted peak at {} ({:.0f} requests/s).",
                          count_noun(std::round(*f.peak_n), noun), f.peak_throughput);
    }
  } else {
    const UslFit& f = c.amdahl;
    if (f.sigma > 0) {
      text += fmt::format(
          " Scaling is limited by contention (sigma = {:.3g}{}): part of the work is serialized "
          "on a shared resource, which caps throughput near {:.0f} requests/s.",
          f.sigma, c.model == FitModel::kAmdahl ? ", " + interval_text(c.sigma_ci) : "",
          f.lambda / f.sigma);
    }
    if (retrograde) text += " Contention alone does not make throughput fall.";
    if (c.model == FitModel::kUsl || retrograde) {
      text += fmt::format(" Crosstalk is not established (kappa = {:.3g}, {}).", c.usl.kappa,
                          interval_text(c.kappa_ci));
    }
    text += " No peak is predicted.";
  }
  if (steps < 5) {
    text += fmt::format(
        " With {} steps the sweep cannot separate contention from crosstalk (a third parameter "
        "needs at least 5): add steps at larger N, and hold each step longer for tighter "
        "intervals.",
        steps);
  } else if (!a.crosstalk_supported() && !c.kappa_significant && c.usl_sigma_ci.low <= 0 &&
             c.usl.kappa > 0) {
    text +=
        " The intervals leave it open whether contention or crosstalk limits scaling: hold each "
        "step longer for tighter intervals, or add steps at larger N.";
  }
  text += fmt::format(" Fit: {}, R^2 = {:.3f}.",
                      c.model == FitModel::kUsl ? "USL" : "Amdahl (kappa = 0)", c.chosen().r2);
  return text;
}

}  // namespace

bool ScalingAnalysis::crosstalk_supported() const {
  return choice && choice->model == FitModel::kUsl && choice->kappa_significant && shape &&
         (shape->shape == Shape::kSublinear || shape->shape == Shape::kRetrograde);
}

std::optional<UslFit> ScalingAnalysis::shown_fit() const {
  if (!choice) return std::nullopt;
  UslFit f = choice->chosen();
  if (!crosstalk_supported()) {
    f.peak_n.reset();
    f.peak_throughput = 0;
  }
  return f;
}

ScalingAnalysis analyse_scaling(std::vector<CapacitySample> samples, uint32_t replicates,
                                uint64_t seed) {
  ScalingAnalysis a;
  a.samples = std::move(samples);
  a.by_n = a.samples;
  std::stable_sort(a.by_n.begin(), a.by_n.end(),
                   [](const CapacitySample& x, const CapacitySample& y) { return x.n < y.n; });
  a.shape = classify_shape(a.by_n);
  if (auto c = choose_model(a.by_n, replicates, seed); c.ok()) a.choice = *c;
  return a;
}

ScalabilityVerdict judge_scalability(const ScalingAnalysis& a, double min_efficiency,
                                     const std::string& noun) {
  ScalabilityVerdict v;
  const auto& points = a.samples;
  if (points.empty()) {
    v.text = fmt::format("No capacity was measured, so scaling over {} cannot be judged.", noun);
    return v;
  }
  const CapacitySample& base = a.by_n.front();
  const CapacitySample& last = a.by_n.back();
  const double per_unit = base.n > 0 ? base.capacity / base.n : 0;
  for (const auto& p : points) {
    v.efficiency.push_back(per_unit > 0 && p.n > 0 ? p.capacity / (p.n * per_unit) : 0);
  }
  const double eff = per_unit > 0 && last.n > 0 ? last.capacity / (last.n * per_unit) : 0;
  v.passed = per_unit > 0 && eff >= min_efficiency;

  std::string text;
  if (per_unit > 0 && a.shape) text = shape_sentence(a, noun) + " ";
  if (per_unit <= 0) {
    text +=
        fmt::format("The smallest step ({}) measured no throughput, so efficiency is undefined.",
                    count_noun(base.n, noun));
  } else if (points.size() == 1 || last.n == base.n) {
    text += fmt::format("Only {} measured: {:.0f} requests/s.", count_noun(base.n, noun),
                        base.capacity);
  } else {
    const double gain = last.capacity / per_unit;
    text += fmt::format("{} handle {}x the traffic of one ({} efficiency)",
                        count_noun(last.n, noun), short_number(gain), percent(eff));
    if (base.n != 1)
      text += fmt::format("; one is estimated as 1/{:g} of {}", base.n, count_noun(base.n, noun));
    text += ".";
  }
  if (a.choice && per_unit > 0) {
    text += model_sentences(a, noun);
  } else if (per_unit > 0 && last.n != base.n) {
    text += fmt::format(
        " With {} steps no model is fitted (that needs 3; separating contention from crosstalk "
        "needs 5).",
        a.by_n.size());
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
