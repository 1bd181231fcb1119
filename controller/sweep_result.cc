#include "controller/sweep_result.h"

#include <cmath>

namespace horde {

namespace {

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json pair(const Interval& i) { return nlohmann::json::array({i.low, i.high}); }

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
    if (choice) {
      fit["model"] = model_name(choice->model);
      fit["sigma_ci"] = pair(choice->sigma_ci);
      fit["kappa_ci"] = pair(choice->kappa_ci);
      fit["kappa_significant"] = choice->kappa_significant;
      fit["aicc"] = {{"amdahl", or_null(choice->aicc_amdahl)}, {"usl", or_null(choice->aicc_usl)}};
      fit["amdahl"] = {{"lambda", choice->amdahl.lambda},
                       {"sigma", choice->amdahl.sigma},
                       {"r2", choice->amdahl.r2}};
      fit["full"] = {{"lambda", choice->usl.lambda},
                     {"sigma", choice->usl.sigma},
                     {"kappa", choice->usl.kappa},
                     {"r2", choice->usl.r2},
                     {"sigma_ci", pair(choice->usl_sigma_ci)}};
      fit["bootstrap"] = {{"replicates", choice->replicates}, {"seed", kBootstrapSeed}};
    }
  }
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : points) {
    nlohmann::json pt = {{"n", p.n},
                         {"capacity_rps", p.capacity_rps},
                         {"efficiency", p.efficiency},
                         {"p99_ms", p.p99_ms},
                         {"phase", p.phase},
                         {"capacity_ci", pair(p.capacity_ci)}};
    if (p.backends) {
      pt["backends"] = *p.backends;
      pt["imbalance"] = std::round(p.imbalance * 1000) / 1000;
      pt["spread_ok"] = p.spread_ok;
    }
    if (!p.observed.empty()) {
      pt["observed"] = observed_json(p.observed);
      pt["requests_per_core_second"] = or_null(p.requests_per_core_second);
    }
    pts.push_back(std::move(pt));
  }
  return {{"kind", kind},
          {"points", pts},
          {"shape", or_null(shape)},
          {"usl", fit},
          {"min_efficiency", min_efficiency},
          {"verdict", verdict},
          {"cpu", cpu},
          {"passed", passed}};
}

nlohmann::json CapacityResult::to_json() const {
  return {{"instances", or_null(instances)},
          {"agents", agents},
          {"steps", steps},
          {"highest_good_rate", or_null(highest_good_rate)},
          {"lowest_bad_rate", or_null(lowest_bad_rate)},
          {"capacity_rps", capacity_rps},
          {"p99_ms", or_null(p99_ms)},
          {"phase", or_null(phase)},
          {"target_unreachable", unanswered_rate.has_value()},
          {"unanswered_rate", or_null(unanswered_rate)}};
}

nlohmann::json to_json(const std::vector<CapacityResult>& searches) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : searches) out.push_back(s.to_json());
  return out;
}

}  // namespace horde
