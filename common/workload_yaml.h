// Reading the workload file's YAML tree into a Workload, field by field, with
// errors that name the field path and what is expected. Internal to common/:
// the public entry points are parse_workload and finalize_workload in
// common/workload.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "common/result.h"
#include "common/workload.h"

namespace horde {

// Reads one parsed document into *w (whose defaults are already set); the
// first problem found is returned as `<source>: <field path>: <what>`.
Result<bool> read_workload_yaml(const YAML::Node& root, const std::string& source, Workload* w);
// The load rules that still apply after CLI overrides (see finalize_workload).
Result<bool> check_load(const LoadSpec& l, const std::string& source);

}  // namespace horde
