#include "common/workload_yaml.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "common/sweep_yaml.h"
#include "common/text.h"

namespace horde {

namespace {

using text::edit_distance;
using text::has_space_or_control;
using text::join;
using text::lower;
using text::parse_number;
using text::parse_uint;
using text::quote;
using text::trim;
using text::upper;

const std::initializer_list<const char*> kTopKeys = {"name",
                                                     "target",
                                                     "targets",
                                                     "requests",
                                                     "load",
                                                     "thresholds",
                                                     "builtin_target",
                                                     "tls",
                                                     "sweep",
                                                     "capacity",
                                                     "tolerate_lost_agents",
                                                     "rebalance",
                                                     "protocol",
                                                     "grpc"};
const std::initializer_list<const char*> kRequestKeys = {"method", "path", "headers", "body",
                                                         "weight"};
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
                                                      "streams_per_connection"};
const std::initializer_list<const char*> kGrpcKeys = {
    "method", "proto_files", "import_paths", "message", "message_file", "metadata", "deadline"};
const std::initializer_list<const char*> kStageKeys = {"duration", "rate", "connections"};
const std::initializer_list<const char*> kTlsKeys = {"insecure_skip_verify", "ca_file",
                                                     "server_name"};
constexpr size_t kMaxStages = 1000;
constexpr size_t kMaxCaFileBytes = 1 << 20;
const std::initializer_list<const char*> kBuiltinKeys = {"instances", "workers", "service_time",
                                                         "contention", "crosstalk"};
const std::initializer_list<const char*> kMethods = {"GET",   "POST", "PUT",    "DELETE",
                                                     "PATCH", "HEAD", "OPTIONS"};

constexpr uint32_t kMaxConnections = 1'000'000;
constexpr uint32_t kMaxWeight = 1'000'000;
constexpr uint32_t kMaxInstances = 1'000;
constexpr uint32_t kMaxWorkers = 10'000;

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    default:
      return "nothing";
  }
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Reads one workload document. Each helper returns false after storing the
// first error, so a caller stops at the first problem and reports it whole.
class WorkloadReader {
 public:
  explicit WorkloadReader(std::string source) : source_(std::move(source)) {}

  const Error& error() const { return error_; }

  bool fail_with(Error e) {
    error_ = std::move(e);
    return false;
  }

  bool fail(const std::string& path, const std::string& what) {
    error_ = Error{source_ + ": " + path + ": " + what};
    return false;
  }

