#include "controller/results.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/file.h"
#include "common/text.h"
#include "controller/backend_results.h"
#include "controller/name_results.h"
#include "controller/observed.h"
#include "controller/reachability.h"
#include "controller/result_figures.h"

namespace horde {

namespace {

// Standard deviation in µs, HdrHistogram's way: every sample at the middle of
// its bucket, around the same mean Histogram::mean() gives.
double stdev_us(const Histogram& h) {
  if (h.total_count() < 2) return 0;
  const double mean = h.mean();
  long double sum = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    const uint64_t n = h.count_at(i);
    if (n == 0) continue;
    const int64_t lo = Histogram::lowest_equivalent(i);
    const int64_t width = Histogram::highest_equivalent(i) - lo + 1;
    const int64_t mid = lo + width / 2;  // the bucket's middle, in whole us
    const long double d = static_cast<long double>(mid) - mean;
    sum += d * d * static_cast<long double>(n);
  }
  return std::sqrt(static_cast<double>(sum / static_cast<long double>(h.total_count())));
}

}  // namespace

nlohmann::json latency_json(const Histogram& h) {
  return {{"mean", r3(h.mean() / 1000.0)},
          {"stdev", r3(stdev_us(h) / 1000.0)},
          {"p50", ms(h.value_at_percentile(50))},
          {"p75", ms(h.value_at_percentile(75))},
          {"p90", ms(h.value_at_percentile(90))},
          {"p99", ms(h.value_at_percentile(99))},
          {"p999", ms(h.value_at_percentile(99.9))},
          {"p9999", ms(h.value_at_percentile(99.99))},
          {"max", ms(h.max())}};
}

