// `horde compare` for sweeps: capacity per N (Welch's t on the measuring phases' interval
// rates), efficiency per N and the USL's sigma and kappa (z tests from their 95% intervals), the
// peak shown; capacity searches matched in order. docs/compare.md has the formulas.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "controller/compare_detail.h"
#include "controller/compare_stats.h"

namespace horde::compare_detail {

using nlohmann::json;

namespace {

// A capacity measured by one phase on each side: Welch's t on those phases' interval rates.
void capacity_row(RunComparison* c, const std::string& scope, double base, double cand,
                  const PhaseData* pa, const PhaseData* pb, const CompareOptions& o) {
  MetricComparison m;
  m.scope = scope;
  m.metric = "capacity";
  m.unit = "rps";
  m.baseline = base;
  m.candidate = cand;
  m.change = relative(base, cand);
  m.tolerance = tol(o, "capacity");
  m.test = "welch t";
  if (pa && pb && pa->rps.size() >= 2 && pb->rps.size() >= 2) {
    const auto w = welch_t(pa->rps, pb->rps);
    m.statistic = w.t;
    m.p_value = w.p_value;
  }
  judge(&m, false, o.alpha);
  c->rows.push_back(m);
}

// The standard error behind a 95% interval [low, high] (its half width / 1.96); none without
// one. Capacity intervals are Student t ones: for the few intervals of a short step 1.96
// understates their width a little, so the z tests below are, if anything, cautious.
std::optional<double> se_of(const json& ci) {
  if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number() || !ci[1].is_number()) {
    return std::nullopt;
  }
  const double w = ci[1].get<double>() - ci[0].get<double>();
  if (!(w >= 0)) return std::nullopt;
  return w / (2 * 1.959964);
}

// A z test of b - a from each side's standard error; fills statistic and p-value.
void z_test(MetricComparison* m, std::optional<double> se_a, std::optional<double> se_b) {
  if (!se_a || !se_b) return;
  const double se = std::sqrt(*se_a * *se_a + *se_b * *se_b);
  if (se <= 0) return;
  m->test = "z (95% intervals)";
  m->statistic = (m->candidate - m->baseline) / se;
  m->p_value = 2 * normal_sf(std::abs(*m->statistic));
}

// A point's efficiency X(n) / (n X(1)) with its standard error by the delta method: the
// relative errors of the point's capacity and of the base point's add in quadrature.
std::optional<double> efficiency_se(const json& point, const json& base) {
  const double x = point.value("capacity_rps", 0.0), x1 = base.value("capacity_rps", 0.0);
  const auto s = se_of(point.value("capacity_ci", json()));
  const auto s1 = se_of(base.value("capacity_ci", json()));
  if (!s || !s1 || x <= 0 || x1 <= 0 || !point.value("efficiency", json()).is_number()) {
    return std::nullopt;
  }
  const double rel = std::hypot(*s / x, *s1 / x1);
  return point["efficiency"].get<double>() * rel;
}

// The point with the smallest n: the one efficiency is measured against.
const json* base_point(const json& sweep) {
  const json* best = nullptr;
  // Into the sweep itself, not into a copy (value() returns one): the pointer outlives the loop.
  if (!sweep.contains("points") || !sweep["points"].is_array()) return nullptr;
  for (const auto& p : sweep["points"]) {
    if (!best || p.value("n", int64_t{0}) < best->value("n", int64_t{0})) best = &p;
  }
  return best;
}

// A USL parameter (lower is better: more contention or crosstalk is less scalable), judged by a
// z test from its bootstrap interval, with a tolerance only when one is given.
void usl_row(RunComparison* c, const std::string& metric, const std::string& key, const json& a,
             const json& b, const json& ci_a, const json& ci_b, const CompareOptions& o) {
  if (!a.is_number() || !b.is_number()) return;
  MetricComparison m;
  m.scope = "sweep";
  m.metric = metric;
  m.baseline = a.get<double>();
  m.candidate = b.get<double>();
  m.change = relative(m.baseline, m.candidate);
  m.tolerance = tol(o, key);
  z_test(&m, se_of(ci_a), se_of(ci_b));
  judge(&m, true, o.alpha);
  c->rows.push_back(m);
}

const PhaseData* phase_at(const std::vector<PhaseData>& phases, const json& index) {
  if (!index.is_number_integer() || index.get<int64_t>() < 0) return nullptr;
  for (const auto& p : phases) {
    if (p.summary.value("index", int64_t{-1}) == index.get<int64_t>()) return &p;
  }
  return nullptr;
}

}  // namespace

