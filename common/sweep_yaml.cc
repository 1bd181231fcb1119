#include "common/sweep_yaml.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/text.h"
#include "common/yaml_reader.h"

namespace horde {

namespace {

// Errors carry the field path; every reader returns false after setting one.
struct Reader {
  std::string source;
  Error error;

  bool fail(const std::string& path, const std::string& what) {
    error = Error{source + ": " + path + ": " + what};
    return false;
  }

  bool keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& allowed) {
    if (!n.IsMap()) return fail(path, "expected a map");
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (allowed.count(key)) continue;
      std::string hint;
      for (const auto& a : allowed) {
        if (text::edit_distance(key, a) <= 2) hint = fmt::format(" did you mean \"{}\"?", a);
      }
      std::string list;
      for (const auto& a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      return fail(fmt::format("{}.{}", path, key),
                  fmt::format("unknown key;{} allowed keys: {}", hint, list));
    }
    return true;
  }

  bool number(const YAML::Node& n, const std::string& path, double lo, double hi, double* out) {
    double v = 0;
    if (!n.IsScalar() || !text::parse_number(n.Scalar(), &v) || !(v >= lo && v <= hi)) {
      return fail(path,
                  fmt::format("got {}; expected a number in [{}, {}]",
                              n.IsScalar() ? text::quote(n.Scalar()) : "a non-number", lo, hi));
    }
    *out = v;
    return true;
  }

  bool count(const YAML::Node& n, const std::string& path, uint32_t lo, uint32_t hi,
             uint32_t* out) {
    uint64_t v = 0;
    if (!n.IsScalar() || !text::parse_uint(n.Scalar(), &v) || v < lo || v > hi) {
      return fail(path,
                  fmt::format("got {}; expected a whole number in [{}, {}]",
                              n.IsScalar() ? text::quote(n.Scalar()) : "a non-number", lo, hi));
    }
    *out = static_cast<uint32_t>(v);
    return true;
  }

  bool millis(const YAML::Node& n, const std::string& path, std::chrono::milliseconds* out) {
    auto d = n.IsScalar() ? parse_duration(n.Scalar()) : Result<std::chrono::microseconds>(Error{});
    // At most a day, as every phase (kMaxPhaseTime): an agent refuses a longer one.
    if (!d || d->count() <= 0 || *d > kMaxPhaseTime) {
      return fail(
          path, "got " + (n.IsScalar() ? text::quote(n.Scalar()) : std::string("a non-duration")) +
                    "; expected a duration > 0 and at most 24h, such as 5s or 500ms");
    }
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return true;
  }

  bool string(const YAML::Node& n, const std::string& path, std::string* out) {
    if (!n.IsScalar() || n.Scalar().empty()) return fail(path, "expected a non-empty string");
    *out = n.Scalar();
    return true;
  }

  // A non-empty, strictly increasing list.
  template <typename T, typename ReadOne>
  bool list(const YAML::Node& n, const std::string& path, std::vector<T>* out, ReadOne one) {
    if (!n.IsSequence() || n.size() == 0 || n.size() > 100) {
      return fail(path, "expected a list of 1 to 100 values, e.g. [1, 2, 4]");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      T v{};
      if (!one(n[i], fmt::format("{}[{}]", path, i), &v)) return false;
      if (!out->empty() && v <= out->back()) {
        return fail(fmt::format("{}[{}]", path, i), "values must increase");
      }
      out->push_back(v);
    }
    return true;
  }
};

}  // namespace