namespace {

double per_s(uint64_t n, double duration_s) {
  return duration_s > 0 ? static_cast<double>(n) / duration_s : 0.0;
}

// 1.23 MB/s, 456.0 kB/s, 12 B/s (decimal units, as wrk).
std::string bytes_text(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

// What a wrk user looks for under the table: stdev, the latency distribution
// (--latency style) and the transfer per second, of the totals.
std::string distribution_lines(const PhaseResult& t) {
  if (t.latency.empty()) return "";
  const auto at = [&](double p) { return ms(t.latency.value_at_percentile(p)); };
  std::string out =
      fmt::format("latency: mean {:.3f} ms  stdev {:.3f} ms  max {:.3f} ms\n",
                  t.latency.mean() / 1000.0, stdev_us(t.latency) / 1000.0, ms(t.latency.max()));
  out += fmt::format(
      "latency distribution: 50% {:.3f} ms  75% {:.3f} ms  90% {:.3f} ms  99% {:.3f} ms  99.9% "
      "{:.3f} ms  99.99% {:.3f} ms\n",
      at(50), at(75), at(90), at(99), at(99.9), at(99.99));
  if (t.duration_s > 0) {
    out += fmt::format("transfer/s: {}/s read, {}/s written ({} read, {} written)\n",
                       bytes_text(per_s(t.counters.bytes_received, t.duration_s)),
                       bytes_text(per_s(t.counters.bytes_sent, t.duration_s)),
                       bytes_text(static_cast<double>(t.counters.bytes_received)),
                       bytes_text(static_cast<double>(t.counters.bytes_sent)));
  }
  return out;
}

// The latency percentile spectrum (HdrHistogram-style: ever finer toward the tail).
nlohmann::json spectrum_json(const Histogram& h) {
  nlohmann::json out = nlohmann::json::array();
  if (h.empty()) return out;
  for (double p : {0.0,  10.0, 20.0, 30.0, 40.0, 50.0,  60.0, 70.0,  75.0,  80.0,   85.0,
                   90.0, 95.0, 97.5, 99.0, 99.5, 99.75, 99.9, 99.95, 99.99, 99.999, 100.0}) {
    out.push_back({{"percentile", p}, {"ms", ms(p == 0 ? h.min() : h.value_at_percentile(p))}});
  }
  return out;
}

}  // namespace

nlohmann::json RebalanceRecord::to_json() const {
  nlohmann::json out = {{"at_s", at_s}, {"lost_agent", lost_agent}, {"survivors", survivors}};
  if (rate_factor) out["rate_factor"] = *rate_factor;
  if (connections) out["connections"] = *connections;
  return out;
}

PhaseResult totals(const std::vector<PhaseResult>& phases) {
  PhaseResult t;
  t.name = "totals";
  double offered = 0;
  bool all_open = !phases.empty();
  for (const auto& p : phases) {
    t.counters.add(p.counters);
    t.latency.add(p.latency);
    t.backends.add(p.backends);
    add_names(t.names, p.names);
    t.duration_s += p.duration_s;
    t.discarded_reports += p.discarded_reports;
    t.rejected_reports += p.rejected_reports;
    if (p.offered_rps) {
      offered += *p.offered_rps * p.duration_s;
    } else {
      all_open = false;
    }
  }
  if (all_open && t.duration_s > 0) t.offered_rps = offered / t.duration_s;
  return t;
}

double observed_value(const PhaseResult& r, Metric m) {
  switch (m) {
    case Metric::kP50:
      return ms(r.latency.value_at_percentile(50));
    case Metric::kP90:
      return ms(r.latency.value_at_percentile(90));
    case Metric::kP99:
      return ms(r.latency.value_at_percentile(99));
    case Metric::kP999:
      return ms(r.latency.value_at_percentile(99.9));
    case Metric::kMax:
      return ms(r.latency.max());
    case Metric::kMean:
      return r.latency.mean() / 1000.0;
    case Metric::kErrorRate:
      return error_rate(r.counters);
    case Metric::kThroughput:
      return throughput(r.counters, r.duration_s);
  }
  return 0;
}

std::vector<ThresholdOutcome> evaluate(const std::vector<Threshold>& ts, const PhaseResult& all,
                                       bool aborted, const std::vector<std::string>& names) {
  std::vector<ThresholdOutcome> out;
  for (const auto& t : ts) {
    ThresholdOutcome o{t, 0, false, ""};
    PhaseResult part;
    if (!t.name.empty()) {
      const auto it = std::find(names.begin(), names.end(), t.name);
      if (it != names.end()) part = name_part(all, static_cast<uint32_t>(it - names.begin()));
    }
    const PhaseResult& r = t.name.empty() ? all : part;
    if (aborted) {
      o.not_judged = "the run was aborted";
    } else if (r.counters.requests == 0) {
      o.not_judged = "no request was measured";
    } else if (is_latency(t.metric) && r.latency.empty()) {
      o.not_judged = "no latency was measured";
    } else {
      o.observed = observed_value(r, t.metric);
      o.passed = threshold_holds(t, o.observed);
    }
    out.push_back(std::move(o));
  }
  return out;
}

int exit_code(const RunResult& r) {
  if (r.aborted) return 3;
  for (const auto& t : r.thresholds) {
    if (!t.passed) return 1;
  }
  return r.scalability_passed ? 0 : 1;
}

std::string thresholds_line(const RunResult& r) {
  if (r.aborted) return "";
  size_t failed = 0, not_judged = 0;
  std::string why;  // the first reason: a run that measured nothing gives all the same one
  for (const auto& t : r.thresholds) {
    failed += t.failed() ? 1 : 0;
    not_judged += t.judged() ? 0 : 1;
    if (why.empty()) why = t.not_judged;
  }
  const size_t n = r.thresholds.size();
  std::string out;
  if (failed > 0) out = fmt::format("{} of {} threshold{} failed", failed, n, n == 1 ? "" : "s");
  if (not_judged > 0) {
    out += fmt::format("{}{} of {} threshold{} not judged: {}", out.empty() ? "" : "; ", not_judged,
                       n, n == 1 ? "" : "s", why);
  }
  return out.empty() ? "" : out + "\n";
}

nlohmann::json phase_json(const PhaseResult& p, const std::vector<std::string>& names) {
  nlohmann::json status = nlohmann::json::object();
  for (const auto& [code, n] : p.counters.status_codes) status[std::to_string(code)] = n;
  nlohmann::json errors = nlohmann::json::object();
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    errors[error_class_name(static_cast<ErrorClass>(i))] = p.counters.errors_by_class[i];
  }
  nlohmann::json out = {
      {"name", p.name},
      {"requests", p.counters.requests},
      {"errors", p.counters.errors},
      {"error_rate", error_rate(p.counters)},
      {"duration_s", r3(p.duration_s)},
      {"throughput_rps", r3(throughput(p.counters, p.duration_s))},
      {"offered_rps", p.offered_rps ? nlohmann::json(r3(*p.offered_rps)) : nlohmann::json()},
      // Over the measured duration: with stages, the integral of the profile.
      {"offered_requests", p.offered_rps ? nlohmann::json(std::round(*p.offered_rps * p.duration_s))
                                         : nlohmann::json()},
      {"latency_ms", latency_json(p.latency)},
      {"latency_spectrum", spectrum_json(p.latency)},
      {"status_codes", status},
      {"errors_by_class", errors},
      {"bytes_sent", p.counters.bytes_sent},
      {"bytes_received", p.counters.bytes_received},
      {"bytes_sent_per_s", r3(per_s(p.counters.bytes_sent, p.duration_s))},
      {"bytes_received_per_s", r3(per_s(p.counters.bytes_received, p.duration_s))},
      {"late", p.counters.late},
      {"max_connections_hit", p.counters.max_connections_hit},
      {"connections_opened", p.counters.connections_opened},
      {"connections_peak", p.counters.connections_peak},
      {"reconnects", p.counters.reconnects},
      {"skipped", p.counters.skipped},
      {"data_exhausted", p.counters.data_exhausted},
      {"max_schedule_lag_ms", ms(p.counters.max_schedule_lag_us)},
      {"agent_cpu_seconds", r3(p.counters.cpu_seconds)},
      {"discarded_reports", p.discarded_reports},
      {"rejected_reports", p.rejected_reports},
      {"backends", backends_json(p)},
      {"spread", spread_json(p)},
  };
  if (!p.rebalances.empty()) {
    nlohmann::json rebalances = nlohmann::json::array();
    for (const auto& r : p.rebalances) rebalances.push_back(r.to_json());
    out["rebalances"] = rebalances;
  }
  if (!names.empty()) out["requests_by_name"] = requests_by_name_json(p, names);
  if (!p.counters.grpc_status.empty()) {
    nlohmann::json grpc = nlohmann::json::object();
    for (const auto& [code, n] : p.counters.grpc_status) grpc[grpc_status_name(code)] = n;
    out["grpc_status"] = grpc;
  }
  return out;
}

