#include "common/threshold.h"

#include <cctype>
#include <cstdio>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "common/text.h"

namespace horde {

namespace {

using text::lower;
using text::parse_number;
using text::quote;
using text::trim;

struct MetricName {
  const char* name;
  Metric metric;
};
constexpr MetricName kMetricNames[] = {
    {"p50", Metric::kP50},        {"p90", Metric::kP90},
    {"p99", Metric::kP99},        {"p999", Metric::kP999},
    {"p99.9", Metric::kP999},     {"max", Metric::kMax},
    {"mean", Metric::kMean},      {"error_rate", Metric::kErrorRate},
    {"rps", Metric::kThroughput}, {"throughput", Metric::kThroughput},
};

// Microseconds per unit of the duration units parse_duration accepts.
double us_per(const std::string& unit) {
  if (unit == "us") return 1;
  if (unit == "s") return 1e6;
  if (unit == "m") return 60e6;
  if (unit == "h") return 3600e6;
  return 1e3;  // ms
}

// The last unit of a duration text ("1m30s" -> "s", "250µs" -> "us").
std::string last_unit(std::string_view v) {
  size_t end = v.size();
  size_t start = end;
  while (start > 0 && !std::isdigit(static_cast<unsigned char>(v[start - 1])) &&
         v[start - 1] != '.') {
    --start;
  }
  const std::string unit = lower(trim(v.substr(start, end - start)));
  if (unit == "µs") return "us";
  return unit == "us" || unit == "s" || unit == "m" || unit == "h" ? unit : "ms";
}

// Three decimals at most, no trailing zeros: 1989, 1.989, 0.25.
std::string trimmed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

}  // namespace

bool is_latency(Metric m) { return m != Metric::kErrorRate && m != Metric::kThroughput; }

Result<Threshold> parse_threshold(const std::string& text) {
  const std::string_view t = trim(text);
  const auto fail = [&](const std::string& what) {
    return Error{quote(t) + ": " + what + "; expected " + kThresholdForm};
  };
  if (t.empty()) return fail("empty threshold");
  size_t i = 0;
  while (i < t.size() &&
         (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_' || t[i] == '.')) {
    ++i;
  }
  const std::string metric_text = lower(t.substr(0, i));
  std::optional<Metric> metric;
  for (const MetricName& m : kMetricNames) {
    if (metric_text == m.name) metric = m.metric;
  }
  if (!metric) {
    return fail("unknown metric " + quote(metric_text) +
                " (known: p50, p90, p99, p999, max, mean, error_rate, rps)");
  }
  std::string_view rest = trim(t.substr(i));
  std::string name;
  if (rest.starts_with('{')) {
    const size_t close = rest.find('}');
    if (close == std::string_view::npos)
      return fail("selector after " + quote(metric_text) + " has no closing }");
    std::string_view sel = trim(rest.substr(1, close - 1));
    if (!sel.starts_with("name:")) {
      return fail("unknown selector " + quote(sel) + " (known: {name:NAME}, a request's name)");
    }
    name = std::string(trim(sel.substr(5)));
    if (name.empty()) return fail("{name:} names no request");
    rest = trim(rest.substr(close + 1));
  }
  Comparison op;
  if (rest.starts_with("<=")) {
    op = Comparison::kLessEqual;
    rest.remove_prefix(2);
  } else if (rest.starts_with(">=")) {
    op = Comparison::kGreaterEqual;
    rest.remove_prefix(2);
  } else if (rest.starts_with("<")) {
    op = Comparison::kLess;
    rest.remove_prefix(1);
  } else if (rest.starts_with(">")) {
    op = Comparison::kGreater;
    rest.remove_prefix(1);
  } else {
    return fail("missing comparison (one of <, <=, >, >=) after " + quote(metric_text));
  }
  const std::string_view value_text = trim(rest);
  if (value_text.empty()) return fail("missing value");
  double value = 0;
  std::string unit = "rps";
  if (is_latency(*metric)) {
    auto d = parse_duration(std::string(value_text));
    if (!d) return fail(metric_text + " needs a duration: " + d.error().message);
    value = static_cast<double>(d->count()) / 1000.0;
    unit = last_unit(value_text);
  } else if (*metric == Metric::kErrorRate) {
    const bool percent = value_text.ends_with('%');
    const std::string_view number =
        percent ? trim(value_text.substr(0, value_text.size() - 1)) : value_text;
    if (!parse_number(number, &value) || value < 0 || value > (percent ? 100 : 1)) {
      return fail("error_rate needs a percentage 0%..100% or a fraction 0..1, got " +
                  quote(value_text));
    }
    if (percent) value /= 100.0;
    unit = percent ? "%" : "";
  } else {
    if (!parse_number(value_text, &value) || value < 0) {
      return fail(metric_text + " needs a number of requests/s >= 0, got " + quote(value_text));
    }
  }
  return Threshold{*metric, op, value, std::string(t), unit, name};
}

bool threshold_holds(const Threshold& t, double observed) {
  switch (t.op) {
    case Comparison::kLess:
      return observed < t.value;
    case Comparison::kLessEqual:
      return observed <= t.value;
    case Comparison::kGreater:
      return observed > t.value;
    case Comparison::kGreaterEqual:
      return observed >= t.value;
  }
  return false;
}

double in_threshold_unit(const Threshold& t, double observed) {
  if (is_latency(t.metric)) return observed * 1000.0 / us_per(t.unit);
  if (t.metric == Metric::kErrorRate && t.unit == "%") return observed * 100.0;
  return observed;
}

std::string format_observed(const Threshold& t, double observed) {
  std::string v = trimmed(in_threshold_unit(t, observed));
  if (t.unit.empty()) return v;
  if (t.unit == "%") return v + "%";
  return v + " " + t.unit;
}

std::string metric_name(Metric m) {
  switch (m) {
    case Metric::kP50:
      return "p50";
    case Metric::kP90:
      return "p90";
    case Metric::kP99:
      return "p99";
    case Metric::kP999:
      return "p999";
    case Metric::kMax:
      return "max";
    case Metric::kMean:
      return "mean";
    case Metric::kErrorRate:
      return "error_rate";
    case Metric::kThroughput:
      return "rps";
  }
  return "unknown";
}

}  // namespace horde
