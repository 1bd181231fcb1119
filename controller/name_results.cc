#include "controller/name_results.h"

#include <fmt/format.h>

#include <algorithm>

#include "controller/result_figures.h"

namespace horde {

std::vector<std::string> request_names_of(const nlohmann::json& workload) {
  if (!workload.is_object() || !workload.contains("requests")) return {};
  std::vector<RequestSpec> requests;
  for (const auto& q : workload.at("requests")) {
    RequestSpec r;
    r.method = q.value("method", "GET");
    r.path = q.value("path", "");
    r.name = q.value("name", "");
    requests.push_back(std::move(r));
  }
  return request_names(requests);
}

PhaseResult name_part(const PhaseResult& p, uint32_t index) {
  PhaseResult part;
  part.index = p.index;
  part.duration_s = p.duration_s;
  if (p.names.empty()) {  // one name: the phase is all of it
    part.counters = p.counters;
    part.latency = p.latency;
    return part;
  }
  if (auto it = p.names.find(index); it != p.names.end()) {
    part.counters = it->second.counters;
    part.latency = it->second.latency;
  }
  return part;
}

// `requests_by_name`: {name: {requests, errors, error_rate, throughput_rps,
// latency_ms, status_codes, errors_by_class}}.
nlohmann::json requests_by_name_json(const PhaseResult& p, const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::object();
  for (uint32_t i = 0; i < names.size(); ++i) {
    const PhaseResult part = name_part(p, i);
    nlohmann::json status = nlohmann::json::object();
    for (const auto& [code, n] : part.counters.status_codes) status[std::to_string(code)] = n;
    nlohmann::json errors = nlohmann::json::object();
    for (size_t c = 0; c < kErrorClassCount; ++c) {
      if (part.counters.errors_by_class[c] == 0) continue;
      errors[error_class_name(static_cast<ErrorClass>(c))] = part.counters.errors_by_class[c];
    }
    out[names[i]] = {{"requests", part.counters.requests},
                     {"errors", part.counters.errors},
                     {"error_rate", error_rate(part.counters)},
                     {"throughput_rps", r3(throughput(part.counters, part.duration_s))},
                     {"latency_ms", latency_json(part.latency)},
                     {"status_codes", status},
                     {"errors_by_class", errors}};
  }
  return out;
}

std::string name_table(const RunResult& r) {
  const std::vector<std::string> names = request_names_of(r.workload);
  if (names.size() < 2) return "";
  const PhaseResult t = totals(r.phases);
  size_t width = 7;
  for (const auto& n : names) width = std::max(width, std::min<size_t>(n.size(), 40));
  std::string out =
      fmt::format("{:<{}} {:>10} {:>8} {:>8} {:>11} {:>9} {:>9} {:>9}\n", "request", width,
                  "requests", "errors", "err%", "rps", "p50 ms", "p99 ms", "max ms");
  for (uint32_t i = 0; i < names.size(); ++i) {
    const PhaseResult part = name_part(t, i);
    const std::string shown = names[i].size() > 40 ? names[i].substr(0, 37) + "..." : names[i];
    out += fmt::format(
        "{:<{}} {:>10} {:>8} {:>7.2f}% {:>11.1f} {:>9.3f} {:>9.3f} {:>9.3f}\n", shown, width,
        part.counters.requests, part.counters.errors, 100.0 * error_rate(part.counters),
        throughput(part.counters, part.duration_s), ms(part.latency.value_at_percentile(50)),
        ms(part.latency.value_at_percentile(99)), ms(part.latency.max()));
  }
  return out;
}

}  // namespace horde
