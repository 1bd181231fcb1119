#include "controller/sweep_result.h"

namespace horde {

namespace {

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

nlohmann::json Scalability::to_json() const {
  nlohmann::json fit = nullptr;
  if (usl) {
    fit = {{"sigma", usl->sigma},
           {"kappa", usl->kappa},
           {"lambda", usl->lambda},
           {"r2", usl->r2},
           {"peak_n", or_null(usl->peak_n)},
           {"peak_rps", usl->peak_n ? nlohmann::json(usl->peak_throughput) : nlohmann::json()}};
  }
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : points) {
    pts.push_back({{"n", p.n},
                   {"capacity_rps", p.capacity_rps},
                   {"efficiency", p.efficiency},
                   {"p99_ms", p.p99_ms},
                   {"phase", p.phase}});
  }
  return {{"kind", kind},       {"points", pts},   {"usl", fit}, {"min_efficiency", min_efficiency},
          {"verdict", verdict}, {"passed", passed}};
}

nlohmann::json CapacityResult::to_json() const {
  return {{"instances", or_null(instances)},
          {"agents", agents},
          {"steps", steps},
          {"highest_good_rate", or_null(highest_good_rate)},
          {"lowest_bad_rate", or_null(lowest_bad_rate)},
          {"capacity_rps", capacity_rps},
          {"p99_ms", or_null(p99_ms)},
          {"phase", or_null(phase)}};
}

nlohmann::json to_json(const std::vector<CapacityResult>& searches) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : searches) out.push_back(s.to_json());
  return out;
}

}  // namespace horde
