#include "common/workload.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string_view>

namespace horde {

namespace {

using std::chrono::microseconds;

constexpr const char* kDurationExamples = "like 500ms, 10s, 2m, 1h or 250us";
constexpr const char* kUrlForm = "http://host[:port][/path]";
constexpr const char* kThresholdForm =
    "\"<metric> <op> <value>\" like \"p99 < 200ms\", \"error_rate < 1%\" or \"rps >= 1000\"";

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Quotes user text for an error message; control characters become visible and
// long values are cut so one bad field cannot flood the terminal.
std::string quote(std::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (++n > 80) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"') {
      out += "\\\"";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x";
      const char* hex = "0123456789abcdef";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// Strict unsigned decimal: digits only, no sign, no exponent, no leading '+'.
bool parse_uint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// A finite decimal number ("1000", "2.5", "1e3").
bool parse_number(std::string_view s, double* out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

std::string join(std::initializer_list<const char*> items) {
  std::string out;
  for (const char* s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// ---- durations ----

struct Unit {
  const char* name;
  int64_t us;
};
constexpr Unit kUnits[] = {{"us", 1},        {"µs", 1},         {"ms", 1'000},
                           {"s", 1'000'000}, {"m", 60'000'000}, {"h", 3'600'000'000}};

}  // namespace

Result<microseconds> parse_duration(const std::string& text) {
  const std::string_view t = trim(text);
  const std::string expected = std::string("expected a duration with a unit, ") + kDurationExamples;
  if (t.empty()) return Error{"empty; " + expected};
  if (t.front() == '-') return Error{quote(t) + " is negative; " + expected};
  // One or more <number><unit> terms ("1m30s"); a term may have a fraction
  // ("1.5s") as long as the total is a whole number of microseconds.
  int64_t total = 0;
  size_t i = 0;
  while (i < t.size()) {
    const size_t start = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    const std::string_view whole = t.substr(start, i - start);
    std::string_view frac;
    if (i < t.size() && t[i] == '.') {
      const size_t fstart = ++i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
      frac = t.substr(fstart, i - fstart);
    }
    if (whole.empty() && frac.empty()) return Error{quote(t) + " is not a duration; " + expected};
    const size_t ustart = i;
    while (i < t.size() && !std::isdigit(static_cast<unsigned char>(t[i])) && t[i] != '.') ++i;
    const std::string_view unit_text = t.substr(ustart, i - ustart);
    if (unit_text.empty()) return Error{quote(t) + " has no unit; " + expected};
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (unit_text == u.name) unit = &u;
    }
    if (unit == nullptr) {
      return Error{quote(t) + " has an unknown unit " + quote(unit_text) +
                   "; expected one of us, ms, s, m, h"};
    }
    uint64_t w = 0;
    if (!whole.empty() && !parse_uint(whole, &w))
      return Error{quote(t) + " is too large; " + expected};
    if (frac.size() > 12) return Error{quote(t) + " has too many decimals; " + expected};
    uint64_t f = 0;
    uint64_t scale = 1;
    for (char c : frac) {
      f = f * 10 + uint64_t(c - '0');
      scale *= 10;
    }
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    if (w > uint64_t(kMax / unit->us)) return Error{quote(t) + " is too large; " + expected};
    // f < scale <= 10^12 and unit <= 3.6e9 could overflow 64 bits; use 128.
    const unsigned __int128 frac_us = static_cast<unsigned __int128>(f) * uint64_t(unit->us);
    if (frac_us % scale != 0) {
      return Error{quote(t) + " is finer than 1us; " + expected};
    }
    const int64_t term = int64_t(w) * unit->us + int64_t(frac_us / scale);
    if (term > kMax - total) return Error{quote(t) + " is too large; " + expected};
    total += term;
  }
  return microseconds(total);
}

std::string format_duration(microseconds d) {
  int64_t us = d.count();
  if (us == 0) return "0s";
  std::string sign;
  if (us < 0) {
    sign = "-";
    us = us == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -us;
  }
  // The largest unit that represents the value exactly, so parse_duration of
  // the text gives back the same value.
  for (const auto& [name, unit] :
       {std::pair{"h", int64_t{3'600'000'000}}, std::pair{"m", int64_t{60'000'000}},
        std::pair{"s", int64_t{1'000'000}}, std::pair{"ms", int64_t{1'000}}}) {
    if (us % unit == 0) return sign + std::to_string(us / unit) + name;
  }
  return sign + std::to_string(us) + "us";
}

// ---- URLs ----

Result<Url> parse_url(const std::string& text) {
  const std::string_view t = trim(text);
  const std::string expected = std::string("expected ") + kUrlForm;
  if (t.empty()) return Error{"empty URL; " + expected};
  if (has_space_or_control(t)) {
    return Error{quote(t) + " contains spaces or control characters; " + expected +
                 " with the path percent-encoded"};
  }
  const size_t sep = t.find("://");
  if (sep == std::string_view::npos) return Error{quote(t) + " is not a URL; " + expected};
  Url url;
  url.text = std::string(t);
  url.scheme = lower(t.substr(0, sep));
  if (url.scheme == "https") {
    return Error{quote(t) +
                 ": https is not supported yet (it comes with the load-engine issue); use " +
                 kUrlForm};
  }
  if (url.scheme != "http") {
    return Error{quote(t) + ": unsupported scheme " + quote(url.scheme) + "; supported: http"};
  }
  std::string_view rest = t.substr(sep + 3);
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);  // never sent to servers
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    url.path = std::string(rest.substr(path_start));
    if (url.path.front() == '?') url.path.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Error{quote(t) + ": credentials in URLs are not supported; " + expected};
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Error{quote(t) + ": unclosed '[' in IPv6 host; expected http://[::1]:8080/"};
    }
    url.host = std::string(authority.substr(1, close - 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, url.host.c_str(), &addr) != 1) {
      return Error{quote(t) + ": invalid IPv6 address " + quote(url.host) +
                   "; expected http://[::1]:8080/"};
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Error{quote(t) + ": unexpected text after ']'; " + expected};
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return Error{quote(t) + " has no host; " + expected};
    const bool valid = std::all_of(url.host.begin(), url.host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!valid || url.host.front() == '.' || url.host.front() == '-') {
      return Error{quote(t) + ": invalid host " + quote(url.host) +
                   "; expected a host name, an IPv4 address or [IPv6]"};
    }
  }
  url.port = 80;
  if (has_port) {
    uint64_t port = 0;
    if (!parse_uint(port_text, &port) || port < 1 || port > 65535) {
      return Error{quote(t) + ": invalid port " + quote(port_text) + "; expected 1..65535"};
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

// ---- thresholds ----

namespace {

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

// ---- the workload file ----

namespace {

const std::initializer_list<const char*> kTopKeys = {
    "name", "target", "targets", "requests", "load", "thresholds", "builtin_target"};
const std::initializer_list<const char*> kRequestKeys = {"method", "path", "headers", "body",
                                                         "weight"};
const std::initializer_list<const char*> kLoadKeys = {
    "mode",     "connections",     "rate",           "duration", "warmup",
    "interval", "connect_timeout", "request_timeout"};
const std::initializer_list<const char*> kBuiltinKeys = {"instances", "workers", "service_time"};
const std::initializer_list<const char*> kMethods = {"GET",   "POST", "PUT",    "DELETE",
                                                     "PATCH", "HEAD", "OPTIONS"};

constexpr uint32_t kMaxConnections = 1'000'000;
constexpr uint32_t kMaxWeight = 1'000'000;
constexpr uint32_t kMaxInstances = 1'000;
constexpr uint32_t kMaxWorkers = 10'000;

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    default:
      return "nothing";
  }
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Reads one workload document. Each helper returns false after storing the
// first error, so a caller stops at the first problem and reports it whole.
class WorkloadReader {
 public:
  explicit WorkloadReader(std::string source) : source_(std::move(source)) {}

  const Error& error() const { return error_; }

  bool fail(const std::string& path, const std::string& what) {
    error_ = Error{source_ + ": " + path + ": " + what};
    return false;
  }

  bool read(const YAML::Node& root, Workload* w) {
    if (!root.IsMap()) {
      return fail("top level",
                  "got " + describe(root) + "; expected a map with keys " + join(kTopKeys));
    }
    if (!check_keys(root, "", kTopKeys)) return false;
    bool have_target = false;
    bool have_builtin = false;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "name") {
        if (!read_string(v, "name", &w->name)) return false;
      } else if (key == "target") {
        if (have_target) return fail("target", "given together with targets; give only one");
        have_target = true;
        Url url;
        if (!read_url(v, "target", &url)) return false;
        w->targets.push_back(std::move(url));
      } else if (key == "targets") {
        if (have_target) return fail("targets", "given together with target; give only one");
        have_target = true;
        if (!read_targets(v, w)) return false;
      } else if (key == "requests") {
        if (!read_requests(v, w)) return false;
      } else if (key == "load") {
        if (!read_load(v, &w->load)) return false;
      } else if (key == "thresholds") {
        if (!read_thresholds(v, w)) return false;
      } else if (key == "builtin_target") {
        have_builtin = true;
        if (!read_builtin(v, w)) return false;
      }
    }
    if (have_builtin && w->builtin_target && !w->targets.empty()) {
      return fail("builtin_target",
                  "given together with target(s); builtin_target starts the sample service and "
                  "aims at it, so give only one");
    }
    if (w->requests.empty()) w->requests.push_back(RequestSpec{});
    return true;
  }

  // The typed checks that still apply after CLI overrides (see finalize_workload).
  bool check_load(const LoadSpec& l) {
    if (l.connections < 1 || l.connections > kMaxConnections) {
      return fail("load.connections", "got " + std::to_string(l.connections) +
                                          "; expected an integer from 1 to 1000000");
    }
    if (l.mode == LoadMode::kOpen && !(l.rate > 0 && std::isfinite(l.rate))) {
      return fail("load.rate",
                  "missing; open mode needs a rate > 0 in requests/s, like rate: 1000");
    }
    if (l.mode == LoadMode::kClosed && l.rate != 0) {
      return fail("load.rate",
                  "not allowed in closed mode (closed mode keeps load.connections requests in "
                  "flight); remove it, or set load.mode: open");
    }
    if (l.duration.count() <= 0) return fail("load.duration", "expected a duration > 0");
    if (l.warmup.count() < 0) return fail("load.warmup", "expected a duration >= 0");
    if (l.interval < Millis(100) || l.interval > Millis(60'000)) {
      return fail("load.interval",
                  "got " + format_duration(l.interval) + "; expected a duration from 100ms to 60s");
    }
    if (l.connect_timeout.count() <= 0) {
      return fail("load.connect_timeout", "expected a duration > 0");
    }
    if (l.request_timeout.count() <= 0) {
      return fail("load.request_timeout", "expected a duration > 0");
    }
    return true;
  }

 private:
  bool check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<const char*> allowed) {
    std::vector<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        return fail(path.empty() ? "top level" : path,
                    "got " + describe(kv.first) + " as a key; expected keys " + join(allowed));
      }
      const std::string key = kv.first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return fail(child(path, key), "given twice; give each key once");
      }
      seen.push_back(key);
      if (std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        continue;
      }
      std::string what = "unknown key;";
      size_t best = 3;
      const char* suggestion = nullptr;
      for (const char* a : allowed) {
        const size_t d = edit_distance(key, a);
        if (d < best) {
          best = d;
          suggestion = a;
        }
      }
      if (suggestion != nullptr) what += std::string(" did you mean \"") + suggestion + "\"?";
      what += " allowed keys: " + join(allowed);
      return fail(child(path, key), what);
    }
    return true;
  }

  bool read_scalar(const YAML::Node& n, const std::string& path, const std::string& expected,
                   std::string* out) {
    if (!n.IsScalar()) return fail(path, "got " + describe(n) + "; expected " + expected);
    *out = n.Scalar();
    return true;
  }

  bool read_string(const YAML::Node& n, const std::string& path, std::string* out) {
    return read_scalar(n, path, "a string", out);
  }

  bool read_uint(const YAML::Node& n, const std::string& path, uint32_t lo, uint32_t hi,
                 uint32_t* out) {
    const std::string expected =
        "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    std::string s;
    if (!read_scalar(n, path, expected, &s)) return false;
    uint64_t v = 0;
    if (!parse_uint(trim(s), &v) || v < lo || v > hi) {
      return fail(path, "got " + quote(s) + "; expected " + expected);
    }
    *out = static_cast<uint32_t>(v);
    return true;
  }

  // Millis fields: a duration with a unit, whole milliseconds, within [lo, hi]
  // (lo excluded unless lo_inclusive); `expected` describes that range.
  bool read_millis(const YAML::Node& n, const std::string& path, Millis lo, Millis hi,
                   bool lo_inclusive, const std::string& expected, Millis* out) {
    std::string s;
    if (!read_scalar(n, path, expected, &s)) return false;
    auto d = parse_duration(s);
    if (!d) return fail(path, d.error().message);
    if (d->count() % 1000 != 0) {
      return fail(path, "got " + quote(s) + "; expected a whole number of milliseconds");
    }
    const Millis ms = std::chrono::duration_cast<Millis>(*d);
    if (ms < lo || (!lo_inclusive && ms == lo) || ms > hi) {
      return fail(path, "got " + quote(s) + "; expected " + expected);
    }
    *out = ms;
    return true;
  }

  bool read_url(const YAML::Node& n, const std::string& path, Url* out) {
    std::string s;
    if (!read_scalar(n, path, std::string("a URL string like ") + kUrlForm, &s)) return false;
    auto url = parse_url(s);
    if (!url) return fail(path, url.error().message);
    *out = std::move(url).value();
    return true;
  }

  bool read_targets(const YAML::Node& n, Workload* w) {
    if (!n.IsSequence()) {
      return fail("targets",
                  "got " + describe(n) + "; expected a list of URLs like [" + kUrlForm + ", ...]");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      Url url;
      if (!read_url(n[i], item("targets", i), &url)) return false;
      w->targets.push_back(std::move(url));
    }
    return true;
  }

  bool read_requests(const YAML::Node& n, Workload* w) {
    const std::string expected_item = "a map like {method: GET, path: /items, weight: 1}";
    if (!n.IsSequence() || n.size() == 0) {
      return fail("requests", "got " +
                                  (n.IsSequence() ? std::string("an empty list") : describe(n)) +
                                  "; expected a list of " + expected_item +
                                  " (leave requests out for one GET of the target URL)");
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string path = item("requests", i);
      const YAML::Node& r = n[i];
      if (!r.IsMap()) return fail(path, "got " + describe(r) + "; expected " + expected_item);
      if (!check_keys(r, path, kRequestKeys)) return false;
      RequestSpec spec;
      for (const auto& kv : r) {
        const std::string key = kv.first.Scalar();
        const std::string p = child(path, key);
        if (key == "method") {
          std::string m;
          if (!read_scalar(kv.second, p, "one of " + join(kMethods), &m)) return false;
          spec.method = upper(trim(m));
          if (std::none_of(kMethods.begin(), kMethods.end(),
                           [&](const char* a) { return spec.method == a; })) {
            return fail(p, "got " + quote(m) + "; expected one of " + join(kMethods));
          }
        } else if (key == "path") {
          const std::string expected = "a path starting with '/', like /items?id=1";
          if (!read_scalar(kv.second, p, expected, &spec.path)) return false;
          // "" is the default (the target URL's own path), so to_json output parses back.
          if (!spec.path.empty() && spec.path.front() != '/') {
            return fail(p, "got " + quote(spec.path) + "; expected " + expected);
          }
          if (has_space_or_control(spec.path)) {
            return fail(p, "got " + quote(spec.path) +
                               " with spaces or control characters; expected a percent-encoded "
                               "path like /search?q=a%20b");
          }
        } else if (key == "headers") {
          if (!read_headers(kv.second, p, &spec)) return false;
        } else if (key == "body") {
          if (!read_scalar(kv.second, p, "a string (quote JSON bodies: body: '{\"a\": 1}')",
                           &spec.body)) {
            return false;
          }
        } else if (key == "weight") {
          if (!read_uint(kv.second, p, 1, kMaxWeight, &spec.weight)) return false;
        }
      }
      w->requests.push_back(std::move(spec));
    }
    return true;
  }

  bool read_headers(const YAML::Node& n, const std::string& path, RequestSpec* spec) {
    if (!n.IsMap()) {
      return fail(path, "got " + describe(n) +
                            "; expected a map of header names to values, "
                            "like {Accept: application/json}");
    }
    std::vector<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        return fail(path, "got " + describe(kv.first) + " as a header name; expected a string");
      }
      const std::string name = kv.first.Scalar();
      const std::string p = child(path, name);
      if (name.find_first_of("\r\n") != std::string::npos) {
        return fail(path + "." + quote(name),
                    "header name contains CR or LF; expected a single-line header name");
      }
      const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
      });
      if (!token) {
        return fail(p, "invalid header name " + quote(name) +
                           "; expected letters, digits and !#$%&'*+-.^_`|~");
      }
      const std::string lname = lower(name);
      if (std::find(seen.begin(), seen.end(), lname) != seen.end()) {
        return fail(p, "given twice; give each header once");
      }
      seen.push_back(lname);
      if (lname == "host") {
        return fail(p, "set by the engine from the target URL; remove it");
      }
      if (lname == "content-length") {
        return fail(p, "set by the engine from the body; remove it");
      }
      if (lname == "transfer-encoding") {
        return fail(p, "not supported; the engine sends bodies with Content-Length, remove it");
      }
      std::string value;
      if (!read_scalar(kv.second, p, "a string value", &value)) return false;
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return fail(p, "value contains CR, LF or NUL; expected a single-line value");
      }
      spec->headers.emplace_back(name, std::move(value));
    }
    return true;
  }

  bool read_load(const YAML::Node& n, LoadSpec* l) {
    if (!n.IsMap()) {
      return fail("load", "got " + describe(n) + "; expected a map with keys " + join(kLoadKeys));
    }
    if (!check_keys(n, "load", kLoadKeys)) return false;
    std::optional<LoadMode> mode;
    bool have_rate = false;
    constexpr Millis kNoLimit = Millis::max();
    const std::string positive = std::string("a duration > 0, ") + kDurationExamples;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "load." + key;
      const YAML::Node& v = kv.second;
      if (key == "mode") {
        std::string s;
        if (!read_scalar(v, p, "closed or open", &s)) return false;
        const std::string m = lower(trim(s));
        if (m == "closed") {
          mode = LoadMode::kClosed;
        } else if (m == "open") {
          mode = LoadMode::kOpen;
        } else {
          return fail(p, "got " + quote(s) +
                             "; expected closed (fixed connections) or open (fixed arrival rate)");
        }
      } else if (key == "connections") {
        if (!read_uint(v, p, 1, kMaxConnections, &l->connections)) return false;
      } else if (key == "rate") {
        if (v.IsNull()) continue;  // `rate: null` (as in to_json of closed mode) means none
        std::string s;
        const std::string expected = "a number > 0 (requests/s over all agents)";
        if (!read_scalar(v, p, expected, &s)) return false;
        if (!parse_number(trim(s), &l->rate) || !(l->rate > 0)) {
          return fail(p, "got " + quote(s) + "; expected " + expected);
        }
        have_rate = true;
      } else if (key == "duration") {
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->duration)) return false;
      } else if (key == "warmup") {
        if (!read_millis(v, p, Millis(0), kNoLimit, true,
                         std::string("a duration >= 0, ") + kDurationExamples, &l->warmup)) {
          return false;
        }
      } else if (key == "interval") {
        if (!read_millis(v, p, Millis(100), Millis(60'000), true, "a duration from 100ms to 60s",
                         &l->interval))
          return false;
      } else if (key == "connect_timeout") {
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->connect_timeout))
          return false;
      } else if (key == "request_timeout") {
        if (!read_millis(v, p, Millis(0), kNoLimit, false, positive, &l->request_timeout))
          return false;
      }
    }
    l->mode = mode.value_or(have_rate ? LoadMode::kOpen : LoadMode::kClosed);
    return check_load(*l);
  }

