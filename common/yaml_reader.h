// The field readers every section of the workload file shares: scalars,
// bounded integers, durations, booleans, URLs and the unknown-key check, each
// storing the first problem as `<source>: <field path>: got X; expected Y`.
// Internal to common/: the section readers (common/*_yaml.cc) take one
// YamlReader, and stop at the first false it returns.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "common/duration.h"
#include "common/result.h"
#include "common/url.h"
#include "common/workload.h"

namespace horde {

// "nothing", "a list", "a map" or the quoted scalar: what a field got.
std::string yaml_describe(const YAML::Node& n);
// "load" + "rate" -> "load.rate" ("" + "name" -> "name").
std::string yaml_child(const std::string& path, const std::string& key);
// "requests" + 2 -> "requests[2]".
std::string yaml_item(const std::string& path, size_t i);

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  const Error& error() const { return error_; }

  // Each stores the error and returns false, so a reader can `return fail(...)`.
  bool fail_with(Error e);
  bool fail(const std::string& path, const std::string& what);

  // Every key a scalar, given once, and one of `allowed` (else a "did you mean").
  bool check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<const char*> allowed);
  bool read_scalar(const YAML::Node& n, const std::string& path, const std::string& expected,
                   std::string* out);
  bool read_string(const YAML::Node& n, const std::string& path, std::string* out);
  bool read_uint(const YAML::Node& n, const std::string& path, uint32_t lo, uint32_t hi,
                 uint32_t* out);
  // Millis fields: a duration with a unit, whole milliseconds, within [lo, hi]
  // (lo excluded unless lo_inclusive); `expected` describes that range.
  bool read_millis(const YAML::Node& n, const std::string& path, Millis lo, Millis hi,
                   bool lo_inclusive, const std::string& expected, Millis* out);
  bool read_url(const YAML::Node& n, const std::string& path, Url* out);
  bool read_bool(const YAML::Node& n, const std::string& path, bool* out);

  // Counts `bytes` more of the workload (read_scalar counts every scalar it
  // reads); false past kMaxWorkloadBytes. yaml-cpp shares an anchor's node
  // between its aliases, so only this count sees how large the file expands.
  bool charge(const std::string& path, size_t bytes);

 private:
  std::string source_;
  Error error_;
  size_t expanded_ = 0;
  static constexpr size_t kValueCost = 32;
};

}  // namespace horde