nlohmann::json summary_json(const RunResult& r) {
  nlohmann::json phases = nlohmann::json::array();
  std::vector<const PhaseResult*> all;
  const std::vector<std::string> names = request_names_of(r.workload);
  for (const auto& p : r.phases) {
    auto j = phase_json(p, names);
    j["index"] = p.index;
    if (!r.observe.empty()) j["observed"] = observed_json(observed_stats(r.observe, {&p}));
    phases.push_back(std::move(j));
    all.push_back(&p);
  }
  nlohmann::json total = phase_json(totals(r.phases), names);
  if (!r.observe.empty()) total["observed"] = observed_json(observed_stats(r.observe, all));
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : r.agents) {
    agents.push_back({{"name", a.name},
                      {"host", a.host},
                      {"cores", a.cores},
                      {"threads", a.threads},
                      {"requests", a.requests},
                      {"errors", a.errors},
                      {"lost", a.lost},
                      {"lost_reason", a.lost_reason},
                      {"last_interval", a.last_interval},
                      {"connections_opened", a.connections_opened},
                      {"connections_peak", a.connections_peak},
                      {"reconnects", a.reconnects}});
  }
  nlohmann::json thresholds = nlohmann::json::array();
  for (const auto& t : r.thresholds) {
    const bool judged = t.judged();
    thresholds.push_back(
        {{"threshold", t.threshold.text},
         {"observed", judged ? nlohmann::json(t.observed) : nlohmann::json()},
         {"unit", t.threshold.unit},
         {"observed_in_unit",
          judged ? nlohmann::json(in_threshold_unit(t.threshold, t.observed)) : nlohmann::json()},
         {"passed", t.passed},
         {"result", !judged    ? "not judged"
                    : t.passed ? "pass"
                               : "fail"},
         {"not_judged", t.not_judged}});
  }
  return {{"schema", 1},
          {"run_id", r.run_id},
          {"workload", r.workload},
          {"phases", phases},
          {"totals", total},
          {"agents", agents},
          {"thresholds", thresholds},
          {"warnings", r.warnings},
          {"aborted", r.aborted},
          {"abort_reason", r.abort_reason},
          {"incomplete", r.incomplete},
          {"scalability", r.scalability ? r.scalability->to_json() : nlohmann::json()},
          {"capacity", to_json(r.capacity)},
          {"exit_code", exit_code(r)}};
}