  bool read_thresholds(const YAML::Node& n, Workload* w) {
    if (!n.IsSequence()) {
      return fail("thresholds", "got " + describe(n) + "; expected a list of " + kThresholdForm);
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = item("thresholds", i);
      std::string s;
      if (!read_scalar(n[i], p, kThresholdForm, &s)) return false;
      auto t = parse_threshold(s);
      if (!t) return fail(p, t.error().message);
      w->thresholds.push_back(std::move(t).value());
    }
    return true;
  }

  bool read_builtin(const YAML::Node& n, Workload* w) {
    BuiltinTarget b;
    // `builtin_target:` alone (null) or `true` means the defaults.
    if (n.IsNull()) {
      w->builtin_target = b;
      return true;
    }
    if (n.IsScalar()) {
      const std::string s = lower(trim(n.Scalar()));
      if (s == "true") {
        w->builtin_target = b;
        return true;
      }
      if (s == "false") return true;
    }
    if (!n.IsMap()) {
      return fail("builtin_target", "got " + describe(n) + "; expected a map with keys " +
                                        join(kBuiltinKeys) + ", or nothing for the defaults");
    }
    if (!check_keys(n, "builtin_target", kBuiltinKeys)) return false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string p = "builtin_target." + key;
      if (key == "instances") {
        if (!read_uint(kv.second, p, 1, kMaxInstances, &b.instances)) return false;
      } else if (key == "workers") {
        if (!read_uint(kv.second, p, 1, kMaxWorkers, &b.workers)) return false;
      } else if (key == "service_time") {
        if (!read_millis(kv.second, p, Millis(0), Millis::max(), false,
                         std::string("a duration > 0, like 2ms"), &b.service_time)) {
          return false;
        }
      }
    }
    w->builtin_target = b;
    return true;
  }

  std::string source_;
  Error error_;
};

