#include "controller/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "controller/compare_detail.h"
#include "controller/compare_stats.h"
#include "controller/results.h"

namespace horde {

using nlohmann::json;
using namespace compare_detail;

namespace compare_detail {

double relative(double base, double cand) {
  if (base == 0) return cand == 0 ? 0 : std::numeric_limits<double>::infinity();
  return cand / base - 1;
}

// Sets worse / beyond / significant / regression / verdict from the filled-in figures.
void judge(MetricComparison* m, bool higher_is_worse, double alpha) {
  m->worse = higher_is_worse ? m->change > 0 : m->change < 0;
  if (m->tolerance) {
    m->beyond_tolerance = higher_is_worse ? m->change > *m->tolerance : m->change < -*m->tolerance;
  }
  m->significant = m->p_value && *m->p_value < alpha;
  m->regression = m->worse && m->beyond_tolerance && m->significant;
  if (!m->p_value) {
    m->verdict = "not tested";
  } else if (m->regression) {
    m->verdict = "REGRESSION";
  } else if (!m->significant) {
    m->verdict = m->change == 0 ? "same" : "not significant";
  } else if (m->worse) {
    m->verdict = m->tolerance ? "worse, within tolerance" : "worse, not judged";
  } else {
    m->verdict = "improved";
  }
}

std::optional<double> tol(const CompareOptions& o, const std::string& key) {
  auto it = o.tolerance.find(key);
  if (it == o.tolerance.end()) return std::nullopt;
  return it->second;
}

// A value shown but never judged (efficiency, USL parameters, the peak).
void shown(RunComparison* c, const std::string& scope, const std::string& metric, const json& a,
           const json& b, const std::string& unit) {
  if (!a.is_number() || !b.is_number()) return;
  MetricComparison m;
  m.scope = scope;
  m.metric = metric;
  m.unit = unit;
  m.baseline = a.get<double>();
  m.candidate = b.get<double>();
  m.change = relative(m.baseline, m.candidate);
  m.verdict = "shown, not judged";
  c->rows.push_back(m);
}

}  // namespace compare_detail

namespace {

std::vector<PhaseData> phases_of(const RunData& run) {
  std::vector<PhaseData> out;
  std::map<uint32_t, size_t> by_index;
  std::map<std::string, int> seen;
  if (run.summary.contains("phases") && run.summary["phases"].is_array()) {
    for (const auto& p : run.summary["phases"]) {
      PhaseData d;
      d.name = p.value("name", std::string("?"));
      // Two phases of one name are told apart by their order: "name", "name #2".
      if (const int k = ++seen[d.name]; k > 1) d.name += fmt::format(" #{}", k);
      d.summary = p;
      d.index = p.value("index", uint32_t(out.size()));
      by_index[d.index] = out.size();
      out.push_back(std::move(d));
    }
  }
  for (const auto& li : run.intervals) {
    auto it = by_index.find(li.row.phase);
    if (it == by_index.end() || li.row.warmup) continue;
    auto& d = out[it->second];
    d.latency.push_back(li.latency);
    d.merged.add(li.latency);
    d.time_s.push_back(li.row.time_s);
    d.rps.push_back(li.row.duration_s > 0
                        ? static_cast<double>(li.row.counters.requests) / li.row.duration_s
                        : 0);
  }
  return out;
}

double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace

namespace compare_detail {

void compare_measured(const PhaseData& a, const PhaseData& b, const std::string& scope,
                      uint64_t seed, const CompareOptions& o, RunComparison* c) {
  const auto row = [&](const std::string& metric, const std::string& unit, double base,
                       double cand) {
    MetricComparison m;
    m.scope = scope;
    m.metric = metric;
    m.unit = unit;
    m.baseline = base;
    m.candidate = cand;
    m.change = relative(base, cand);
    m.tolerance = tol(o, metric);
    return m;
  };
  // Throughput: Welch's t on the per-interval rates.
  {
    auto m = row("throughput", "rps", a.summary.value("throughput_rps", 0.0),
                 b.summary.value("throughput_rps", 0.0));
    const auto w = welch_t(a.rps, b.rps);
    m.test = "welch t";
    if (a.rps.size() >= 2 && b.rps.size() >= 2) {
      m.statistic = w.t;
      m.p_value = w.p_value;
    }
    judge(&m, false, o.alpha);
    c->rows.push_back(m);
  }
  // Error rate: two proportions over all measured requests.
  {
    const auto ea = a.summary.value("errors", uint64_t{0}),
               na = a.summary.value("requests", uint64_t{0});
    const auto eb = b.summary.value("errors", uint64_t{0}),
               nb = b.summary.value("requests", uint64_t{0});
    const auto t = two_proportion(ea, na, eb, nb);
    auto m = row("error_rate", "%", 100 * t.rate_a, 100 * t.rate_b);
    m.change = t.rate_b - t.rate_a;
    m.test = "two-proportion z";
    if (na > 0 && nb > 0) {
      m.statistic = t.z;
      m.p_value = t.p_value;
    }
    judge(&m, true, o.alpha);
    c->rows.push_back(m);
  }
  // Latency: the bootstrap over intervals for mean and percentiles.
  const std::vector<std::pair<std::string, double>> stats = {
      {"mean", -1}, {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}};
  std::vector<double> which;
  for (const auto& s : stats) which.push_back(s.second);
  const auto boot = bootstrap_latency(a.latency, b.latency, which, {o.alpha, o.resamples, seed});
  const bool testable =
      a.latency.size() >= 2 && b.latency.size() >= 2 && !a.merged.empty() && !b.merged.empty();
  for (size_t j = 0; j < stats.size(); ++j) {
    const auto value = [&](const Histogram& h) {
      return stats[j].second < 0 ? h.mean() / 1000.0 : ms(h.value_at_percentile(stats[j].second));
    };
    auto m = row(stats[j].first, "ms", value(a.merged), value(b.merged));
    m.test = "bootstrap";
    if (testable) {
      m.statistic = boot[j].ratio;
      m.p_value = boot[j].p_value;
      m.ci_low = boot[j].ci_low;
      m.ci_high = boot[j].ci_high;
    }
    judge(&m, true, o.alpha);
    c->rows.push_back(m);
  }
  {
    auto m = row("max", "ms", ms(a.merged.max()), ms(b.merged.max()));
    m.tolerance.reset();
    judge(&m, true, o.alpha);
    m.verdict = "shown, not judged";
    c->rows.push_back(m);
  }
  // The whole distribution: Mann-Whitney U on the merged histograms.
  {
    const auto u = mann_whitney(a.merged, b.merged);
    auto m = row("distribution", "%", 50, 100 * u.effect);
    m.change = u.effect - 0.5;
    m.test = "mann-whitney u";
    if (!a.merged.empty() && !b.merged.empty()) {
      m.statistic = u.z;
      m.p_value = u.p_value;
    }
    judge(&m, true, o.alpha);
    c->rows.push_back(m);
  }
}

}  // namespace compare_detail

namespace {

void compare_phase(const PhaseData& a, const PhaseData& b, const CompareOptions& o,
                   RunComparison* c) {
  compare_measured(a, b, "phase " + a.name, o.seed + c->matched_phases, o, c);
  PhaseSeries s;
  s.name = a.name;
  s.percentiles = {0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100};
  for (double p : s.percentiles) {
    s.spectrum_a.push_back(ms(p == 0 ? a.merged.min() : a.merged.value_at_percentile(p)));
    s.spectrum_b.push_back(ms(p == 0 ? b.merged.min() : b.merged.value_at_percentile(p)));
  }
  s.time_a = a.time_s;
  s.rps_a = a.rps;
  s.time_b = b.time_s;
  s.rps_b = b.rps;
  c->series.push_back(std::move(s));
  ++c->matched_phases;
}

// Each backend's requests per measured interval of phase `index` (0 where it answered none
// in an interval some backend answered in).
std::map<std::string, std::vector<double>> backend_rates(const std::vector<BackendCsvRow>& rows,
                                                         int64_t index) {
  std::map<uint32_t, std::map<std::string, double>> by_interval;
  std::map<std::string, std::vector<double>> out;
  for (const auto& r : rows) {
    if (static_cast<int64_t>(r.phase) != index || r.warmup) continue;
    by_interval[r.interval][r.backend] += r.rps;
    out[r.backend];
  }
  for (auto& [id, rates] : out) {
    for (const auto& [interval, rps] : by_interval) {
      const auto it = rps.find(id);
      rates.push_back(it == rps.end() ? 0.0 : it->second);
    }
  }
  return out;
}

// Per backend of two matched phases: throughput (Welch's t on its per-interval rates from
// backends.csv), error rate (two proportions) judged; p50 and p99 shown (summary.json keeps
// no per-backend histograms to test them on). Nothing when each phase had a single backend:
// the phase's own rows say it all.
void compare_backends(const PhaseData& a, const PhaseData& b, const RunData& ra, const RunData& rb,
                      const CompareOptions& o, RunComparison* c) {
  const json ba = a.summary.value("backends", json::array());
  const json bb = b.summary.value("backends", json::array());
  if (!ba.is_array() || !bb.is_array() || ba.empty() || bb.empty()) return;
  // One backend a side (the same, or one target on another port) is the phase itself.
  if (ba.size() == 1 && bb.size() == 1) return;
  std::map<std::string, const json*> in_b;
  for (const auto& x : bb) in_b[x.value("id", std::string())] = &x;
  const auto rates_a = backend_rates(ra.backends, a.summary.value("index", int64_t{-1}));
  const auto rates_b = backend_rates(rb.backends, b.summary.value("index", int64_t{-1}));
  const auto rates = [](const std::map<std::string, std::vector<double>>& m,
                        const std::string& id) {
    const auto it = m.find(id);
    return it == m.end() ? std::vector<double>() : it->second;
  };
  for (const auto& x : ba) {
    const std::string id = x.value("id", std::string());
    const auto it = in_b.find(id);
    if (it == in_b.end()) {
      c->notes.push_back("phase " + a.name + " backend " + id + ": only in the baseline");
      continue;
    }
    const json& y = *it->second;
    const std::string scope = "phase " + a.name + " backend " + id;
    {
      MetricComparison m;
      m.scope = scope;
      m.metric = "throughput";
      m.unit = "rps";
      m.baseline = x.value("throughput_rps", 0.0);
      m.candidate = y.value("throughput_rps", 0.0);
      m.change = relative(m.baseline, m.candidate);
      m.tolerance = tol(o, "throughput");
      const auto va = rates(rates_a, id), vb = rates(rates_b, id);
      if (va.size() >= 2 && vb.size() >= 2) {
        const auto w = welch_t(va, vb);
        m.test = "welch t";
        m.statistic = w.t;
        m.p_value = w.p_value;
      }
      judge(&m, false, o.alpha);
      c->rows.push_back(m);
    }
    {
      const auto ea = x.value("errors", uint64_t{0}), na = x.value("requests", uint64_t{0});
      const auto eb = y.value("errors", uint64_t{0}), nb = y.value("requests", uint64_t{0});
      const auto t = two_proportion(ea, na, eb, nb);
      MetricComparison m;
      m.scope = scope;
      m.metric = "error_rate";
      m.unit = "%";
      m.baseline = 100 * t.rate_a;
      m.candidate = 100 * t.rate_b;
      m.change = t.rate_b - t.rate_a;
      m.tolerance = tol(o, "error_rate");
      m.test = "two-proportion z";
      if (na > 0 && nb > 0) {
        m.statistic = t.z;
        m.p_value = t.p_value;
      }
      judge(&m, true, o.alpha);
      c->rows.push_back(m);
    }
    const json la = x.value("latency_ms", json::object()),
               lb = y.value("latency_ms", json::object());
    for (const char* q : {"p50", "p99"}) {
      shown(c, scope, q, la.value(q, json()), lb.value(q, json()), "ms");
    }
    in_b.erase(it);
  }
  for (const auto& [id, y] : in_b) {
    c->notes.push_back("phase " + a.name + " backend " + id + ": only in the candidate");
  }
}

void flatten(const json& j, const std::string& path, std::map<std::string, std::string>* out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) {
      std::string sub = path;
      if (!sub.empty()) sub += '.';
      sub += k;
      flatten(v, sub, out);
    }
  } else {
    (*out)[path] = j.dump();
  }
}

std::vector<std::string> workload_differences(const json& a, const json& b) {
  std::map<std::string, std::string> fa, fb;
  flatten(a, "", &fa);
  flatten(b, "", &fb);
  // The built-in target listens on a new port every run: its URL is no difference.
  const bool builtin = a.contains("builtin_target") && b.contains("builtin_target");
  std::vector<std::string> out;
  const auto skip = [&](const std::string& k) {
    return k.rfind("baseline", 0) == 0 || (builtin && k == "targets");
  };
  for (const auto& [k, v] : fa) {
    if (skip(k)) continue;
    auto it = fb.find(k);
    if (it == fb.end()) {
      out.push_back(fmt::format("{}: {} -> (absent)", k, v));
    } else if (it->second != v) {
      out.push_back(fmt::format("{}: {} -> {}", k, v, it->second));
    }
  }
  for (const auto& [k, v] : fb) {
    if (!skip(k) && !fa.count(k)) out.push_back(fmt::format("{}: (absent) -> {}", k, v));
  }
  return out;
}

}  // namespace

