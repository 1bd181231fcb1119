// Reading the workload file's YAML tree into a Workload, field by field, with
// errors that name the field path and what is expected. One file per section:
// workload_yaml.cc (the top level, targets, thresholds, builtin_target, tls),
// load_yaml.cc, request_yaml.cc, grpc_yaml.cc, sweep_yaml.cc and spread_yaml.cc; they only map
// YAML to structs, the load rules are common/load_validate.h's. Internal to
// common/: the public entry points are parse_workload and finalize_workload in
// common/workload.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/load_validate.h"
#include "common/result.h"
#include "common/workload.h"

namespace horde {

class YamlReader;

// Reads one parsed document into *w (whose defaults are already set); the
// first problem found is returned as `<source>: <field path>: <what>`.
Result<bool> read_workload_yaml(const YAML::Node& root, const std::string& source, Workload* w);
// The load rules that still apply after CLI overrides (see finalize_workload).
Result<bool> check_load(const LoadSpec& l, const std::string& source, LoadCheck how = {});

// The sections. Each returns false after storing the first problem in `r`.
// `rate_searched`: the file has a `capacity:` section (see LoadCheck).
bool read_load_yaml(YamlReader& r, const YAML::Node& n, bool rate_searched, LoadSpec* l);
bool read_requests_yaml(YamlReader& r, const YAML::Node& n, Workload* w);
// `baseline:` (baseline_yaml.cc): dir required, tolerance per metric, alpha.
bool read_baseline_yaml(YamlReader& r, const YAML::Node& n, BaselineSpec* b);
// One of the top-level keys resolve, dns_refresh, backend, spread_warning.
bool read_spread_key(YamlReader& r, const std::string& key, const YAML::Node& v, SpreadSpec* s);
// `observe:` (observe_yaml.cc): a list of sources, each checked whole.
bool read_observe_yaml(YamlReader& r, const YAML::Node& n, std::vector<ObserveSource>* out);
// `data:` (data_yaml.cc): each set read from its file (relative to the
// workload file) and bounded (kMaxDataBytes over all of them).
bool read_data_yaml(YamlReader& r, const YAML::Node& n, std::vector<DataSet>* out);
// Every template in `requests` parsed and bound to w.data, the values of the
// columns it uses fit where they go, HTTP/1.1 and HTTP/2, not gRPC (finalize_workload).
Result<bool> check_templates(const Workload& w, const std::string& src);
// Only reads the keys; finalize_workload encodes the message.
bool read_grpc_yaml(YamlReader& r, const YAML::Node& n, GrpcSpec* g);

}  // namespace horde