// "dir/quickstart.yaml" -> "quickstart": the default workload name.
std::string name_from_source(const std::string& source) {
  std::string base = source.substr(source.find_last_of('/') + 1);
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    if (base.size() > std::strlen(ext) && base.ends_with(ext)) {
      return base.substr(0, base.size() - std::strlen(ext));
    }
  }
  return "";
}

}  // namespace

Result<Workload> parse_workload(const std::string& text, const std::string& source) {
  const std::string src = source.empty() ? "workload" : source;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return Error{src + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                 std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg +
                 "; expected YAML or JSON"};
  } catch (const std::exception& e) {
    return Error{src + ": cannot parse: " + e.what() + "; expected YAML or JSON"};
  }
  if (root.IsNull()) {
    return Error{src + ": top level: empty; expected a map with keys " + join(kTopKeys)};
  }
  Workload w;
  w.name = name_from_source(src);
  WorkloadReader reader(src);
  try {
    if (!reader.read(root, &w)) return reader.error();
  } catch (const std::exception& e) {
    // yaml-cpp should not throw on the accessors used above; stay total anyway.
    return Error{src + ": cannot read: " + e.what()};
  }
  return w;
}

Result<Workload> load_workload_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Error{path + ": cannot read file: " + std::strerror(errno)};
  std::string text;
  char buf[8192];
  constexpr size_t kMaxSize = 16 << 20;
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxSize) {
      std::fclose(f);
      return Error{path + ": cannot read file: larger than 16 MiB; expected a workload file"};
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Error{path + ": cannot read file: " + std::strerror(err)};
  return parse_workload(text, path);
}