Result<RunData> load_run(const std::string& dir, bool allow_incomplete) {
  namespace fs = std::filesystem;
  RunData r;
  r.dir = dir;
  const auto log = (fs::path(dir) / "intervals.jsonl").string();
  if (!fs::is_directory(dir)) return Error{dir + ": no such results directory"};
  if (!fs::exists(log)) {
    return Error{dir + ": no intervals.jsonl; is this a horde results directory?"};
  }
  std::string run_id;
  auto intervals = read_interval_log(log, &run_id);
  if (!intervals) return intervals.error();
  r.intervals = std::move(*intervals);
  r.backends = read_backends_csv((fs::path(dir) / "backends.csv").string());
  const auto summary = fs::path(dir) / "summary.json";
  std::ifstream f(summary);
  std::stringstream text;
  text << f.rdbuf();
  r.summary = f ? json::parse(text.str(), nullptr, false) : json(json::value_t::discarded);
  if (r.summary.is_discarded() || !r.summary.is_object()) {
    if (!allow_incomplete) {
      return Error{dir +
                   ": summary.json is missing or unreadable (the run did not finish); compare "
                   "refuses a partial run unless --allow-incomplete"};
    }
    r.summary = summary_json(rebuild_from_intervals(r.intervals, run_id));
    return r;
  }
  if (!allow_incomplete &&
      (r.summary.value("aborted", false) || r.summary.value("incomplete", false))) {
    return Error{dir + ": the run is incomplete (" +
                 r.summary.value("abort_reason", std::string()) +
                 "); compare refuses a partial run unless --allow-incomplete"};
  }
  return r;
}

