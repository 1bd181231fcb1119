#include "common/workload_yaml.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>

#include "common/load_validate.h"
#include "common/sweep_yaml.h"
#include "common/text.h"
#include "common/yaml_reader.h"

namespace horde {

namespace {

using text::has_space_or_control;
using text::join;
using text::lower;
using text::parse_number;
using text::quote;
using text::trim;

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
                                                     "grpc",
                                                     "baseline",
                                                     "resolve",
                                                     "dns_refresh",
                                                     "backend",
                                                     "spread_warning",
                                                     "observe",
                                                     "data"};
const std::initializer_list<const char*> kTlsKeys = {"insecure_skip_verify", "ca_file",
                                                     "server_name"};
constexpr size_t kMaxCaFileBytes = 1 << 20;
const std::initializer_list<const char*> kBuiltinKeys = {"instances",  "workers",   "service_time",
                                                         "contention", "crosstalk", "lock"};
constexpr uint32_t kMaxInstances = 1'000;
constexpr uint32_t kMaxWorkers = 10'000;

bool read_targets(YamlReader& r, const YAML::Node& n, Workload* w) {
  if (!n.IsSequence()) {
    return r.fail("targets", "got " + yaml_describe(n) + "; expected a list of URLs like [" +
                                 kUrlForm + ", ...]");
  }
  if (n.size() > kMaxTargets) {
    return r.fail("targets", "got " + std::to_string(n.size()) + " URLs; expected at most " +
                                 std::to_string(kMaxTargets) +
                                 " (the agents' limit); give fewer targets, or one name that "
                                 "resolves to many addresses");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    Url url;
    if (!r.read_url(n[i], yaml_item("targets", i), &url)) return false;
    w->targets.push_back(std::move(url));
  }
  return true;
}

bool read_thresholds(YamlReader& r, const YAML::Node& n, Workload* w) {
  if (!n.IsSequence()) {
    return r.fail("thresholds",
                  "got " + yaml_describe(n) + "; expected a list of " + kThresholdForm);
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = yaml_item("thresholds", i);
    std::string s;
    if (!r.read_scalar(n[i], p, kThresholdForm, &s)) return false;
    auto t = parse_threshold(s);
    if (!t) return r.fail(p, t.error().message);
    w->thresholds.push_back(std::move(t).value());
  }
  return true;
}

bool read_builtin(YamlReader& r, const YAML::Node& n, Workload* w) {
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
    return r.fail("builtin_target", "got " + yaml_describe(n) + "; expected a map with keys " +
                                        join(kBuiltinKeys) + ", or nothing for the defaults");
  }
  if (!r.check_keys(n, "builtin_target", kBuiltinKeys)) return false;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = "builtin_target." + key;
    if (key == "instances") {
      if (!r.read_uint(kv.second, p, 1, kMaxInstances, &b.instances)) return false;
    } else if (key == "workers") {
      if (!r.read_uint(kv.second, p, 1, kMaxWorkers, &b.workers)) return false;
    } else if (key == "service_time") {
      if (!r.read_millis(kv.second, p, Millis(0), Millis::max(), false,
                         std::string("a duration > 0, like 2ms"), &b.service_time)) {
        return false;
      }
    } else if (key == "contention" || key == "crosstalk" || key == "lock") {
      double v = -1;
      const double hi = key == "contention" ? 0.999 : 1.0;
      if (!kv.second.IsScalar() || !parse_number(kv.second.Scalar(), &v) || v < 0 || v > hi) {
        return r.fail(p, "got " + yaml_describe(kv.second) + "; expected a number from 0 to " +
                             (key == "contention" ? std::string("below 1 (e.g. 0.1)")
                              : key == "lock"     ? std::string("1 (e.g. 0.25)")
                                                  : std::string("1 (e.g. 0.05)")));
      }
      (key == "contention" ? b.contention : key == "lock" ? b.lock : b.crosstalk) = v;
    }
  }
  w->builtin_target = b;
  return true;
}

bool read_ca_file(YamlReader& r, const std::string& p, TlsSpec* tls) {
  std::string path = tls->ca_file;
  const size_t slash = r.source().find_last_of('/');
  if (!path.empty() && path.front() != '/' && slash != std::string::npos) {
    path = r.source().substr(0, slash + 1) + path;
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return r.fail(p, "cannot read " + quote(path) + ": " + std::strerror(errno) +
                         "; expected a PEM file of CA certificates");
  }
  std::string pem;
  char buf[8192];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && pem.size() <= kMaxCaFileBytes) {
    pem.append(buf, got);
  }
  std::fclose(f);
  if (pem.size() > kMaxCaFileBytes) return r.fail(p, quote(path) + " is larger than 1 MiB");
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return r.fail(
        p, quote(path) + " holds no certificate; expected PEM (-----BEGIN CERTIFICATE-----)");
  }
  tls->ca_pem = std::move(pem);
  return true;
}