  bool read(const YAML::Node& root, Workload* w) {
    if (!root.IsMap()) {
      return fail("top level",
                  "got " + describe(root) + "; expected a map with keys " + join(kTopKeys));
    }
    if (!check_keys(root, "", kTopKeys)) return false;
    bool have_target = false;
    bool have_builtin = false;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "name") {
        if (!read_string(v, "name", &w->name)) return false;
      } else if (key == "target") {
        if (have_target) return fail("target", "given together with targets; give only one");
        have_target = true;
        Url url;
        if (!read_url(v, "target", &url)) return false;
        w->targets.push_back(std::move(url));
      } else if (key == "targets") {
        if (have_target) return fail("targets", "given together with target; give only one");
        have_target = true;
        if (!read_targets(v, w)) return false;
      } else if (key == "requests") {
        if (!read_requests(v, w)) return false;
      } else if (key == "load") {
        if (!read_load(v, &w->load)) return false;
      } else if (key == "thresholds") {
        if (!read_thresholds(v, w)) return false;
      } else if (key == "builtin_target") {
        have_builtin = true;
        if (!read_builtin(v, w)) return false;
      } else if (key == "tls") {
        if (!read_tls(v, &w->tls)) return false;
      } else if (key == "sweep") {
        if (auto ok = read_sweep_yaml(v, source_, &w->sweep); !ok) return fail_with(ok.error());
      } else if (key == "capacity") {
        w->capacity.emplace();
        if (auto ok = read_capacity_yaml(v, source_, &*w->capacity); !ok) {
          return fail_with(ok.error());
        }
      } else if (key == "protocol") {
        std::string s;
        if (!read_scalar(v, "protocol", "http1, http2 or grpc", &s)) return false;
        if (!protocol_from_name(lower(trim(s)), &w->protocol)) {
          return fail("protocol", "got " + quote(s) +
                                      "; expected http1, http2 (h2c:// or https:// with ALPN h2) "
                                      "or grpc (grpc:// or grpcs://)");
        }
      } else if (key == "grpc") {
        w->grpc.emplace();
        if (!read_grpc(v, &*w->grpc)) return false;
      } else if (key == "tolerate_lost_agents") {
        if (!read_uint(v, "tolerate_lost_agents", 0, 100'000, &w->faults.tolerate_lost_agents)) {
          return false;
        }
      } else if (key == "rebalance") {
        if (!read_bool(v, "rebalance", &w->faults.rebalance)) return false;
      }
    }
    // Handing a lost agent's connections to the survivors would have to rescale
    // every later stage of each survivor's connection ramp; not built (yet).
    if (w->faults.rebalance && w->load.mode == LoadMode::kClosed && !w->load.stages.empty()) {
      return fail("rebalance",
                  "not supported for closed loop with load.stages (connection ramps); use "
                  "constant load.connections, an open-loop workload, or remove rebalance");
    }
    if (w->grpc && root["requests"]) {
      return fail("requests",
                  "not used with grpc: (the call is grpc.method with grpc.message); "
                  "remove requests");
    }
    if (have_builtin && w->builtin_target && !w->targets.empty()) {
      return fail("builtin_target",
                  "given together with target(s); builtin_target starts the sample service and "
                  "aims at it, so give only one");
    }
    if (w->requests.empty()) w->requests.push_back(RequestSpec{});
    return true;
  }

  // The typed checks that still apply after CLI overrides (see finalize_workload).
  bool check_load(const LoadSpec& l) {
    if (l.connections < 1 || l.connections > kMaxConnections) {
      return fail("load.connections", "got " + std::to_string(l.connections) +
                                          "; expected an integer from 1 to 1000000");
    }
    if (!l.stages.empty() && !check_stages(l)) return false;
    if (l.max_connections != 0) {
      if (l.mode != LoadMode::kOpen) {
        return fail("load.max_connections",
                    "only for open mode (the pool grows when requests are due and every "
                    "connection is busy); remove it, or set load.mode: open");
      }
      if (l.max_connections < l.connections) {
        return fail("load.max_connections", "got " + std::to_string(l.max_connections) +
                                                "; expected at least " + "load.connections (" +
                                                std::to_string(l.connections) + ")");
      }
    }
    if (l.mode == LoadMode::kOpen && l.stages.empty() && !(l.rate > 0 && std::isfinite(l.rate))) {
      return fail("load.rate",
                  "missing; open mode needs a rate > 0 in requests/s, like rate: 1000");
    }
    if (l.mode == LoadMode::kOpen && !l.stages.empty() && l.rate != 0) {
      return fail("load.rate",
                  "not allowed with load.stages (each stage sets its rate; the first ramps up "
                  "from 0); remove it, or add a first stage {duration: 0s, rate: ...}");
    }
    if (l.mode == LoadMode::kClosed && l.rate != 0) {
      return fail("load.rate",
                  "not allowed in closed mode (closed mode keeps load.connections requests in "
                  "flight); remove it, or set load.mode: open");
    }
    if (l.duration.count() <= 0) return fail("load.duration", "expected a duration > 0");
    if (l.warmup.count() < 0) return fail("load.warmup", "expected a duration >= 0");
    if (l.interval < Millis(100) || l.interval > Millis(60'000)) {
      return fail("load.interval",
                  "got " + format_duration(l.interval) + "; expected a duration from 100ms to 60s");
    }
    if (l.connect_timeout.count() <= 0) {
      return fail("load.connect_timeout", "expected a duration > 0");
    }
    if (l.request_timeout.count() <= 0) {
      return fail("load.request_timeout", "expected a duration > 0");
    }
    return true;
  }

  bool check_stages(const LoadSpec& l) {
    Millis sum{0};
    uint32_t most_connections = 0;
    double most_rate = 0;
    for (size_t i = 0; i < l.stages.size(); ++i) {
      const Stage& s = l.stages[i];
      const std::string p = item("load.stages", i);
      if (l.mode == LoadMode::kOpen && s.connections != 0) {
        return fail(p + ".connections",
                    "not allowed in open mode (stages set the rate); use rate: N requests/s");
      }
      if (l.mode == LoadMode::kClosed && s.rate != 0) {
        return fail(p + ".rate",
                    "not allowed in closed mode (stages set connections); use connections: N, "
                    "or set load.mode: open");
      }
      sum += s.duration;
      most_connections = std::max(most_connections, s.connections);
      most_rate = std::max(most_rate, s.rate);
    }
    if (sum.count() <= 0) return fail("load.stages", "the durations add up to 0; expected > 0");
    if (l.duration != sum) {
      return fail("load.duration", "got " + format_duration(l.duration) +
                                       " but load.stages add up to " + format_duration(sum) +
                                       "; leave duration out or make them equal");
    }
    if (l.warmup.count() != 0) {
      return fail("load.warmup",
                  "not allowed with load.stages (the stages are the whole phase, their ramp-up "
                  "included); remove it");
    }
    if (l.mode == LoadMode::kOpen && !(most_rate > 0)) {
      return fail("load.stages", "every stage has rate 0; expected some rate > 0");
    }
    if (l.mode == LoadMode::kClosed) {
      if (most_connections == 0) {
        return fail("load.stages", "every stage has 0 connections; expected some connections > 0");
      }
      if (l.connections < most_connections) {
        return fail("load.connections",
                    "got " + std::to_string(l.connections) + " but a stage wants " +
                        std::to_string(most_connections) +
                        "; with stages it is the pool size, leave it out or make it larger");
      }
    }
    return true;
  }

 private:
  bool read_bool(const YAML::Node& n, const std::string& path, bool* out) {
    std::string s;
    if (!read_scalar(n, path, "true or false", &s)) return false;
    const std::string b = lower(trim(s));
    if (b == "true" || b == "yes" || b == "on") {
      *out = true;
    } else if (b == "false" || b == "no" || b == "off") {
      *out = false;
    } else {
      return fail(path, "got " + quote(s) + "; expected true or false");
    }
    return true;
  }

  bool read_stages(const YAML::Node& n, LoadSpec* l, std::optional<LoadMode>* stage_mode) {
    const std::string expected =
        "a list of {duration, rate} (open loop) or {duration, connections} (closed loop)";
    if (!n.IsSequence() || n.size() == 0) {
      return fail("load.stages", "got " + describe(n) + "; expected " + expected);
    }
    if (n.size() > kMaxStages) {
      return fail("load.stages", "more than " + std::to_string(kMaxStages) + " stages");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = item("load.stages", i);
      const YAML::Node& st = n[i];
      if (!st.IsMap()) return fail(p, "got " + describe(st) + "; expected " + expected);
      if (!check_keys(st, p, kStageKeys)) return false;
      if (!st["duration"]) return fail(p + ".duration", "missing; expected a duration like 30s");
      const bool has_rate = static_cast<bool>(st["rate"]);
      const bool has_connections = static_cast<bool>(st["connections"]);
      if (has_rate == has_connections) {
        return fail(p, "expected exactly one of rate (open loop) or connections (closed loop)");
      }
      const LoadMode m = has_rate ? LoadMode::kOpen : LoadMode::kClosed;
      if (*stage_mode && **stage_mode != m) {
        return fail(p, "mixes rate and connections stages; use one kind in all stages");
      }
      *stage_mode = m;
      Stage stage;
      if (!read_millis(st["duration"], p + ".duration", Millis(0), Millis(24LL * 3600 * 1000), true,
                       "a duration from 0s to 24h", &stage.duration)) {
        return false;
      }
      if (has_rate) {
        std::string s;
        const std::string what = "a number >= 0 (requests/s over all agents)";
        if (!read_scalar(st["rate"], p + ".rate", what, &s)) return false;
        if (!parse_number(trim(s), &stage.rate) || !(stage.rate >= 0) ||
            !std::isfinite(stage.rate)) {
          return fail(p + ".rate", "got " + quote(s) + "; expected " + what);
        }
      } else if (!read_uint(st["connections"], p + ".connections", 0, kMaxConnections,
                            &stage.connections)) {
        return false;
      }
      l->stages.push_back(stage);
    }
    return true;
  }

  // The CA file is read here, at the edge, because its content travels to
  // agents on other hosts. A relative path is relative to the workload file.
  bool read_tls(const YAML::Node& n, TlsSpec* tls) {
    if (!n.IsMap()) {
      return fail("tls", "got " + describe(n) + "; expected a map with keys " + join(kTlsKeys));
    }
    if (!check_keys(n, "tls", kTlsKeys)) return false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "tls." + key;
      if (key == "insecure_skip_verify") {
        if (!read_bool(kv.second, p, &tls->insecure_skip_verify)) return false;
      } else if (key == "server_name") {
        if (!read_string(kv.second, p, &tls->server_name)) return false;
        if (tls->server_name.empty() || tls->server_name.size() > 255 ||
            has_space_or_control(tls->server_name)) {
          return fail(p, "got " + quote(tls->server_name) + "; expected a host name");
        }
      } else if (key == "ca_file") {
        if (!read_string(kv.second, p, &tls->ca_file)) return false;
        if (!read_ca_file(p, tls)) return false;
      }
    }
    return true;
  }

  bool read_ca_file(const std::string& p, TlsSpec* tls) {
    std::string path = tls->ca_file;
    const size_t slash = source_.find_last_of('/');
    if (!path.empty() && path.front() != '/' && slash != std::string::npos) {
      path = source_.substr(0, slash + 1) + path;
    }
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return fail(p, "cannot read " + quote(path) + ": " + std::strerror(errno) +
                         "; expected a PEM file of CA certificates");
    }
    std::string pem;
    char buf[8192];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && pem.size() <= kMaxCaFileBytes) {
      pem.append(buf, got);
    }
    std::fclose(f);
    if (pem.size() > kMaxCaFileBytes) return fail(p, quote(path) + " is larger than 1 MiB");
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return fail(
          p, quote(path) + " holds no certificate; expected PEM (-----BEGIN CERTIFICATE-----)");
    }
    tls->ca_pem = std::move(pem);
    return true;
  }

  bool check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<const char*> allowed) {
    std::vector<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        return fail(path.empty() ? "top level" : path,
                    "got " + describe(kv.first) + " as a key; expected keys " + join(allowed));
      }
      const std::string key = kv.first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return fail(child(path, key), "given twice; give each key once");
      }
      seen.push_back(key);
      if (std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        continue;
      }
      std::string what = "unknown key;";
      size_t best = 3;
      const char* suggestion = nullptr;
      for (const char* a : allowed) {
        const size_t d = edit_distance(key, a);
        if (d < best) {
          best = d;
          suggestion = a;
        }
      }
      if (suggestion != nullptr) what += std::string(" did you mean \"") + suggestion + "\"?";
      what += " allowed keys: " + join(allowed);
      return fail(child(path, key), what);
    }
    return true;
  }

  bool read_scalar(const YAML::Node& n, const std::string& path, const std::string& expected,
                   std::string* out) {
    if (!n.IsScalar()) return fail(path, "got " + describe(n) + "; expected " + expected);
    *out = n.Scalar();
    return true;
  }

  bool read_string(const YAML::Node& n, const std::string& path, std::string* out) {
    return read_scalar(n, path, "a string", out);
  }

  bool read_uint(const YAML::Node& n, const std::string& path, uint32_t lo, uint32_t hi,
                 uint32_t* out) {
    const std::string expected =
        "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    std::string s;
    if (!read_scalar(n, path, expected, &s)) return false;
    uint64_t v = 0;
    if (!parse_uint(trim(s), &v) || v < lo || v > hi) {
      return fail(path, "got " + quote(s) + "; expected " + expected);
    }
    *out = static_cast<uint32_t>(v);
    return true;
  }

  // Millis fields: a duration with a unit, whole milliseconds, within [lo, hi]
  // (lo excluded unless lo_inclusive); `expected` describes that range.
  bool read_millis(const YAML::Node& n, const std::string& path, Millis lo, Millis hi,
                   bool lo_inclusive, const std::string& expected, Millis* out) {
    std::string s;
    if (!read_scalar(n, path, expected, &s)) return false;
    auto d = parse_duration(s);
    if (!d) return fail(path, d.error().message);
    if (d->count() % 1000 != 0) {
      return fail(path, "got " + quote(s) + "; expected a whole number of milliseconds");
    }
    const Millis ms = std::chrono::duration_cast<Millis>(*d);
    if (ms < lo || (!lo_inclusive && ms == lo) || ms > hi) {
      return fail(path, "got " + quote(s) + "; expected " + expected);
    }
    *out = ms;
    return true;
  }

  bool read_url(const YAML::Node& n, const std::string& path, Url* out) {
    std::string s;
    if (!read_scalar(n, path, std::string("a URL string like ") + kUrlForm, &s)) return false;
    auto url = parse_url(s);
    if (!url) return fail(path, url.error().message);
    *out = std::move(url).value();
    return true;
  }

  bool read_targets(const YAML::Node& n, Workload* w) {
    if (!n.IsSequence()) {
      return fail("targets",
                  "got " + describe(n) + "; expected a list of URLs like [" + kUrlForm + ", ...]");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      Url url;
      if (!read_url(n[i], item("targets", i), &url)) return false;
      w->targets.push_back(std::move(url));
    }
    return true;
  }

  bool read_requests(const YAML::Node& n, Workload* w) {
    const std::string expected_item = "a map like {method: GET, path: /items, weight: 1}";
    if (!n.IsSequence() || n.size() == 0) {
      return fail("requests", "got " +
                                  (n.IsSequence() ? std::string("an empty list") : describe(n)) +
                                  "; expected a list of " + expected_item +
                                  " (leave requests out for one GET of the target URL)");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string path = item("requests", i);
      const YAML::Node& r = n[i];
      if (!r.IsMap()) return fail(path, "got " + describe(r) + "; expected " + expected_item);
      if (!check_keys(r, path, kRequestKeys)) return false;
      RequestSpec spec;
      for (const auto& kv : r) {
        const std::string key = kv.first.Scalar();
        const std::string p = child(path, key);
        if (key == "method") {
          std::string m;
          if (!read_scalar(kv.second, p, "one of " + join(kMethods), &m)) return false;
          spec.method = upper(trim(m));
          if (std::none_of(kMethods.begin(), kMethods.end(),
                           [&](const char* a) { return spec.method == a; })) {
            return fail(p, "got " + quote(m) + "; expected one of " + join(kMethods));
          }
        } else if (key == "path") {
          const std::string expected = "a path starting with '/', like /items?id=1";
          if (!read_scalar(kv.second, p, expected, &spec.path)) return false;
          // "" is the default (the target URL's own path), so to_json output parses back.
          if (!spec.path.empty() && spec.path.front() != '/') {
            return fail(p, "got " + quote(spec.path) + "; expected " + expected);
          }
          if (has_space_or_control(spec.path)) {
            return fail(p, "got " + quote(spec.path) +
                               " with spaces or control characters; expected a percent-encoded "
                               "path like /search?q=a%20b");
          }
        } else if (key == "headers") {
          if (!read_headers(kv.second, p, &spec)) return false;
        } else if (key == "body") {
          if (!read_scalar(kv.second, p, "a string (quote JSON bodies: body: '{\"a\": 1}')",
                           &spec.body)) {
            return false;
          }
        } else if (key == "weight") {
          if (!read_uint(kv.second, p, 1, kMaxWeight, &spec.weight)) return false;
        }
      }
      w->requests.push_back(std::move(spec));
    }
    return true;
  }

  bool read_headers(const YAML::Node& n, const std::string& path, RequestSpec* spec) {
    if (!n.IsMap()) {
      return fail(path, "got " + describe(n) +
                            "; expected a map of header names to values, "
                            "like {Accept: application/json}");
    }
    std::vector<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        return fail(path, "got " + describe(kv.first) + " as a header name; expected a string");
      }
      const std::string name = kv.first.Scalar();
      const std::string p = child(path, name);
      if (name.find_first_of("\r\n") != std::string::npos) {
        return fail(path + "." + quote(name),
                    "header name contains CR or LF; expected a single-line header name");
      }
      const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
      });
      if (!token) {
        return fail(p, "invalid header name " + quote(name) +
                           "; expected letters, digits and !#$%&'*+-.^_`|~");
      }
      const std::string lname = lower(name);
      if (std::find(seen.begin(), seen.end(), lname) != seen.end()) {
        return fail(p, "given twice; give each header once");
      }
      seen.push_back(lname);
      if (lname == "host") {
        return fail(p, "set by the engine from the target URL; remove it");
      }
      if (lname == "content-length") {
        return fail(p, "set by the engine from the body; remove it");
      }
      if (lname == "transfer-encoding") {
        return fail(p, "not supported; the engine sends bodies with Content-Length, remove it");
      }
      std::string value;
      if (!read_scalar(kv.second, p, "a string value", &value)) return false;
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return fail(p, "value contains CR, LF or NUL; expected a single-line value");
      }
      spec->headers.emplace_back(name, std::move(value));
    }
    return true;
  }

  bool read_load(const YAML::Node& n, LoadSpec* l) {
    if (!n.IsMap()) {
      return fail("load", "got " + describe(n) + "; expected a map with keys " + join(kLoadKeys));
    }
    if (!check_keys(n, "load", kLoadKeys)) return false;
    std::optional<LoadMode> mode;
    std::optional<LoadMode> stage_mode;
    bool have_rate = false;
    bool have_duration = false;
    bool have_connections = false;
    constexpr Millis kNoLimit = Millis::max();
    const std::string positive = std::string("a duration > 0, ") + kDurationExamples;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "load." + key;
      const YAML::Node& v = kv.second;
      if (key == "mode") {
        std::string s;
        if (!read_scalar(v, p, "closed or open", &s)) return false;
        const std::string m = lower(trim(s));
        if (m == "closed") {
          mode = LoadMode::kClosed;
        } else if (m == "open") {
          mode = LoadMode::kOpen;
        } else {
          return fail(p, "got " + quote(s) +
                             "; expected closed (fixed connections) or open (fixed arrival rate)");
        }
      } else if (key == "connections") {
        have_connections = true;
        if (!read_uint(v, p, 1, kMaxConnections, &l->connections)) return false;
      } else if (key == "max_connections") {
        if (!read_uint(v, p, 1, kMaxConnections, &l->max_connections)) return false;
      } else if (key == "streams_per_connection") {
        if (!read_uint(v, p, 1, kMaxStreamsPerConnection, &l->streams_per_connection)) {
          return false;
        }
      } else if (key == "arrival") {
        std::string s;
        if (!read_scalar(v, p, "uniform or poisson", &s)) return false;
        const std::string a = lower(trim(s));
        if (a == "uniform") {
          l->arrival = Arrival::kUniform;
        } else if (a == "poisson") {
          l->arrival = Arrival::kPoisson;
        } else {
          return fail(p, "got " + quote(s) +
                             "; expected uniform (evenly spaced) or poisson (exponential gaps)");
        }
      } else if (key == "stages") {
        if (!read_stages(v, l, &stage_mode)) return false;
      } else if (key == "rate") {
        if (v.IsNull()) continue;  // `rate: null` (as in to_json of closed mode) means none
        std::string s;
        const std::string expected = "a number > 0 (requests/s over all agents)";
        if (!read_scalar(v, p, expected, &s)) return false;
        if (!parse_number(trim(s), &l->rate) || !(l->rate > 0)) {
          return fail(p, "got " + quote(s) + "; expected " + expected);
        }
        have_rate = true;
      } else if (key == "duration") {
        have_duration = true;
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->duration)) return false;
      } else if (key == "warmup") {
        if (!read_millis(v, p, Millis(0), kNoLimit, true,
                         std::string("a duration >= 0, ") + kDurationExamples, &l->warmup)) {
          return false;
        }
      } else if (key == "interval") {
        if (!read_millis(v, p, Millis(100), Millis(60'000), true, "a duration from 100ms to 60s",
                         &l->interval))
          return false;
      } else if (key == "connect_timeout") {
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->connect_timeout))
          return false;
      } else if (key == "request_timeout") {
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->request_timeout))
          return false;
      }
    }
    if (stage_mode) {
      // The stages' kind decides the mode; an explicit mode must agree.
      if (mode && *mode != *stage_mode) {
        return fail("load.stages",
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
      if (*stage_mode == LoadMode::kClosed && !have_connections)
        l->connections = std::max(most, 1u);
    }
    l->mode = mode.value_or(have_rate ? LoadMode::kOpen : LoadMode::kClosed);
    return check_load(*l);
  }

  // Only reads the keys; finalize_workload encodes the message (it needs the
  // files, and the CLI may still change the targets).
  bool read_grpc(const YAML::Node& n, GrpcSpec* g) {
    if (!n.IsMap()) {
      return fail("grpc", "got " + describe(n) + "; expected a map with keys " + join(kGrpcKeys));
    }
    if (!check_keys(n, "grpc", kGrpcKeys)) return false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "grpc." + key;
      const YAML::Node& v = kv.second;
      if (key == "method") {
        if (!read_string(v, p, &g->method)) return false;
      } else if (key == "proto_files" || key == "import_paths") {
        auto& list = key == "proto_files" ? g->proto_files : g->import_paths;
        if (v.IsScalar()) {
          list.push_back(v.Scalar());
          continue;
        }
        if (!v.IsSequence()) {
          return fail(p, "got " + describe(v) + "; expected a list of paths");
        }
        for (size_t i = 0; i < v.size(); ++i) {
          std::string path;
          if (!read_string(v[i], item(p, i), &path)) return false;
          list.push_back(std::move(path));
        }
      } else if (key == "message") {
        // A JSON string as it is, or a YAML mapping turned into JSON.
        if (v.IsScalar()) {
          g->message_json = v.Scalar();
        } else if (v.IsMap()) {
          g->message_json = yaml_to_json(v).dump();
        } else {
          return fail(p, "got " + describe(v) +
                             "; expected the request message as a JSON string or a YAML map");
        }
      } else if (key == "message_file") {
        if (!read_string(v, p, &g->message_file)) return false;
      } else if (key == "metadata") {
        if (!v.IsMap()) {
          return fail(p, "got " + describe(v) + "; expected a map of metadata names to values");
        }
        for (const auto& m : v) {
          std::string value;
          if (!read_string(m.second, p + "." + m.first.Scalar(), &value)) return false;
          g->metadata.emplace_back(m.first.Scalar(), std::move(value));
        }
      } else if (key == "deadline") {
        if (!read_millis(v, p, Millis(1), Millis(24LL * 3600 * 1000), true,
                         std::string("a duration from 1ms to 24h, ") + kDurationExamples,
                         &g->deadline)) {
          return false;
        }
      }
    }
    return true;
  }

  // Plain scalars get their YAML type (true, 3, 1.5, null); quoted ones stay strings,
  // so `text: "123"` reaches a string field as a string.
  static nlohmann::json yaml_to_json(const YAML::Node& n) {
    if (n.IsMap()) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : n) out[kv.first.Scalar()] = yaml_to_json(kv.second);
      return out;
    }
    if (n.IsSequence()) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : n) out.push_back(yaml_to_json(item));
      return out;
    }
    if (!n.IsScalar()) return nullptr;
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return s;  // quoted
    if (s == "true" || s == "false") return s == "true";
    if (s == "null" || s == "~") return nullptr;
    double d = 0;
    if (parse_number(s, &d) && std::isfinite(d)) {
      uint64_t u = 0;
      if (parse_uint(s, &u)) return u;
      if (s.front() == '-' && parse_uint(std::string_view(s).substr(1), &u) &&
          u <= static_cast<uint64_t>(INT64_MAX)) {
        return -static_cast<int64_t>(u);
      }
      return d;
    }
    return s;
  }

  bool read_thresholds(const YAML::Node& n, Workload* w) {
    if (!n.IsSequence()) {
      return fail("thresholds", "got " + describe(n) + "; expected a list of " + kThresholdForm);
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = item("thresholds", i);
      std::string s;
      if (!read_scalar(n[i], p, kThresholdForm, &s)) return false;
      auto t = parse_threshold(s);
      if (!t) return fail(p, t.error().message);
      w->thresholds.push_back(std::move(t).value());
    }
    return true;
  }

  bool read_builtin(const YAML::Node& n, Workload* w) {
    BuiltinTarget b;
    // `builtin_target:` alone (null) or `true` means the defaults.
    if (n.IsNull()) {
      w->builtin_target = b;
      return true;
    }
    if (n.IsScalar()) {
      const std::string s = lower(trim(n.Scalar()));
      if (s == "true") {
        w->builtin_target = b;
        return true;
      }
      if (s == "false") return true;
    }
    if (!n.IsMap()) {
      return fail("builtin_target", "got " + describe(n) + "; expected a map with keys " +
                                        join(kBuiltinKeys) + ", or nothing for the defaults");
    }
    if (!check_keys(n, "builtin_target", kBuiltinKeys)) return false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "builtin_target." + key;
      if (key == "instances") {
        if (!read_uint(kv.second, p, 1, kMaxInstances, &b.instances)) return false;
      } else if (key == "workers") {
        if (!read_uint(kv.second, p, 1, kMaxWorkers, &b.workers)) return false;
      } else if (key == "service_time") {
        if (!read_millis(kv.second, p, Millis(0), Millis::max(), false,
                         std::string("a duration > 0, like 2ms"), &b.service_time)) {
          return false;
        }
      } else if (key == "contention" || key == "crosstalk") {
        double v = -1;
        const double hi = key == "contention" ? 0.999 : 1.0;
        if (!kv.second.IsScalar() || !parse_number(kv.second.Scalar(), &v) || v < 0 || v > hi) {
          return fail(p, "got " + describe(kv.second) + "; expected a number from 0 to " +
                             (key == "contention" ? std::string("below 1 (e.g. 0.1)")
                                                  : std::string("1 (e.g. 0.001)")));
        }
        (key == "contention" ? b.contention : b.crosstalk) = v;
      }
    }
    w->builtin_target = b;
    return true;
  }

  std::string source_;
  Error error_;
};

}  // namespace

Result<bool> read_workload_yaml(const YAML::Node& root, const std::string& source, Workload* w) {
  if (root.IsNull()) {
    return Error{source + ": top level: empty; expected a map with keys " + join(kTopKeys)};
  }
  WorkloadReader reader(source);
  if (!reader.read(root, w)) return reader.error();
  return true;
}

Result<bool> check_load(const LoadSpec& l, const std::string& source) {
  WorkloadReader reader(source);
  if (!reader.check_load(l)) return reader.error();
  return true;
}

}  // namespace horde
