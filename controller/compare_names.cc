// `horde compare` per request name: each name's part of a matched phase is compared exactly
// as the phase is (intervals.jsonl keeps a histogram and counts per name per interval, so
// the bootstrap, Welch's t and Mann-Whitney U get the same inputs a phase gives them). Names
// in one run only are notes, never silently left out.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "controller/compare_detail.h"
#include "controller/name_results.h"

namespace horde::compare_detail {

namespace {

using nlohmann::json;

// A bootstrap seed per scope (FNV-1a of it), so a name's figures do not depend on what else
// was compared before it.
uint64_t scope_seed(uint64_t seed, const std::string& scope) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char ch : scope) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return seed ^ h;
}

// Name `index`'s part of phase `p`: its requests_by_name entry and, per measured interval,
// its histogram and rate. With one name the run logs no per-name figures: the interval's
// totals are that name's.
PhaseData name_data(const RunData& run, const PhaseData& p, size_t names, uint32_t index,
                    const std::string& name, const json& entry) {
  static const Histogram none;
  PhaseData d;
  d.name = name;
  d.index = p.index;
  d.summary = entry;
  for (const auto& li : run.intervals) {
    if (li.row.phase != p.index || li.row.warmup) continue;
    uint64_t requests = li.row.counters.requests;
    const Histogram* latency = &li.latency;
    if (names > 1) {
      const auto it = li.names.find(index);
      requests = it == li.names.end() ? 0 : it->second.counters.requests;
      latency = it == li.names.end() ? &none : &it->second.latency;
    }
    d.latency.push_back(*latency);
    d.merged.add(*latency);
    d.time_s.push_back(li.row.time_s);
    d.rps.push_back(li.row.duration_s > 0 ? static_cast<double>(requests) / li.row.duration_s : 0);
  }
  return d;
}

std::optional<uint32_t> index_of(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<uint32_t>(it - names.begin());
}

}  // namespace

void compare_names(const PhaseData& a, const PhaseData& b, const RunData& ra, const RunData& rb,
                   const CompareOptions& o, RunComparison* c) {
  const std::string phase = "phase " + a.name;
  json ja = a.summary.value("requests_by_name", json::object());
  json jb = b.summary.value("requests_by_name", json::object());
  if (!ja.is_object()) ja = json::object();
  if (!jb.is_object()) jb = json::object();
  if (ja.empty() && jb.empty()) return;
  if (ja.empty() || jb.empty()) {
    c->notes.push_back(fmt::format("{}: requests by name only in the {}, names not compared", phase,
                                   ja.empty() ? "candidate" : "baseline"));
    return;
  }
  // One name a side, the same one: its rows would be the phase's own.
  if (ja.size() == 1 && jb.size() == 1 && ja.begin().key() == jb.begin().key()) return;
  const auto na = request_names_of(ra.summary.value("workload", json::object()));
  const auto nb = request_names_of(rb.summary.value("workload", json::object()));
  // The baseline's request order, then any name its workload does not list.
  std::vector<std::string> order;
  for (const auto& n : na) {
    if (ja.contains(n)) order.push_back(n);
  }
  for (const auto& [n, entry] : ja.items()) {
    if (std::find(order.begin(), order.end(), n) == order.end()) order.push_back(n);
  }
  for (const auto& name : order) {
    const std::string scope = fmt::format("{} name {}", phase, name);
    if (!jb.contains(name)) {
      c->notes.push_back(scope + ": only in the baseline");
      continue;
    }
    const auto ia = index_of(na, name), ib = index_of(nb, name);
    if (!ia || !ib) {
      c->notes.push_back(fmt::format(
          "{}: the {} workload does not list it (no per-interval figures), not compared", scope,
          ia ? "candidate's" : "baseline's"));
      continue;
    }
    compare_measured(name_data(ra, a, na.size(), *ia, name, ja[name]),
                     name_data(rb, b, nb.size(), *ib, name, jb[name]), scope,
                     scope_seed(o.seed, scope), o, c);
  }
  // Candidate-only names in its own request order.
  std::vector<std::string> only_b;
  for (const auto& n : nb) {
    if (jb.contains(n) && !ja.contains(n)) only_b.push_back(n);
  }
  for (const auto& [n, entry] : jb.items()) {
    if (!ja.contains(n) && std::find(only_b.begin(), only_b.end(), n) == only_b.end()) {
      only_b.push_back(n);
    }
  }
  for (const auto& n : only_b) {
    c->notes.push_back(fmt::format("{} name {}: only in the candidate", phase, n));
  }
}

}  // namespace horde::compare_detail