std::string intervals_csv(const RunResult& r) {
  std::string out = "phase,interval,time_s,warmup,agents,requests,errors,rps,p50_ms,p99_ms,max_ms";
  for (const auto& o : r.observe) out += "," + o.name;  // names are [a-z0-9_]: no quoting
  out += "\n";
  for (const auto& p : r.phases) {
    for (const auto& row : p.intervals) {
      out += fmt::format(
          "{},{},{:.3f},{},{},{},{},{:.1f},{:.3f},{:.3f},{:.3f}", row.phase, row.interval,
          row.time_s, row.warmup ? 1 : 0, row.agents, row.counters.requests, row.counters.errors,
          throughput(row.counters, row.duration_s), ms(row.p50_us), ms(row.p99_us), ms(row.max_us));
      for (size_t j = 0; j < r.observe.size(); ++j) {
        const bool have = j < row.observed.size() && row.observed[j];
        out += have ? fmt::format(",{}", *row.observed[j]) : std::string(",");
      }
      out += "\n";
    }
  }
  return out;
}

Result<bool> write_results(const RunResult& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{fmt::format("{}: cannot create results directory: {}", dir, ec.message())};
  bool replaced = false;
  const std::string summary = text::dump_json(summary_json(r), 2, &replaced) + "\n";
  if (replaced) {
    spdlog::warn(
        "summary.json: text that was not valid UTF-8 was written with U+FFFD in its place");
  }
  const auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  if (auto ok = write_file_atomic(path("summary.json"), summary); !ok) return ok;
  if (auto ok = write_file_atomic(path("backends.csv"), backends_csv(r)); !ok) return ok;
  return write_file_atomic(path("intervals.csv"), intervals_csv(r));
}

std::string summary_table(const RunResult& r) {
  std::string out;
  auto row = [&](const PhaseResult& p) {
    out += fmt::format(
        "{:<10} {:>10} {:>8} {:>7.2f}% {:>11.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n",
        p.name, p.counters.requests, p.counters.errors, 100.0 * error_rate(p.counters),
        throughput(p.counters, p.duration_s), r3(p.latency.mean() / 1000.0),
        ms(p.latency.value_at_percentile(50)), ms(p.latency.value_at_percentile(90)),
        ms(p.latency.value_at_percentile(99)), ms(p.latency.max()));
  };
  out += fmt::format("{:<10} {:>10} {:>8} {:>8} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "phase",
                     "requests", "errors", "err%", "rps", "mean ms", "p50 ms", "p90 ms", "p99 ms",
                     "max ms");
  for (const auto& p : r.phases) row(p);
  if (r.phases.size() > 1) row(totals(r.phases));
  const auto t = totals(r.phases);
  out += distribution_lines(t);
  if (t.counters.errors > 0) {
    out += "errors:";
    for (size_t i = 0; i < kErrorClassCount; ++i) {
      if (t.counters.errors_by_class[i]) {
        out += fmt::format(" {}={}", error_class_name(static_cast<ErrorClass>(i)),
                           t.counters.errors_by_class[i]);
      }
    }
    out += "\n";
  }
  out += "status:";
  for (const auto& [code, n] : t.counters.status_codes) out += fmt::format(" {}={}", code, n);
  out += "\n";
  if (!t.counters.grpc_status.empty()) {
    out += "grpc status:";
    for (const auto& [code, n] : t.counters.grpc_status) {
      out += fmt::format(" {}={}", grpc_status_name(code), n);
    }
    out += "\n";
  }
  out += name_table(r);
  out += backend_table(r);
  for (const auto& a : r.agents) {
    out += fmt::format("agent {:<16} {:<16} cores {:>3}  requests {:>10}  errors {:>6}{}\n", a.name,
                       a.host, a.cores, a.requests, a.errors,
                       a.lost ? "  LOST: " + a.lost_reason : "");
  }
  for (const auto& th : r.thresholds) {
    if (!th.judged()) {
      out += fmt::format("threshold {:<24} observed {:>12}  NOT JUDGED: {}\n", th.threshold.text,
                         "-", th.not_judged);
      continue;
    }
    out += fmt::format("threshold {:<24} observed {:>12}  {}\n", th.threshold.text,
                       format_observed(th.threshold, th.observed), th.passed ? "PASS" : "FAIL");
  }
  for (const auto& w : r.warnings) out += "warning: " + w + "\n";
  return out;
}

