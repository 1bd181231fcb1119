#include "common/workload.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/grpc_message.h"
#include "common/grpc_template.h"
#include "common/sweep_yaml.h"
#include "common/text.h"
#include "common/tolerance.h"
#include "common/workload_yaml.h"

namespace horde {

namespace {

// "dir/quickstart.yaml" -> "quickstart": the default workload name.
std::string name_from_source(const std::string& source) {
  std::string base = source.substr(source.find_last_of('/') + 1);
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    if (base.size() > std::strlen(ext) && base.ends_with(ext)) {
      return base.substr(0, base.size() - std::strlen(ext));
    }
  }
  return "";
}

// The protocol follows from the targets' scheme; `protocol:` only chooses
// HTTP/2 for https:// (ALPN h2). Every target must speak the same protocol.
Result<bool> resolve_protocol(Workload& w, const std::string& src) {
  if (w.targets.empty()) return true;  // builtin_target: HTTP/1.1
  const Protocol asked = w.protocol;
  for (const Url& u : w.targets) {
    Protocol p = asked;
    if (u.scheme == "h2c") {
      if (asked == Protocol::kGrpc) {
        return Error{src + ": protocol: grpc with " + u.text + "; use a grpc:// target"};
      }
      p = Protocol::kHttp2;
    } else if (u.scheme == "grpc" || u.scheme == "grpcs") {
      if (asked == Protocol::kHttp2) {
        return Error{src + ": protocol: http2 with " + u.text +
                     "; use h2c:// or https:// for plain HTTP/2, or leave protocol out"};
      }
      p = Protocol::kGrpc;
    } else if (asked == Protocol::kGrpc) {
      return Error{src + ": protocol: grpc with " + u.text +
                   "; gRPC targets are grpc://host:port (cleartext) or grpcs://host:port (TLS)"};
    } else if (asked == Protocol::kHttp2 && u.scheme == "http") {
      return Error{src + ": protocol: http2 with " + u.text +
                   "; cleartext HTTP/2 targets are h2c://host:port (prior knowledge)"};
    }
    if (&u != &w.targets.front() && p != w.protocol) {
      return Error{src + ": targets: " + u.text + " speaks " + protocol_name(p) + " but " +
                   w.targets.front().text + " speaks " + protocol_name(w.protocol) +
                   "; give targets of one protocol"};
    }
    w.protocol = p;
  }
  return true;
}

// protocol grpc: the one request is the `grpc:` call, encoded here on the
// controller so agents never need the .proto files.
Result<bool> make_grpc_request(Workload& w, const std::string& src) {
  if (w.protocol != Protocol::kGrpc) {
    if (w.grpc) {
      return Error{src + ": grpc: given, but the target speaks " + protocol_name(w.protocol) +
                   "; use a grpc://host:port or grpcs://host:port target"};
    }
    return true;
  }
  if (!w.grpc || w.grpc->method.empty()) {
    return Error{src +
                 ": grpc.method: missing; a grpc:// target needs the method to call, "
                 "like grpc: {method: /package.Service/Method}"};
  }
  const size_t slash = src.find_last_of('/');
  const std::string base_dir = slash == std::string::npos ? "" : src.substr(0, slash);
  // The framed message as template source (escaped bytes, with groups where
  // grpc.message has templates).
  auto body = grpc_body_template(*w.grpc, base_dir);
  if (!body) return Error{src + ": " + body.error().message};
  if (body->size() > (1u << 20)) {
    return Error{src + ": grpc.message: encodes to " + std::to_string(body->size()) +
                 " bytes; expected at most 1 MiB (it travels to every agent)"};
  }
  auto request = grpc_request(*w.grpc, "");
  if (!request) return Error{src + ": " + request.error().message};
  request->body = std::move(*body);
  w.requests = {std::move(*request)};
  return true;
}

}  // namespace

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kHttp2:
      return "http2";
    case Protocol::kGrpc:
      return "grpc";
    case Protocol::kHttp1:
      break;
  }
  return "http1";
}