RunComparison compare_runs(const RunData& baseline, const RunData& candidate,
                           const CompareOptions& options) {
  RunComparison c;
  c.options = options;
  c.baseline_dir = baseline.dir;
  c.candidate_dir = candidate.dir;
  c.baseline_run = baseline.summary.value("run_id", std::string());
  c.candidate_run = candidate.summary.value("run_id", std::string());
  c.workload_differences =
      workload_differences(baseline.summary.value("workload", json::object()),
                           candidate.summary.value("workload", json::object()));
  const auto pa = phases_of(baseline), pb = phases_of(candidate);
  for (const auto& a : pa) {
    const PhaseData* match = nullptr;
    for (const auto& b : pb) {
      if (b.name == a.name) match = &b;
    }
    if (!match) {
      c.notes.push_back("phase " + a.name + ": only in the baseline, not compared");
      continue;
    }
    compare_phase(a, *match, options, &c);
    compare_backends(a, *match, baseline, candidate, options, &c);
    compare_names(a, *match, baseline, candidate, options, &c);
  }
  for (const auto& b : pb) {
    bool found = false;
    for (const auto& a : pa) found = found || a.name == b.name;
    if (!found) c.notes.push_back("phase " + b.name + ": only in the candidate, not compared");
  }
  compare_sweeps(baseline, candidate, pa, pb, options, &c);
  return c;
}