void compare_sweeps(const RunData& ra, const RunData& rb, const std::vector<PhaseData>& pa,
                    const std::vector<PhaseData>& pb, const CompareOptions& o, RunComparison* c) {
  const json& sa = ra.summary.value("scalability", json());
  const json& sb = rb.summary.value("scalability", json());
  if (sa.is_object() != sb.is_object()) {
    c->notes.push_back(fmt::format("only the {} ran a sweep: the sweep is not compared",
                                   sa.is_object() ? "baseline" : "candidate"));
  } else if (sa.is_object()) {
    std::map<int64_t, json> bpoints;
    for (const auto& p : sb.value("points", json::array())) bpoints[p.value("n", int64_t{0})] = p;
    const json* base_a = base_point(sa);
    const json* base_b = base_point(sb);
    for (const auto& p : sa.value("points", json::array())) {
      const auto n = p.value("n", int64_t{0});
      auto it = bpoints.find(n);
      if (it == bpoints.end()) {
        c->notes.push_back(fmt::format("sweep n={}: only in the baseline", n));
        continue;
      }
      const std::string scope = fmt::format("sweep n={}", n);
      capacity_row(c, scope, p.value("capacity_rps", 0.0), it->second.value("capacity_rps", 0.0),
                   phase_at(pa, p.value("phase", json())),
                   phase_at(pb, it->second.value("phase", json())), o);
      if (base_a && base_b && n > base_a->value("n", int64_t{0}) &&
          base_a->value("n", int64_t{0}) == base_b->value("n", int64_t{0}) &&
          p.value("efficiency", json()).is_number() &&
          it->second.value("efficiency", json()).is_number()) {
        // Efficiency: less of the ideal N x X(1) is worse even when the capacity rose.
        MetricComparison m;
        m.scope = scope;
        m.metric = "efficiency";
        m.unit = "";
        m.baseline = p["efficiency"].get<double>();
        m.candidate = it->second["efficiency"].get<double>();
        m.change = relative(m.baseline, m.candidate);
        m.tolerance = tol(o, "efficiency");
        z_test(&m, efficiency_se(p, *base_a), efficiency_se(it->second, *base_b));
        judge(&m, false, o.alpha);
        c->rows.push_back(m);
      } else {
        shown(c, scope, "efficiency", p.value("efficiency", json()),
              it->second.value("efficiency", json()));
      }
      bpoints.erase(it);
    }
    for (const auto& [n, p] : bpoints) {
      c->notes.push_back(fmt::format("sweep n={}: only in the candidate", n));
    }
    const json& ua = sa.value("usl", json());
    const json& ub = sb.value("usl", json());
    if (ua.is_object() && ub.is_object()) {
      usl_row(c, "usl sigma", "usl_sigma", ua.value("sigma", json()), ub.value("sigma", json()),
              ua.value("sigma_ci", json()), ub.value("sigma_ci", json()), o);
      // kappa of the full USL on both sides (the chosen model may be Amdahl's, kappa = 0),
      // with its bootstrap interval.
      const json fa = ua.value("full", json::object()), fb = ub.value("full", json::object());
      usl_row(c, "usl kappa", "usl_kappa",
              fa.is_object() && fa.contains("kappa") ? fa["kappa"] : ua.value("kappa", json()),
              fb.is_object() && fb.contains("kappa") ? fb["kappa"] : ub.value("kappa", json()),
              ua.value("kappa_ci", json()), ub.value("kappa_ci", json()), o);
      shown(c, "sweep", "peak n", ua.value("peak_n", json()), ub.value("peak_n", json()));
      shown(c, "sweep", "peak", ua.value("peak_rps", json()), ub.value("peak_rps", json()), "rps");
    }
  }
  const json ca = ra.summary.value("capacity", json::array());
  const json cb = rb.summary.value("capacity", json::array());
  if (ca.is_array() && cb.is_array()) {
    if (ca.size() != cb.size()) {
      c->notes.push_back(
          fmt::format("capacity searches: {} in the baseline, {} in the candidate; "
                      "the first {} compared",
                      ca.size(), cb.size(), std::min(ca.size(), cb.size())));
    }
    for (size_t i = 0; i < std::min(ca.size(), cb.size()); ++i) {
      const std::string scope =
          ca[i]["instances"].is_number()
              ? fmt::format("capacity at {} instance(s)", ca[i]["instances"].get<int64_t>())
              : fmt::format("capacity search {}", i + 1);
      capacity_row(c, scope, ca[i].value("capacity_rps", 0.0), cb[i].value("capacity_rps", 0.0),
                   phase_at(pa, ca[i].value("phase", json())),
                   phase_at(pb, cb[i].value("phase", json())), o);
    }
  }
}

}  // namespace horde::compare_detail