Result<Workload> finalize_workload(Workload w, const std::string& source) {
  const std::string src = source.empty() ? "workload" : source;
  if (w.targets.empty() && !w.builtin_target) {
    return Error{src + ": target: missing; give `target: http://host:port/` or `builtin_target:`"};
  }
  if (w.requests.empty()) w.requests.push_back(RequestSpec{});
  WorkloadReader reader(src);
  if (!reader.check_load(w.load)) return reader.error();
  return w;
}

nlohmann::json to_json(const Workload& w) {
  using nlohmann::json;
  json targets = json::array();
  for (const Url& u : w.targets) targets.push_back(u.text);
  json requests = json::array();
  for (const RequestSpec& r : w.requests) {
    json headers = json::object();
    for (const auto& [k, v] : r.headers) headers[k] = v;
    requests.push_back({{"method", r.method},
                        {"path", r.path},
                        {"headers", headers},
                        {"body", r.body},
                        {"weight", r.weight}});
  }
  const LoadSpec& l = w.load;
  json load = {{"mode", l.mode == LoadMode::kOpen ? "open" : "closed"},
               {"connections", l.connections},
               {"rate", l.mode == LoadMode::kOpen ? json(l.rate) : json(nullptr)},
               {"duration", format_duration(l.duration)},
               {"warmup", format_duration(l.warmup)},
               {"interval", format_duration(l.interval)},
               {"connect_timeout", format_duration(l.connect_timeout)},
               {"request_timeout", format_duration(l.request_timeout)}};
  json thresholds = json::array();
  for (const Threshold& t : w.thresholds) thresholds.push_back(t.text);
  json out = {{"name", w.name},
              {"targets", targets},
              {"requests", requests},
              {"load", load},
              {"thresholds", thresholds}};
  // Left out when unset so the JSON parses back to the same workload
  // (`builtin_target:` with no value means "the defaults").
  if (w.builtin_target) {
    out["builtin_target"] = {{"instances", w.builtin_target->instances},
                             {"workers", w.builtin_target->workers},
                             {"service_time", format_duration(w.builtin_target->service_time)}};
  }
  return out;
}

}  // namespace horde
