#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>

#include "common/load_validate.h"
#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

// `load:` - mode, connections, rate, stages and the phase's durations. The
// rules between the fields are common/load_validate.cc's, shared with the wire.

namespace horde {

namespace {

using text::join;
using text::lower;
using text::parse_number;
using text::quote;
using text::trim;

const std::initializer_list<const char*> kLoadKeys = {"mode",
                                                      "connections",
                                                      "rate",
                                                      "duration",
                                                      "warmup",
                                                      "interval",
                                                      "connect_timeout",
                                                      "request_timeout",
                                                      "arrival",
                                                      "stages",
                                                      "max_connections",
                                                      "streams_per_connection",
                                                      "connection_max_requests",
                                                      "connection_max_age",
                                                      "keep_alive"};
const std::initializer_list<const char*> kStageKeys = {"duration", "rate", "connections"};
constexpr size_t kMaxStages = 1000;
constexpr uint32_t kMaxConnections = 1'000'000;
static_assert(kMaxRate == 10'000'000, "the messages below say 10000000");

bool read_stages(YamlReader& r, const YAML::Node& n, LoadSpec* l,
                 std::optional<LoadMode>* stage_mode) {
  const std::string expected =
      "a list of {duration, rate} (open loop) or {duration, connections} (closed loop)";
  if (!n.IsSequence() || n.size() == 0) {
    return r.fail("load.stages", "got " + yaml_describe(n) + "; expected " + expected);
  }
  if (n.size() > kMaxStages) {
    return r.fail("load.stages", "more than " + std::to_string(kMaxStages) + " stages");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = yaml_item("load.stages", i);
    const YAML::Node& st = n[i];
    if (!st.IsMap()) return r.fail(p, "got " + yaml_describe(st) + "; expected " + expected);
    if (!r.check_keys(st, p, kStageKeys)) return false;
    if (!st["duration"]) return r.fail(p + ".duration", "missing; expected a duration like 30s");
    const bool has_rate = static_cast<bool>(st["rate"]);
    const bool has_connections = static_cast<bool>(st["connections"]);
    if (has_rate == has_connections) {
      return r.fail(p, "expected exactly one of rate (open loop) or connections (closed loop)");
    }
    const LoadMode m = has_rate ? LoadMode::kOpen : LoadMode::kClosed;
    if (*stage_mode && **stage_mode != m) {
      return r.fail(p, "mixes rate and connections stages; use one kind in all stages");
    }
    *stage_mode = m;
    Stage stage;
    if (!r.read_millis(st["duration"], p + ".duration", Millis(0), kMaxPhaseTime, true,
                       "a duration from 0s to 24h", &stage.duration)) {
      return false;
    }
    if (has_rate) {
      std::string s;
      const std::string what = "a number >= 0 and at most 10000000 (requests/s over all agents)";
      if (!r.read_scalar(st["rate"], p + ".rate", what, &s)) return false;
      if (!parse_number(trim(s), &stage.rate) || !(stage.rate >= 0) || !(stage.rate <= kMaxRate)) {
        return r.fail(p + ".rate", "got " + quote(s) + "; expected " + what);
      }
    } else if (!r.read_uint(st["connections"], p + ".connections", 0, kMaxConnections,
                            &stage.connections)) {
      return false;
    }
    l->stages.push_back(stage);
  }
  return true;
}

}  // namespace

bool read_load_yaml(YamlReader& r, const YAML::Node& n, bool rate_searched, LoadSpec* l) {
  if (!n.IsMap()) {
    return r.fail("load",
                  "got " + yaml_describe(n) + "; expected a map with keys " + join(kLoadKeys));
  }
  if (!r.check_keys(n, "load", kLoadKeys)) return false;
  std::optional<LoadMode> mode;
  std::optional<LoadMode> stage_mode;
  bool have_rate = false;
  bool have_duration = false;
  bool have_connections = false;
  // Agents refuse phases and timeouts over a day (kMaxPhaseTime): said here, at validation.
  const std::string positive =
      std::string("a duration > 0, at most 24h (an agent refuses longer), ") + kDurationExamples;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = "load." + key;
    const YAML::Node& v = kv.second;
    if (key == "mode") {
      std::string s;
      if (!r.read_scalar(v, p, "closed or open", &s)) return false;
      const std::string m = lower(trim(s));
      if (m == "closed") {
        mode = LoadMode::kClosed;
      } else if (m == "open") {
        mode = LoadMode::kOpen;
      } else {
        return r.fail(p, "got " + quote(s) +
                             "; expected closed (fixed connections) or open (fixed arrival rate)");
      }
    } else if (key == "connections") {
      have_connections = true;
      // 0 is for open loop (none opened in advance); validate() judges it by mode.
      if (!r.read_uint(v, p, 0, kMaxConnections, &l->connections)) return false;
    } else if (key == "max_connections") {
      if (!r.read_uint(v, p, 1, kMaxConnections, &l->max_connections)) return false;
    } else if (key == "streams_per_connection") {
      if (!r.read_uint(v, p, 1, kMaxStreamsPerConnection, &l->streams_per_connection)) {
        return false;
      }
    } else if (key == "connection_max_requests") {
      if (!r.read_uint(v, p, 1, kMaxConnectionRequests, &l->connection_max_requests)) return false;
    } else if (key == "connection_max_age") {
      if (!r.read_millis(v, p, Millis(0), kMaxPhaseTime, false,
                         std::string("a duration > 0 and at most 24h (each connection is closed "
                                     "and opened again once it is this old), ") +
                             kDurationExamples,
                         &l->connection_max_age)) {
        return false;
      }
    } else if (key == "keep_alive") {
      if (!r.read_bool(v, p, &l->keep_alive)) return false;
    } else if (key == "arrival") {
      std::string s;
      if (!r.read_scalar(v, p, "uniform or poisson", &s)) return false;
      const std::string a = lower(trim(s));
      if (a == "uniform") {
        l->arrival = Arrival::kUniform;
      } else if (a == "poisson") {
        l->arrival = Arrival::kPoisson;
      } else {
        return r.fail(p, "got " + quote(s) +
                             "; expected uniform (evenly spaced) or poisson (exponential gaps)");
      }
    } else if (key == "stages") {
      if (!read_stages(r, v, l, &stage_mode)) return false;
    } else if (key == "rate") {
      if (v.IsNull()) continue;  // `rate: null` (as in to_json of closed mode) means none
      std::string s;
      const std::string expected = "a number > 0 and at most 10000000 (requests/s over all agents)";
      if (!r.read_scalar(v, p, expected, &s)) return false;
      if (!parse_number(trim(s), &l->rate) || !(l->rate > 0) || !(l->rate <= kMaxRate)) {
        return r.fail(p, "got " + quote(s) + "; expected " + expected);
      }
      have_rate = true;
    } else if (key == "duration") {
      have_duration = true;
      if (!r.read_millis(v, p, Millis(0), kMaxPhaseTime, false, positive, &l->duration))
        return false;
    } else if (key == "warmup") {
      if (!r.read_millis(v, p, Millis(0), kMaxPhaseTime, true,
                         std::string("a duration >= 0, at most 24h, ") + kDurationExamples,
                         &l->warmup)) {
        return false;
      }
    } else if (key == "interval") {
      if (!r.read_millis(v, p, Millis(100), Millis(60'000), true, "a duration from 100ms to 60s",
                         &l->interval))
        return false;
    } else if (key == "connect_timeout") {
      if (!r.read_millis(v, p, Millis(0), kMaxPhaseTime, false, positive, &l->connect_timeout))
        return false;
    } else if (key == "request_timeout") {
      if (!r.read_millis(v, p, Millis(0), kMaxPhaseTime, false, positive, &l->request_timeout))
        return false;
    }
  }
  if (stage_mode) {
    // The stages' kind decides the mode; an explicit mode must agree.
    if (mode && *mode != *stage_mode) {
      return r.fail("load.stages",
                    std::string("set ") +
                        (*stage_mode == LoadMode::kOpen ? "rate" : "connections") +
                        " but load.mode is " + (*mode == LoadMode::kOpen ? "open" : "closed") +
                        "; open mode stages set rate, closed mode stages connections");
    }
    mode = stage_mode;
    Millis sum{0};
    uint32_t most = 0;
    for (const Stage& s : l->stages) {
      sum += s.duration;
      most = std::max(most, s.connections);
    }
    if (!have_duration) l->duration = sum;
    if (*stage_mode == LoadMode::kClosed && !have_connections) l->connections = std::max(most, 1u);
  }
  // A capacity search runs open loop: say so in the resolved workload too.
  l->mode = mode.value_or(have_rate || rate_searched ? LoadMode::kOpen : LoadMode::kClosed);
  // Open loop connects on demand: unless asked, no connection is opened in
  // advance, and the pool's bound is said in the resolved workload.
  if (l->mode == LoadMode::kOpen) {
    if (!have_connections) l->connections = 0;
    if (l->max_connections == 0) l->max_connections = open_pool_bound(*l);
  }
  if (auto ok = validate(*l, LoadCheck{.rate_searched = rate_searched}); !ok)
    return r.fail_with(Error{r.source() + ": " + ok.error().message});
  return true;
}

}  // namespace horde
