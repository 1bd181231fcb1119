// `baseline:` of the workload file: which earlier run `horde run` compares
// itself with at the end, the tolerances and alpha (see docs/compare.md).
#include <initializer_list>

#include "common/text.h"
#include "common/tolerance.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

namespace horde {

namespace {

const std::initializer_list<const char*> kBaselineKeys = {"dir", "tolerance", "alpha"};

}  // namespace

bool read_baseline_yaml(YamlReader& r, const YAML::Node& n, BaselineSpec* b) {
  if (!n.IsMap()) {
    return r.fail("baseline", "got " + yaml_describe(n) +
                                  "; expected a map like {dir: results/last, tolerance: {p99: "
                                  "10%}}");
  }
  if (!r.check_keys(n, "baseline", kBaselineKeys)) return false;
  if (!n["dir"]) {
    return r.fail("baseline.dir", "missing; expected the results directory of the baseline run");
  }
  if (!r.read_string(n["dir"], "baseline.dir", &b->dir)) return false;
  if (text::trim(b->dir).empty()) {
    return r.fail("baseline.dir", "empty; expected the results directory of the baseline run");
  }
  if (const auto& t = n["tolerance"]) {
    if (!t.IsMap()) {
      return r.fail("baseline.tolerance", "got " + yaml_describe(t) +
                                              "; expected a map of metric to tolerance like "
                                              "{p99: 10%, error_rate: 0.1}");
    }
    for (const auto& kv : t) {
      const std::string path = yaml_child("baseline.tolerance", kv.first.Scalar());
      std::string value;
      if (!r.read_scalar(kv.second, path, "a tolerance like 10%", &value)) return false;
      auto v = parse_tolerance(kv.first.Scalar(), value);
      if (!v) return r.fail("baseline.tolerance", v.error().message);
      b->tolerance[kv.first.Scalar()] = *v;
    }
  }
  if (const auto& a = n["alpha"]) {
    std::string s;
    const std::string expected = "a significance level above 0 and at most 0.2, like 0.01";
    if (!r.read_scalar(a, "baseline.alpha", expected, &s)) return false;
    double x = 0;
    if (!text::parse_number(text::trim(s), &x) || !(x > 0) || x > 0.2) {
      return r.fail("baseline.alpha", "got " + text::quote(s) + "; expected " + expected);
    }
    b->alpha = x;
  }
  return true;
}

}  // namespace horde