bool protocol_from_name(const std::string& name, Protocol* out) {
  for (Protocol p : {Protocol::kHttp1, Protocol::kHttp2, Protocol::kGrpc}) {
    if (name == protocol_name(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

Result<Workload> parse_workload(const std::string& text, const std::string& source) {
  const std::string src = source.empty() ? "workload" : source;
  // Every string ends up in summary.json, whose writer throws on invalid UTF-8
  // (found by fuzz/workload_fuzz.cc): refuse such a file here, at the edge.
  if (const size_t bad = text::invalid_utf8_at(text); bad != std::string::npos) {
    return Error{src + ": byte " + std::to_string(bad) +
                 " is not valid UTF-8; expected YAML or JSON text in UTF-8"};
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return Error{src + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                 std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg +
                 "; expected YAML or JSON"};
  } catch (const std::exception& e) {
    return Error{src + ": cannot parse: " + e.what() + "; expected YAML or JSON"};
  }
  Workload w;
  w.name = name_from_source(src);
  try {
    if (auto ok = read_workload_yaml(root, src, &w); !ok) return ok.error();
  } catch (const std::exception& e) {
    // yaml-cpp should not throw on the accessors used above; stay total anyway.
    return Error{src + ": cannot read: " + e.what()};
  }
  return w;
}

Result<Workload> load_workload_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Error{path + ": cannot read file: " + std::strerror(errno)};
  std::string text;
  char buf[8192];
  constexpr size_t kMaxSize = 16 << 20;
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxSize) {
      std::fclose(f);
      return Error{path + ": cannot read file: larger than 16 MiB; expected a workload file"};
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Error{path + ": cannot read file: " + std::strerror(err)};
  return parse_workload(text, path);
}

std::string request_name(const RequestSpec& r) {
  return r.name.empty() ? r.method + " " + (r.path.empty() ? std::string("/") : r.path) : r.name;
}

std::vector<std::string> request_names(const std::vector<RequestSpec>& requests) {
  std::vector<std::string> names;
  bool named = false;
  for (const RequestSpec& r : requests) {
    named = named || !r.name.empty();
    std::string n = request_name(r);
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
  }
  // Many distinct paths and no `name:` (a URL list): one name for all of them,
  // not an error; with names given, more than the limit is one (finalize_workload).
  if (!named && names.size() > kMaxRequestNames) return {std::string(kAllRequests)};
  return names;
}

std::vector<std::string> request_names(const Workload& w) { return request_names(w.requests); }

namespace {

// Numbers the requests' names (same name, same index), at most kMaxRequestNames,
// and checks that every threshold's {name:...} selector names one of them.
Result<bool> number_request_names(Workload& w, const std::string& src) {
  const std::vector<std::string> names = request_names(w.requests);
  if (names.size() > kMaxRequestNames) {
    return Error{src + ": requests: " + std::to_string(names.size()) +
                 " distinct request names; expected at most " + std::to_string(kMaxRequestNames) +
                 " (each has its own histogram in every agent thread); give requests that belong "
                 "together the same `name:`"};
  }
  for (RequestSpec& r : w.requests) {
    const auto it = std::find(names.begin(), names.end(), request_name(r));
    r.name_index = it == names.end() ? 0 : static_cast<uint16_t>(it - names.begin());
  }
  const auto check = [&](const std::vector<Threshold>& ts, const std::string& field) {
    for (const Threshold& t : ts) {
      if (t.name.empty() || std::find(names.begin(), names.end(), t.name) != names.end()) continue;
      std::vector<std::string> quoted;
      for (const std::string& n : names) quoted.push_back(text::quote(n));
      return Result<bool>{
          Error{fmt::format("{}: {}: {}: no request is named {}; the names are {}", src, field,
                            text::quote(t.text), text::quote(t.name), fmt::join(quoted, ", "))}};
    }
    return Result<bool>{true};
  };
  if (auto ok = check(w.thresholds, "thresholds"); !ok) return ok;
  if (w.capacity) {
    for (const Threshold& t : w.capacity->slo) {
      if (!t.name.empty()) {
        return Error{src + ": capacity.slo: " + text::quote(t.text) +
                     ": a capacity search judges all requests; {name:...} selectors are for "
                     "`thresholds:`"};
      }
    }
  }
  return true;
}

}  // namespace

Result<Workload> finalize_workload(Workload w, const std::string& source) {
  const std::string src = source.empty() ? "workload" : source;
  if (w.targets.empty() && !w.builtin_target) {
    return Error{src + ": target: missing; give `target: http://host:port/` or `builtin_target:`"};
  }
  if (w.targets.size() > kMaxTargets) {  // the file is checked as it is read; flags here
    return Error{src + ": targets: got " + std::to_string(w.targets.size()) +
                 " URLs; expected at most " + std::to_string(kMaxTargets) + " (the agents' limit)"};
  }
  if (auto ok = resolve_protocol(w, src); !ok) return ok.error();
  if (w.protocol == Protocol::kHttp1 && w.load.streams_per_connection != 1) {
    return Error{src +
                 ": load.streams_per_connection: HTTP/1.1 has one request per connection "
                 "at a time; remove it, or use an h2c:// or grpc:// target (or protocol: http2 "
                 "with https://)"};
  }
  if (auto ok = make_grpc_request(w, src); !ok) return ok.error();
  if (w.requests.empty()) w.requests.push_back(RequestSpec{});
  if (auto ok = number_request_names(w, src); !ok) return ok.error();
  if (auto ok = check_templates(w, src); !ok) return ok.error();
  const LoadCheck how{.rate_searched = w.capacity.has_value()};
  if (auto ok = check_load(w.load, src, how); !ok) return ok.error();
  if (auto ok = check_sweep(w, src); !ok) return ok.error();
  return w;
}

nlohmann::json to_json(const Workload& w) {
  using nlohmann::json;
  json targets = json::array();
  for (const Url& u : w.targets) targets.push_back(u.text);
  json requests = json::array();
  for (const RequestSpec& r : w.requests) {
    json headers = json::object();
    for (const auto& [k, v] : r.headers) headers[k] = v;
    requests.push_back({{"method", r.method},
                        {"path", r.path},
                        {"headers", headers},
                        {"body", r.body},
                        {"weight", r.weight}});
    if (!r.name.empty()) requests.back()["name"] = r.name;
    if (!r.expect_status.empty()) requests.back()["expect"]["status"] = r.expect_status;
    if (!r.expect_body.empty()) requests.back()["expect"]["body_contains"] = r.expect_body;
  }
  const LoadSpec& l = w.load;
  json load = {{"mode", l.mode == LoadMode::kOpen ? "open" : "closed"},
               {"connections", l.connections},
               {"rate", l.mode == LoadMode::kOpen && l.rate > 0 ? json(l.rate) : json(nullptr)},
               {"duration", format_duration(l.duration)},
               {"warmup", format_duration(l.warmup)},
               {"interval", format_duration(l.interval)},
               {"connect_timeout", format_duration(l.connect_timeout)},
               {"request_timeout", format_duration(l.request_timeout)},
               {"arrival", l.arrival == Arrival::kPoisson ? "poisson" : "uniform"}};
  if (l.max_connections > 0) load["max_connections"] = l.max_connections;
  if (l.streams_per_connection != 1) load["streams_per_connection"] = l.streams_per_connection;
  if (l.connection_max_requests != 0) load["connection_max_requests"] = l.connection_max_requests;
  if (l.connection_max_age.count() != 0) {
    load["connection_max_age"] = format_duration(l.connection_max_age);
  }
  if (!l.keep_alive) load["keep_alive"] = false;
  if (!l.stages.empty()) {
    json stages = json::array();
    for (const Stage& st : l.stages) {
      json j = {{"duration", format_duration(st.duration)}};
      if (l.mode == LoadMode::kOpen) {
        j["rate"] = st.rate;
      } else {
        j["connections"] = st.connections;
      }
      stages.push_back(std::move(j));
    }
    load["stages"] = stages;
    load.erase("duration");  // the stages are the duration
    load.erase("warmup");
    if (l.mode == LoadMode::kOpen) load.erase("rate");
  }
  json thresholds = json::array();
  for (const Threshold& t : w.thresholds) thresholds.push_back(t.text);
  json out = {{"name", w.name},       {"targets", targets}, {"protocol", protocol_name(w.protocol)},
              {"requests", requests}, {"load", load},       {"thresholds", thresholds}};
  // Left out when unset so the JSON parses back to the same workload
  // (`builtin_target:` with no value means "the defaults").
  if (w.builtin_target) {
    out["builtin_target"] = {{"instances", w.builtin_target->instances},
                             {"workers", w.builtin_target->workers},
                             {"service_time", format_duration(w.builtin_target->service_time)},
                             {"contention", w.builtin_target->contention},
                             {"crosstalk", w.builtin_target->crosstalk},
                             {"lock", w.builtin_target->lock}};
  }
  if (w.tls.insecure_skip_verify || !w.tls.ca_file.empty() || !w.tls.server_name.empty()) {
    json tls = {{"insecure_skip_verify", w.tls.insecure_skip_verify}};
    if (!w.tls.ca_file.empty()) tls["ca_file"] = w.tls.ca_file;
    if (!w.tls.server_name.empty()) tls["server_name"] = w.tls.server_name;
    out["tls"] = tls;
  }
  if (w.baseline) {
    json tolerance = json::object();
    for (const auto& [k, v] : w.baseline->tolerance) tolerance[k] = format_tolerance(k, v);
    out["baseline"] = {
        {"dir", w.baseline->dir}, {"tolerance", tolerance}, {"alpha", w.baseline->alpha}};
  }
  if (!w.sweep.empty()) {
    json sweep = {{"min_efficiency", w.sweep.min_efficiency},
                  {"require_even_spread", w.sweep.require_even_spread}};
    if (!w.sweep.agents.empty()) sweep["agents"] = w.sweep.agents;
    if (!w.sweep.rates.empty()) sweep["rates"] = w.sweep.rates;
    if (!w.sweep.instances.empty()) sweep["instances"] = w.sweep.instances;
    if (!w.sweep.scale_command.empty()) sweep["scale_command"] = w.sweep.scale_command;
    if (w.sweep.cores_available) sweep["cores_available"] = *w.sweep.cores_available;
    if (w.sweep.ready) {
      json ready = {{"timeout", format_duration(w.sweep.ready->timeout)}};
      if (!w.sweep.ready->url.empty()) ready["url"] = w.sweep.ready->url;
      if (!w.sweep.ready->command.empty()) ready["command"] = w.sweep.ready->command;
      sweep["ready"] = ready;
    }
    out["sweep"] = sweep;
  }
  if (!w.observe.empty()) {
    json observe = json::array();
    for (const ObserveSource& o : w.observe) {
      json j = {{"name", o.name}, {"unit", unit_name(o.unit)}};
      if (o.scrape) {
        j["scrape"] = o.scrape->text;
        j["metric"] = o.metric;
        if (!o.match.empty()) {
          json match = json::object();
          for (const auto& [k, v] : o.match) match[k] = v;
          j["match"] = match;
        }
        j["rate"] = o.rate;
      } else {
        j["prometheus"] = o.prometheus->text;
        j["query"] = o.query;
      }
      observe.push_back(std::move(j));
    }
    out["observe"] = std::move(observe);
  }
  if (w.capacity) {
    const CapacitySearch& c = *w.capacity;
    json slo = json::array();
    for (const Threshold& t : c.slo) slo.push_back(t.text);
    out["capacity"] = {{"slo", slo},
                       {"start_rate", c.start_rate},
                       {"max_rate", c.max_rate},
                       {"hold", format_duration(c.hold)},
                       {"precision", c.precision},
                       {"min_achieved", c.min_achieved},
                       {"max_steps", c.max_steps}};
    if (c.step > 0) {
      out["capacity"]["step"] = c.step;
    } else {
      out["capacity"]["factor"] = c.factor;
    }
  }
  if (w.grpc) {
    const GrpcSpec& g = *w.grpc;
    json grpc = {{"method", g.method}};
    if (!g.proto_files.empty()) grpc["proto_files"] = g.proto_files;
    if (!g.import_paths.empty()) grpc["import_paths"] = g.import_paths;
    if (!g.message_json.empty()) grpc["message"] = g.message_json;
    if (!g.message_file.empty()) grpc["message_file"] = g.message_file;
    if (!g.metadata.empty()) {
      json metadata = json::object();
      for (const auto& [k, v] : g.metadata) metadata[k] = v;
      grpc["metadata"] = metadata;
    }
    if (g.deadline.count() > 0) grpc["deadline"] = format_duration(g.deadline);
    out["grpc"] = grpc;
    out.erase("requests");  // made from `grpc:`; its body is binary, not JSON text
  }
  if (w.faults.tolerate_lost_agents > 0) {
    out["tolerate_lost_agents"] = w.faults.tolerate_lost_agents;
  }
  if (w.faults.rebalance) out["rebalance"] = true;
  out["resolve"] = w.spread.resolve_first ? "first" : "all";
  out["dns_refresh"] = format_duration(w.spread.dns_refresh);
  if (!w.spread.backend_header.empty()) {
    out["backend"] = {{"header", w.spread.backend_header}};
  }
  out["spread_warning"] = w.spread.spread_warning;
  if (!w.data.empty()) {
    json data = json::object();
    for (const DataSet& d : w.data) {
      data[d.name] = {{"file", d.file}, {"mode", data_mode_name(d.mode)}};
    }
    out["data"] = std::move(data);
  }
  return out;
}
}  // namespace horde
