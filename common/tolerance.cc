#include "common/tolerance.h"

#include <fmt/format.h>

#include <initializer_list>

#include "common/text.h"

namespace horde {

namespace {

const std::initializer_list<const char*> kKeys = {
    "throughput", "error_rate",   "mean",     "p50",        "p90",       "p99",
    "p999",       "distribution", "capacity", "efficiency", "usl_sigma", "usl_kappa"};

bool known(const std::string& key) {
  for (const char* k : kKeys) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

Tolerances default_tolerances() {
  return {{"throughput", 0.05}, {"error_rate", 0.001}, {"mean", 0.10},
          {"p50", 0.10},        {"p90", 0.10},         {"p99", 0.10},
          {"p999", 0.20},       {"capacity", 0.05},    {"efficiency", 0.05}};
}

std::string tolerance_keys() { return text::join(kKeys); }

bool tolerance_in_points(const std::string& key) {
  return key == "error_rate" || key == "distribution";
}

Result<double> parse_tolerance(const std::string& key, const std::string& value) {
  if (key == "max") {
    return Error{
        "max: has no tolerance (one sample per run allows no significance test; it is shown, "
        "never judged); expected one of " +
        tolerance_keys()};
  }
  if (!known(key))
    return Error{text::quote(key) + ": unknown metric; expected one of " + tolerance_keys()};
  std::string v(text::trim(value));
  const bool percent = !v.empty() && v.back() == '%';
  if (percent) v.pop_back();
  double x = 0;
  const std::string expected = tolerance_in_points(key)
                                   ? "percentage points like 0.1 or 0.1% (0 to 100)"
                                   : "a percentage like 10% (0% to 1000%)";
  if (!text::parse_number(text::trim(v), &x) || x < 0 || (!percent && !tolerance_in_points(key))) {
    return Error{key + ": got " + text::quote(value) + "; expected " + expected};
  }
  if (x > (tolerance_in_points(key) ? 100 : 1000)) {
    return Error{key + ": got " + text::quote(value) + "; expected " + expected};
  }
  return x / 100;
}

Result<Tolerances> parse_tolerance_list(const std::string& text, Tolerances base) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item(text::trim(std::string_view(text).substr(start, comma - start)));
    start = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Error{"got " + text::quote(item) + "; expected METRIC=VALUE like p99=10%"};
    }
    const std::string key(text::trim(std::string_view(item).substr(0, eq)));
    auto v = parse_tolerance(key, item.substr(eq + 1));
    if (!v) return v.error();
    base[key] = *v;
  }
  return base;
}

std::string format_tolerance(const std::string& /*key*/, double value) {
  return fmt::format("{:g}%", value * 100);
}

}  // namespace horde
