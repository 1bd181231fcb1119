#include "controller/backend_results.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <vector>

#include "controller/result_figures.h"

namespace horde {

namespace {

double r4(double v) { return std::round(v * 10000.0) / 10000.0; }

double share(uint64_t n, uint64_t total) {
  return total > 0 ? static_cast<double>(n) / static_cast<double>(total) : 0.0;
}

}  // namespace

nlohmann::json backends_json(const PhaseResult& p) {
  nlohmann::json out = nlohmann::json::array();
  const uint64_t total = p.backends.requests();
  for (const auto& [id, s] : p.backends.by_id) {
    nlohmann::json status = nlohmann::json::object();
    for (const auto& [code, n] : s.status_codes) status[std::to_string(code)] = n;
    out.push_back({{"id", id},
                   {"requests", s.requests},
                   {"errors", s.errors},
                   {"share", r4(share(s.requests, total))},
                   {"throughput_rps", r3(p.duration_s > 0 ? s.requests / p.duration_s : 0.0)},
                   {"latency_ms",
                    {{"p50", ms(s.latency.value_at_percentile(50))},
                     {"p99", ms(s.latency.value_at_percentile(99))},
                     {"max", ms(s.latency.max())}}},
                   {"status_codes", status}});
  }
  return out;
}

nlohmann::json spread_json(const PhaseResult& p) {
  const Spread s = spread_of(p.backends);
  return {{"backends", s.backends},
          {"max_share", r4(s.max_share)},
          {"min_share", r4(s.min_share)},
          {"imbalance", r3(s.imbalance)}};
}

std::string shares_text(const PhaseResult& p) {
  const uint64_t total = p.backends.requests();
  std::vector<uint64_t> counts;
  for (const auto& [id, s] : p.backends.by_id) {
    if (s.requests > 0) counts.push_back(s.requests);
  }
  std::sort(counts.begin(), counts.end(), std::greater<>());
  std::string out;
  for (const uint64_t n : counts) {
    if (!out.empty()) out += " / ";
    out += fmt::format("{:.0f}%", 100.0 * share(n, total));
  }
  return out;
}

std::optional<std::string> uneven_spread_warning(const PhaseResult& p, double limit) {
  const Spread s = spread_of(p.backends);
  if (s.backends < 2 || s.imbalance <= limit) return std::nullopt;
  return fmt::format(
      "uneven_spread: phase {}: backend {} took {:.0f}% of the requests ({} backends: {}; "
      "imbalance {:.2f} > spread_warning {:.2f}): the balancer, not the service, may be what "
      "limits the result",
      p.name, s.heaviest, 100.0 * s.max_share, s.backends, shares_text(p), s.imbalance, limit);
}

std::string backend_table(const RunResult& r) {
  std::string out;
  for (const PhaseResult& p : r.phases) {
    if (spread_of(p.backends).backends < 2) continue;
    if (out.empty()) {
      out = fmt::format("{:<10} {:<28} {:>10} {:>8} {:>7} {:>11} {:>9} {:>9}\n", "phase", "backend",
                        "requests", "errors", "share", "rps", "p50 ms", "p99 ms");
    }
    const uint64_t total = p.backends.requests();
    for (const auto& [id, s] : p.backends.by_id) {
      out +=
          fmt::format("{:<10} {:<28} {:>10} {:>8} {:>6.1f}% {:>11.1f} {:>9.3f} {:>9.3f}\n", p.name,
                      id, s.requests, s.errors, 100.0 * share(s.requests, total),
                      p.duration_s > 0 ? s.requests / p.duration_s : 0.0,
                      ms(s.latency.value_at_percentile(50)), ms(s.latency.value_at_percentile(99)));
    }
    const Spread sp = spread_of(p.backends);
    out += fmt::format("{:<10} spread: {} backends, max share {:.1f}%, imbalance {:.2f}\n", p.name,
                       sp.backends, 100.0 * sp.max_share, sp.imbalance);
  }
  return out;
}

std::string backends_csv(const RunResult& r) {
  std::string out =
      "phase,interval,time_s,warmup,backend,requests,errors,rps,p50_ms,p99_ms,max_ms\n";
  for (const auto& p : r.phases) {
    for (const auto& row : p.intervals) {
      for (const auto& b : row.backends) {
        // The id is a header value: quoted the CSV way when it holds a comma or a quote.
        std::string id = b.id;
        if (id.find_first_of(",\"\n\r") != std::string::npos) {
          std::string q = "\"";
          for (const char c : id) q += c == '"' ? std::string("\"\"") : std::string(1, c);
          id = q + "\"";
        }
        out += fmt::format("{},{},{:.3f},{},{},{},{},{:.1f},{:.3f},{:.3f},{:.3f}\n", row.phase,
                           row.interval, row.time_s, row.warmup ? 1 : 0, id, b.requests, b.errors,
                           row.duration_s > 0 ? b.requests / row.duration_s : 0.0, ms(b.p50_us),
                           ms(b.p99_us), ms(b.max_us));
      }
    }
  }
  return out;
}

namespace {

// One CSV line as backends_csv writes it: fields split at commas, a quoted
// field ("a,b" with "" for a quote) taken whole.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

std::vector<BackendCsvRow> read_backends_csv(const std::string& path) {
  std::vector<BackendCsvRow> rows;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return rows;
  const auto header = csv_fields(line);
  auto col = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int c_phase = col("phase"), c_interval = col("interval"), c_time = col("time_s"),
            c_warmup = col("warmup"), c_backend = col("backend"), c_requests = col("requests"),
            c_errors = col("errors"), c_rps = col("rps");
  if (c_phase < 0 || c_time < 0 || c_backend < 0 || c_requests < 0) return rows;
  const auto number = [](const std::vector<std::string>& f, int c) {
    return c < 0 ? 0.0 : std::strtod(f[static_cast<size_t>(c)].c_str(), nullptr);
  };
  while (std::getline(in, line)) {
    const auto f = csv_fields(line);
    if (f.size() != header.size()) continue;
    BackendCsvRow r;
    r.phase = static_cast<uint32_t>(number(f, c_phase));
    r.interval = static_cast<uint32_t>(number(f, c_interval));
    r.time_s = number(f, c_time);
    r.warmup = c_warmup >= 0 && f[static_cast<size_t>(c_warmup)] == "1";
    r.backend = f[static_cast<size_t>(c_backend)];
    r.requests = number(f, c_requests);
    r.errors = number(f, c_errors);
    r.rps = number(f, c_rps);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace horde