Result<bool> read_sweep_yaml(const YAML::Node& n, const std::string& source, Sweep* s) {
  Reader r{source, {}};
  if (!r.keys(n, "sweep",
              {"agents", "rates", "instances", "min_efficiency", "scale_command", "ready",
               "require_even_spread", "cores_available"})) {
    return r.error;
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string path = "sweep." + key;
    const YAML::Node& v = kv.second;
    bool ok = true;
    if (key == "agents" || key == "instances") {
      ok = r.list<uint32_t>(v, path, key == "agents" ? &s->agents : &s->instances,
                            [&](const YAML::Node& x, const std::string& p, uint32_t* o) {
                              return r.count(x, p, 1, 10'000, o);
                            });
    } else if (key == "rates") {
      ok = r.list<double>(v, path, &s->rates,
                          [&](const YAML::Node& x, const std::string& p, double* o) {
                            return r.number(x, p, 0.001, kMaxRate, o);
                          });
    } else if (key == "min_efficiency") {
      ok = r.number(v, path, 0, 1, &s->min_efficiency);
    } else if (key == "require_even_spread") {
      const std::string b = v.IsScalar() ? v.Scalar() : std::string();
      if (b == "true" || b == "false") {
        s->require_even_spread = b == "true";
      } else {
        ok = r.fail(path, "got " + yaml_describe(v) + "; expected true or false");
      }
    } else if (key == "cores_available") {
      double cores = 0;
      ok = r.number(v, path, 0.01, 100'000, &cores);
      s->cores_available = cores;
    } else if (key == "scale_command") {
      ok = r.string(v, path, &s->scale_command);
      if (ok && s->scale_command.find("{instances}") == std::string::npos) {
        ok = r.fail(path, "must contain {instances}, replaced by each step's instance count");
      }
    } else if (key == "ready") {
      ReadyCheck rc;
      ok = r.keys(v, path, {"url", "command", "timeout"});
      for (const auto& c : ok ? v : YAML::Node()) {
        const std::string ck = c.first.Scalar();
        if (ck == "url") ok = ok && r.string(c.second, path + ".url", &rc.url);
        if (ck == "command") ok = ok && r.string(c.second, path + ".command", &rc.command);
        if (ck == "timeout") ok = ok && r.millis(c.second, path + ".timeout", &rc.timeout);
      }
      if (ok && rc.url.empty() == rc.command.empty()) {
        ok = r.fail(path, "give exactly one of url (must answer 2xx) or command (must exit 0)");
      }
      if (ok && !rc.url.empty()) {
        if (auto u = parse_url(rc.url); !u || u->scheme != "http") {
          ok = r.fail(path + ".url", "expected an http:// URL");
        }
      }
      s->ready = rc;
    }
    if (!ok) return r.error;
  }
  const int kinds = !s->agents.empty() + !s->rates.empty() + !s->instances.empty();
  if (kinds != 1) {
    return Error{source + ": sweep: give exactly one of agents, rates or instances"};
  }
  if (!s->scale_command.empty() && s->instances.empty()) {
    return Error{source + ": sweep.scale_command: only used with sweep.instances"};
  }
  return true;
}

Result<bool> read_capacity_yaml(const YAML::Node& n, const std::string& source, CapacitySearch* c) {
  Reader r{source, {}};
  if (!r.keys(n, "capacity",
              {"slo", "start_rate", "max_rate", "step", "factor", "hold", "precision",
               "min_achieved", "max_steps"})) {
    return r.error;
  }
  bool have_step = false, have_factor = false;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string path = "capacity." + key;
    const YAML::Node& v = kv.second;
    bool ok = true;
    if (key == "slo") {
      if (!v.IsSequence() || v.size() == 0) {
        ok = r.fail(path,
                    "expected a list of thresholds, e.g. [\"p99 < 100ms\", \"error_rate < 1%\"]");
      }
      for (size_t i = 0; ok && i < v.size(); ++i) {
        auto t = v[i].IsScalar() ? parse_threshold(v[i].Scalar())
                                 : Result<Threshold>(Error{"not a string"});
        if (!t) {
          ok = r.fail(fmt::format("{}[{}]", path, i), t.error().message);
        } else {
          c->slo.push_back(*t);
        }
      }
    } else if (key == "start_rate") {
      ok = r.number(v, path, 0.001, kMaxRate, &c->start_rate);
    } else if (key == "max_rate") {
      ok = r.number(v, path, 0.001, kMaxRate, &c->max_rate);
    } else if (key == "step") {
      have_step = true;
      ok = r.number(v, path, 0.001, kMaxRate, &c->step);
    } else if (key == "factor") {
      have_factor = true;
      ok = r.number(v, path, 1.01, 100, &c->factor);
    } else if (key == "hold") {
      ok = r.millis(v, path, &c->hold);
    } else if (key == "precision") {
      ok = r.number(v, path, 0.001, 0.5, &c->precision);
    } else if (key == "min_achieved") {
      ok = r.number(v, path, 0.5, 1, &c->min_achieved);
    } else if (key == "max_steps") {
      ok = r.count(v, path, 1, 1000, &c->max_steps);
    }
    if (!ok) return r.error;
  }
  if (c->slo.empty()) {
    return Error{source + ": capacity.slo: missing; give the SLO, e.g. [\"p99 < 100ms\"]"};
  }
  if (have_step && have_factor) {
    return Error{source + ": capacity: give step (add) or factor (multiply), not both"};
  }
  if (c->max_rate < c->start_rate) {
    return Error{source + ": capacity.max_rate: must be >= capacity.start_rate"};
  }
  return true;
}

Result<bool> check_sweep(const Workload& w, const std::string& source) {
  const Sweep& s = w.sweep;
  if (!s.rates.empty() && w.capacity) {
    return Error{source + ": sweep.rates: not with capacity: (the search picks the rates)"};
  }
  if (!s.instances.empty() && s.scale_command.empty()) {
    const uint32_t need = s.instances.back();
    const size_t have = w.builtin_target ? w.builtin_target->instances : w.targets.size();
    if (have < need) {
      return Error{fmt::format(
          "{}: sweep.instances: needs {} target URLs (the first k are the k instances) or "
          "sweep.scale_command; the file gives {}",
          source, need, have)};
    }
  }
  if (s.cores_available) {
    bool cores = false;
    for (const auto& o : w.observe) cores = cores || o.unit == ObserveUnit::kCores;
    if (!cores) {
      return Error{source +
                   ": sweep.cores_available: needs an observe: source with unit: cores (the CPU "
                   "it is compared with)"};
    }
  }
  if (!s.agents.empty() && w.capacity) {
    return Error{source + ": sweep.agents: not with capacity: (use sweep.instances)"};
  }
  if (!s.agents.empty()) {
    // The file's load is per agent: the largest step multiplies it, and the
    // product must stay within what one phase may ask (a rate sweep's own bound).
    const uint32_t most = *std::max_element(s.agents.begin(), s.agents.end());
    double peak_rate = w.load.rate;
    for (const Stage& st : w.load.stages) peak_rate = std::max(peak_rate, st.rate);
    if (peak_rate * most > kMaxRate) {
      return Error{fmt::format(
          "{}: sweep.agents: the load is per agent here, and {:g} requests/s x {} agents = {:g} "
          "is over the limit of {:.0f} requests/s; lower load.rate or the largest agent count",
          source, peak_rate, most, peak_rate * most, kMaxRate)};
    }
    const uint64_t pool = std::max(w.load.connections, w.load.max_connections);
    if (pool * most > 1'000'000) {
      return Error{fmt::format(
          "{}: sweep.agents: the load is per agent here, and {} connections x {} agents = {} is "
          "over the limit of 1000000; lower load.connections (or max_connections) or the largest "
          "agent count",
          source, pool, most, pool * most)};
    }
  }
  return true;
}

}  // namespace horde
