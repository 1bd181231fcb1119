// Reading the workload file's experiment sections - `sweep:`, `capacity:` and
// `tolerate_lost_agents:` - with the same error form as the rest of the file:
// `<source>: <field path>: got X; expected Y`. Called by common/workload_yaml.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "common/result.h"
#include "common/workload.h"

namespace horde {

Result<bool> read_sweep_yaml(const YAML::Node& n, const std::string& source, Sweep* out);
Result<bool> read_capacity_yaml(const YAML::Node& n, const std::string& source,
                                CapacitySearch* out);
// Cross-checks once the whole file is read (sweep vs load mode, targets, ...).
Result<bool> check_sweep(const Workload& w, const std::string& source);

}  // namespace horde