// The CA file is read here, at the edge, because its content travels to
// agents on other hosts. A relative path is relative to the workload file.
bool read_tls(YamlReader& r, const YAML::Node& n, TlsSpec* tls) {
  if (!n.IsMap()) {
    return r.fail("tls",
                  "got " + yaml_describe(n) + "; expected a map with keys " + join(kTlsKeys));
  }
  if (!r.check_keys(n, "tls", kTlsKeys)) return false;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = "tls." + key;
    if (key == "insecure_skip_verify") {
      if (!r.read_bool(kv.second, p, &tls->insecure_skip_verify)) return false;
    } else if (key == "server_name") {
      if (!r.read_string(kv.second, p, &tls->server_name)) return false;
      if (tls->server_name.empty() || tls->server_name.size() > 255 ||
          has_space_or_control(tls->server_name)) {
        return r.fail(p, "got " + quote(tls->server_name) + "; expected a host name");
      }
    } else if (key == "ca_file") {
      if (!r.read_string(kv.second, p, &tls->ca_file)) return false;
      if (!read_ca_file(r, p, tls)) return false;
    }
  }
  return true;
}

bool read_root(YamlReader& r, const YAML::Node& root, Workload* w) {
  if (!root.IsMap()) {
    return r.fail("top level",
                  "got " + yaml_describe(root) + "; expected a map with keys " + join(kTopKeys));
  }
  if (!r.check_keys(root, "", kTopKeys)) return false;
  bool have_target = false;
  bool have_builtin = false;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "name") {
      if (!r.read_string(v, "name", &w->name)) return false;
    } else if (key == "target") {
      if (have_target) return r.fail("target", "given together with targets; give only one");
      have_target = true;
      Url url;
      if (!r.read_url(v, "target", &url)) return false;
      w->targets.push_back(std::move(url));
    } else if (key == "targets") {
      if (have_target) return r.fail("targets", "given together with target; give only one");
      have_target = true;
      if (!read_targets(r, v, w)) return false;
    } else if (key == "requests") {
      if (!read_requests_yaml(r, v, w)) return false;
    } else if (key == "load") {
      if (!read_load_yaml(r, v, static_cast<bool>(root["capacity"]), &w->load)) return false;
    } else if (key == "thresholds") {
      if (!read_thresholds(r, v, w)) return false;
    } else if (key == "builtin_target") {
      have_builtin = true;
      if (!read_builtin(r, v, w)) return false;
    } else if (key == "tls") {
      if (!read_tls(r, v, &w->tls)) return false;
    } else if (key == "sweep") {
      if (auto ok = read_sweep_yaml(v, r.source(), &w->sweep); !ok) return r.fail_with(ok.error());
    } else if (key == "capacity") {
      w->capacity.emplace();
      if (auto ok = read_capacity_yaml(v, r.source(), &*w->capacity); !ok) {
        return r.fail_with(ok.error());
      }
    } else if (key == "protocol") {
      std::string s;
      if (!r.read_scalar(v, "protocol", "http1, http2 or grpc", &s)) return false;
      if (!protocol_from_name(lower(trim(s)), &w->protocol)) {
        return r.fail("protocol", "got " + quote(s) +
                                      "; expected http1, http2 (h2c:// or https:// with ALPN h2) "
                                      "or grpc (grpc:// or grpcs://)");
      }
    } else if (key == "grpc") {
      w->grpc.emplace();
      if (!read_grpc_yaml(r, v, &*w->grpc)) return false;
    } else if (key == "tolerate_lost_agents") {
      if (!r.read_uint(v, "tolerate_lost_agents", 0, 100'000, &w->faults.tolerate_lost_agents)) {
        return false;
      }
    } else if (key == "baseline") {
      w->baseline.emplace();
      if (!read_baseline_yaml(r, v, &*w->baseline)) return false;
    } else if (key == "observe") {
      if (!read_observe_yaml(r, v, &w->observe)) return false;
    } else if (key == "data") {
      if (!read_data_yaml(r, v, &w->data)) return false;
    } else if (key == "rebalance") {
      if (!r.read_bool(v, "rebalance", &w->faults.rebalance)) return false;
    } else if (key == "resolve" || key == "dns_refresh" || key == "backend" ||
               key == "spread_warning") {
      if (!read_spread_key(r, key, v, &w->spread)) return false;
    }
  }
  // Handing a lost agent's connections to the survivors would have to rescale
  // every later stage of each survivor's connection ramp; not built (yet).
  if (w->faults.rebalance && w->load.mode == LoadMode::kClosed && !w->load.stages.empty()) {
    return r.fail("rebalance",
                  "not supported for closed loop with load.stages (connection ramps); use "
                  "constant load.connections, an open-loop workload, or remove rebalance");
  }
  if (w->grpc && root["requests"]) {
    return r.fail("requests",
                  "not used with grpc: (the call is grpc.method with grpc.message); "
                  "remove requests");
  }
  if (have_builtin && w->builtin_target && !w->targets.empty()) {
    return r.fail("builtin_target",
                  "given together with target(s); builtin_target starts the sample service and "
                  "aims at it, so give only one");
  }
  if (w->requests.empty()) w->requests.push_back(RequestSpec{});
  return true;
}

}  // namespace

Result<bool> read_workload_yaml(const YAML::Node& root, const std::string& source, Workload* w) {
  if (root.IsNull()) {
    return Error{source + ": top level: empty; expected a map with keys " + join(kTopKeys)};
  }
  YamlReader reader(source);
  if (!read_root(reader, root, w)) return reader.error();
  return true;
}

Result<bool> check_load(const LoadSpec& l, const std::string& source, LoadCheck how) {
  if (auto ok = validate(l, how); !ok) return Error{source + ": " + ok.error().message};
  return true;
}

}  // namespace horde