std::string closing_lines(const RunResult& r) {
  if (r.aborted) return "run aborted: " + r.abort_reason + "\n";
  std::string out = failed_share_line(totals(r.phases).counters);
  if (!r.scalability_passed) out += "the scalability verdict failed (see verdict: above)\n";
  return out + thresholds_line(r);
}

std::string scalability_table(const nlohmann::json& s) {
  if (s.is_null()) return "";
  std::string out = fmt::format("{:>6} {:>14} {:>21} {:>11} {:>10}\n", s.value("kind", "n"),
                                "capacity rps", "95% interval", "efficiency", "p99 ms");
  const auto pair = [](const nlohmann::json& v, bool rps = true) {
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      return std::string("-");
    return rps ? fmt::format("{:.1f} .. {:.1f}", v[0].get<double>(), v[1].get<double>())
               : fmt::format("{:.3g} .. {:.3g}", v[0].get<double>(), v[1].get<double>());
  };
  for (const auto& p : s["points"]) {
    out +=
        fmt::format("{:>6} {:>14.1f} {:>21} {:>10.1f}% {:>10.3f}\n", p["n"].get<uint32_t>(),
                    p["capacity_rps"].get<double>(), pair(p.value("capacity_ci", nlohmann::json())),
                    100 * p["efficiency"].get<double>(), p["p99_ms"].get<double>());
  }
  if (s.contains("shape") && s["shape"].is_string()) {
    out += fmt::format("shape: {}\n", s["shape"].get<std::string>());
  }
  if (!s["usl"].is_null()) {
    const auto& u = s["usl"];
    out += fmt::format("{} fit: sigma {:.4f}  kappa {:.6f}  lambda {:.1f} rps  R^2 {:.3f}\n",
                       u.value("model", "usl") == "amdahl" ? "Amdahl" : "USL",
                       u["sigma"].get<double>(), u["kappa"].get<double>(),
                       u["lambda"].get<double>(), u["r2"].get<double>());
    if (u.contains("sigma_ci")) {
      out += fmt::format("  95% intervals (bootstrap): sigma {}  kappa {} (full USL)\n",
                         pair(u["sigma_ci"], false), pair(u["kappa_ci"], false));
    }
  }
  out += fmt::format("verdict: {} [{}]\n", s["verdict"].get<std::string>(),
                     s["passed"].get<bool>() ? "PASS" : "FAIL");
  return out;
}

std::string capacity_lines(const nlohmann::json& capacity) {
  std::string out;
  for (const auto& c : capacity) {
    const std::string where = c["instances"].is_null()
                                  ? ""
                                  : fmt::format(" at {} instance(s)", c["instances"].get<int>());
    const auto rate = [](const nlohmann::json& v) {
      return v.is_null() ? std::string("none") : fmt::format("{:.0f} rps", v.get<double>());
    };
    if (c.value("target_unreachable", false)) {
      out += fmt::format(
          "capacity{}: unknown - the target answered no request at {} (every one failed): it is "
          "down or unreachable, not at its capacity; {} step(s)\n",
          where, rate(c["unanswered_rate"]), c["steps"].get<int>());
      continue;
    }
    out += fmt::format(
        "capacity{}: {:.1f} rps (p99 {}) - highest offered rate within the SLO {}, lowest beyond "
        "it {}, {} steps\n",
        where, c["capacity_rps"].get<double>(),
        c["p99_ms"].is_null() ? std::string("-")
                              : fmt::format("{:.3f} ms", c["p99_ms"].get<double>()),
        rate(c["highest_good_rate"]), rate(c["lowest_bad_rate"]), c["steps"].get<int>());
  }
  return out;
}

}  // namespace horde
