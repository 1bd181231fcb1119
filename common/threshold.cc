#include "common/threshold.h"

#include <cctype>
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

bool is_latency(Metric m) { return m != Metric::kErrorRate && m != Metric::kThroughput; }

}  // namespace

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
  if (is_latency(*metric)) {
    auto d = parse_duration(std::string(value_text));
    if (!d) return fail(metric_text + " needs a duration: " + d.error().message);
    value = static_cast<double>(d->count()) / 1000.0;
  } else if (*metric == Metric::kErrorRate) {
    const bool percent = value_text.ends_with('%');
    const std::string_view number =
        percent ? trim(value_text.substr(0, value_text.size() - 1)) : value_text;
    if (!parse_number(number, &value) || value < 0 || value > (percent ? 100 : 1)) {
      return fail("error_rate needs a percentage 0%..100% or a fraction 0..1, got " +
                  quote(value_text));
    }
    if (percent) value /= 100.0;
  } else {
    if (!parse_number(value_text, &value) || value < 0) {
      return fail(metric_text + " needs a number of requests/s >= 0, got " + quote(value_text));
    }
  }
  return Threshold{*metric, op, value, std::string(t)};
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