Result<RunComparison> compare_dirs(const std::string& baseline_dir,
                                   const std::string& candidate_dir,
                                   const CompareOptions& options) {
  auto a = load_run(baseline_dir, options.allow_incomplete);
  if (!a) return Error{"baseline: " + a.error().message};
  auto b = load_run(candidate_dir, options.allow_incomplete);
  if (!b) return Error{"candidate: " + b.error().message};
  return compare_runs(*a, *b, options);
}

int RunComparison::exit_code() const {
  if (matched_phases == 0) return 2;
  for (const auto& r : rows) {
    if (r.regression) return 1;
  }
  return 0;
}

std::string format_p(double p) {
  if (p < 0.001) return "p < 0.001";
  return fmt::format("p = {:.3f}", p);
}

std::vector<std::string> RunComparison::regression_lines() const {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    if (!r.regression) continue;
    const bool points = tolerance_in_points(r.metric);
    const std::string change =
        points ? fmt::format("{:+.3g} points", 100 * r.change)
               : (std::isinf(r.change) ? std::string("from 0")
                                       : fmt::format("{:+.0f}%", 100 * r.change));
    const std::string unit = r.unit.empty() || r.unit == "%" ? r.unit : " " + r.unit;
    out.push_back(fmt::format("{} of {}: {:.4g}{} -> {:.4g}{} ({}, {}, tolerance {})", r.metric,
                              r.scope, r.baseline, unit, r.candidate, unit, change,
                              format_p(*r.p_value),
                              points ? fmt::format("{:g} points", 100 * *r.tolerance)
                                     : format_tolerance(r.metric, *r.tolerance)));
  }
  return out;
}

}  // namespace horde
