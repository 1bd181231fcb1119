// The "Where the load went" section of report.html: per phase with more than
// one backend, each backend's share of the requests over time (from
// backends.csv) and a table of its totals (from summary.json). A phase where
// one backend answered gets a line saying so, since that is what a user most
// needs to see before trusting a verdict on N instances.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace horde {

std::string backends_section(const nlohmann::json& summary, const std::string& results_dir);

}  // namespace horde
