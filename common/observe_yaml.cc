// `observe:`: a list of sources, each a map checked whole at the edge, so the
// controller only ever reads sources that can be read (common/observe.h).
#include <algorithm>
#include <set>
#include <string>

#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

namespace horde {

namespace {

using text::quote;

const std::initializer_list<const char*> kSourceKeys = {"name",  "scrape", "prometheus", "metric",
                                                        "match", "rate",   "query",      "unit"};
// intervals.csv's own columns: a source's column must not take one of their names.
const std::set<std::string> kCsvColumns = {"phase",  "interval", "time_s", "warmup",
                                           "agents", "requests", "errors", "rps",
                                           "p50_ms", "p99_ms",   "max_ms"};

bool lower_or_underscore(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool all_of(const std::string& s, bool (*first)(char), bool (*rest)(char)) {
  if (s.empty() || !first(s[0])) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!rest(s[i])) return false;
  }
  return true;
}

bool read_http_url(YamlReader& r, const YAML::Node& n, const std::string& path, Url* out) {
  if (!r.read_url(n, path, out)) return false;
  if (out->scheme != "http") {
    return r.fail(path, "got " + quote(out->text) +
                            "; expected an http:// URL (the controller reads sources over plain "
                            "HTTP only)");
  }
  return true;
}

bool read_match(YamlReader& r, const YAML::Node& n, const std::string& path,
                std::vector<std::pair<std::string, std::string>>* out) {
  if (!n.IsMap()) {
    return r.fail(path, "got " + yaml_describe(n) +
                            "; expected a map of label: value (\"!value\" for not equal), like "
                            "{mode: \"!idle\"}");
  }
  for (const auto& kv : n) {
    const std::string label = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const std::string p = yaml_child(path, label);
    if (!all_of(label, letter, [](char c) { return letter(c) || digit(c); })) {
      return r.fail(p, "got " + quote(label) + "; expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    }
    std::string value;
    if (!r.read_string(kv.second, p, &value)) return false;
    out->emplace_back(label, value);
  }
  std::sort(out->begin(), out->end());  // as summary.json's object holds them
  return true;
}

bool read_source(YamlReader& r, const YAML::Node& n, const std::string& path, ObserveSource* s) {
  if (!n.IsMap()) {
    return r.fail(path, "got " + yaml_describe(n) +
                            "; expected a map with name, scrape (and metric) or prometheus (and "
                            "query), and unit");
  }
  if (!r.check_keys(n, path, kSourceKeys)) return false;
  bool have_unit = false;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = yaml_child(path, key);
    if (key == "name") {
      if (!r.read_string(kv.second, p, &s->name)) return false;
      if (s->name.size() > 64 || !all_of(s->name, lower_or_underscore, [](char c) {
            return lower_or_underscore(c) || digit(c);
          })) {
        return r.fail(p, "got " + quote(s->name) +
                             "; expected a name of lower-case letters, digits and _ (at most 64), "
                             "like web_cpu");
      }
      if (kCsvColumns.count(s->name) > 0) {
        return r.fail(p, "got " + quote(s->name) +
                             "; that is one of intervals.csv's own columns, choose another name");
      }
    } else if (key == "scrape") {
      s->scrape.emplace();
      if (!read_http_url(r, kv.second, p, &*s->scrape)) return false;
    } else if (key == "prometheus") {
      s->prometheus.emplace();
      if (!read_http_url(r, kv.second, p, &*s->prometheus)) return false;
    } else if (key == "metric") {
      if (!r.read_string(kv.second, p, &s->metric)) return false;
      if (!all_of(
              s->metric, [](char c) { return letter(c) || c == ':'; },
              [](char c) { return letter(c) || digit(c) || c == ':'; })) {
        return r.fail(
            p, "got " + quote(s->metric) + "; expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
      }
    } else if (key == "match") {
      if (!read_match(r, kv.second, p, &s->match)) return false;
    } else if (key == "rate") {
      if (!r.read_bool(kv.second, p, &s->rate)) return false;
    } else if (key == "query") {
      if (!r.read_string(kv.second, p, &s->query)) return false;
      if (s->query.empty() || s->query.size() > 4096) {
        return r.fail(p, "expected a PromQL expression of 1 to 4096 characters");
      }
    } else if (key == "unit") {
      have_unit = true;
      std::string u;
      if (!r.read_string(kv.second, p, &u) || !unit_from_name(u, &s->unit)) {
        return r.fail(p, "got " + quote(u) + "; expected cores, bytes, ratio or count");
      }
    }
  }
  if (s->name.empty()) return r.fail(yaml_child(path, "name"), "missing; every source needs one");
  if (s->scrape.has_value() == s->prometheus.has_value()) {
    return r.fail(path,
                  "give exactly one of scrape (a /metrics URL) or prometheus (a Prometheus "
                  "server's URL)");
  }
  if (s->scrape) {
    if (s->metric.empty()) {
      return r.fail(yaml_child(path, "metric"), "missing; scrape needs the metric to read");
    }
    if (!s->query.empty()) {
      return r.fail(yaml_child(path, "query"), "only with prometheus; scrape reads metric");
    }
  } else {
    if (s->query.empty()) {
      return r.fail(yaml_child(path, "query"), "missing; prometheus needs a PromQL query");
    }
    for (const char* k : {"metric", "match", "rate"}) {
      if (n[k]) {
        return r.fail(yaml_child(path, k),
                      "only with scrape; with prometheus put it into the query");
      }
    }
  }
  if (!have_unit) {
    return r.fail(yaml_child(path, "unit"), "missing; expected cores, bytes, ratio or count");
  }
  return true;
}

}  // namespace

const char* unit_name(ObserveUnit u) {
  switch (u) {
    case ObserveUnit::kCores:
      return "cores";
    case ObserveUnit::kBytes:
      return "bytes";
    case ObserveUnit::kRatio:
      return "ratio";
    case ObserveUnit::kCount:
      return "count";
  }
  return "count";
}

bool unit_from_name(const std::string& name, ObserveUnit* out) {
  for (ObserveUnit u :
       {ObserveUnit::kCores, ObserveUnit::kBytes, ObserveUnit::kRatio, ObserveUnit::kCount}) {
    if (name == unit_name(u)) {
      *out = u;
      return true;
    }
  }
  return false;
}

bool read_observe_yaml(YamlReader& r, const YAML::Node& n, std::vector<ObserveSource>* out) {
  if (!n.IsSequence() || n.size() == 0 || n.size() > kMaxObserveSources) {
    return r.fail("observe", "got " + yaml_describe(n) + "; expected a list of 1 to " +
                                 std::to_string(kMaxObserveSources) + " sources");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = yaml_item("observe", i);
    ObserveSource s;
    if (!read_source(r, n[i], p, &s)) return false;
    if (!names.insert(s.name).second) {
      return r.fail(yaml_child(p, "name"), quote(s.name) + " is given twice; names must differ");
    }
    out->push_back(std::move(s));
  }
  return true;
}

}  // namespace horde
