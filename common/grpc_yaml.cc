#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

// `grpc:` - the unary call to make: method, .proto files, the message as JSON
// (or a YAML map turned into JSON) and metadata.

namespace horde {

namespace {

using text::join;
using text::parse_number;
using text::parse_uint;

const std::initializer_list<const char*> kGrpcKeys = {
    "method", "proto_files", "import_paths", "message", "message_file", "metadata", "deadline"};

// Plain scalars get their YAML type (true, 3, 1.5, null); quoted ones stay strings,
// so `text: "123"` reaches a string field as a string.
nlohmann::json scalar_to_json(const YAML::Node& n) {
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

// Every node is counted against the workload's size (YamlReader::charge) as
// it is visited: nested aliases (a list of ten aliases of a list of ten ...)
// expand exponentially, and the count stops the walk at the bound.
bool yaml_to_json(YamlReader& r, const std::string& path, const YAML::Node& n,
                  nlohmann::json* out) {
  // What the JSON tree holds for a value beyond its text: without it a tree of
  // millions of tiny values would pass the byte count and still take a gigabyte.
  constexpr size_t kNodeCost = 48;
  if (!r.charge(path, kNodeCost)) return false;
  if (n.IsMap()) {
    *out = nlohmann::json::object();
    for (const auto& kv : n) {
      if (!r.charge(path, kv.first.Scalar().size())) return false;
      if (!yaml_to_json(r, path, kv.second, &(*out)[kv.first.Scalar()])) return false;
    }
    return true;
  }
  if (n.IsSequence()) {
    *out = nlohmann::json::array();
    for (const auto& item : n) {
      out->push_back(nullptr);
      if (!yaml_to_json(r, path, item, &out->back())) return false;
    }
    return true;
  }
  if (!n.IsScalar()) {
    *out = nullptr;
    return true;
  }
  if (!r.charge(path, n.Scalar().size())) return false;
  *out = scalar_to_json(n);
  return true;
}

}  // namespace

// Only reads the keys; finalize_workload encodes the message (it needs the
// files, and the CLI may still change the targets).
bool read_grpc_yaml(YamlReader& r, const YAML::Node& n, GrpcSpec* g) {
  if (!n.IsMap()) {
    return r.fail("grpc",
                  "got " + yaml_describe(n) + "; expected a map with keys " + join(kGrpcKeys));
  }
  if (!r.check_keys(n, "grpc", kGrpcKeys)) return false;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string p = "grpc." + key;
    const YAML::Node& v = kv.second;
    if (key == "method") {
      if (!r.read_string(v, p, &g->method)) return false;
    } else if (key == "proto_files" || key == "import_paths") {
      auto& list = key == "proto_files" ? g->proto_files : g->import_paths;
      if (v.IsScalar()) {
        list.push_back(v.Scalar());
        continue;
      }
      if (!v.IsSequence()) {
        return r.fail(p, "got " + yaml_describe(v) + "; expected a list of paths");
      }
      for (size_t i = 0; i < v.size(); ++i) {
        std::string path;
        if (!r.read_string(v[i], yaml_item(p, i), &path)) return false;
        list.push_back(std::move(path));
      }
    } else if (key == "message") {
      // A JSON string as it is, or a YAML mapping turned into JSON.
      if (v.IsScalar()) {
        if (!r.charge(p, v.Scalar().size())) return false;
        g->message_json = v.Scalar();
      } else if (v.IsMap()) {
        nlohmann::json message;
        if (!yaml_to_json(r, p, v, &message)) return false;
        g->message_json = message.dump();
      } else {
        return r.fail(p, "got " + yaml_describe(v) +
                             "; expected the request message as a JSON string or a YAML map");
      }
    } else if (key == "message_file") {
      if (!r.read_string(v, p, &g->message_file)) return false;
    } else if (key == "metadata") {
      if (!v.IsMap()) {
        return r.fail(p,
                      "got " + yaml_describe(v) + "; expected a map of metadata names to values");
      }
      for (const auto& m : v) {
        std::string value;
        if (!r.read_string(m.second, p + "." + m.first.Scalar(), &value)) return false;
        g->metadata.emplace_back(m.first.Scalar(), std::move(value));
      }
    } else if (key == "deadline") {
      if (!r.read_millis(v, p, Millis(1), Millis(24LL * 3600 * 1000), true,
                         std::string("a duration from 1ms to 24h, ") + kDurationExamples,
                         &g->deadline)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace horde
