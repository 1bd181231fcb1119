// The workload: what to hit, how hard, for how long, and what counts as passing.
// Loaded from YAML (or JSON) once at the edge, validated completely, and handed
// on as a typed value; nothing downstream re-checks it. Errors name the file, the
// field path (e.g. `load.rate`) and what is expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace horde {

using Millis = std::chrono::milliseconds;

// "500ms", "10s", "2m", "1h", "250us" -> duration. Plain numbers are rejected
// (a unit is required) so `duration: 10` cannot silently mean 10 ms.
Result<std::chrono::microseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::microseconds d);

struct Url {
  std::string scheme;  // "http" (https comes with the load-engine issue)
  std::string host;    // IPv6 without brackets ("::1")
  uint16_t port = 0;
  std::string path = "/";  // path plus query, always starting with '/'
  std::string text;        // as given
  bool operator==(const Url&) const = default;
};
// Accepts http://host[:port][/path]; other schemes get an error naming them.
// Port defaults to 80; a path starting with '?' gets a leading '/'; a #fragment
// is dropped; user:password@ is rejected.
Result<Url> parse_url(const std::string& text);

struct RequestSpec {
  std::string method = "GET";
  std::string path;  // empty: the target URL's own path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t weight = 1;
  bool operator==(const RequestSpec&) const = default;
};

enum class LoadMode { kClosed, kOpen };

struct LoadSpec {
  LoadMode mode = LoadMode::kClosed;
  uint32_t connections = 10;
  double rate = 0;  // open loop only, total requests/s over all agents
  Millis duration{10'000};
  Millis warmup{0};
  Millis interval{1'000};
  Millis connect_timeout{3'000};
  Millis request_timeout{10'000};
  bool operator==(const LoadSpec&) const = default;
};

enum class Metric { kP50, kP90, kP99, kP999, kMax, kMean, kErrorRate, kThroughput };
enum class Comparison { kLess, kLessEqual, kGreater, kGreaterEqual };

// "p99 < 200ms", "error_rate < 1%", "rps > 1000". Latency values are stored in
// milliseconds, error_rate as a fraction, throughput in requests/s.
struct Threshold {
  Metric metric;
  Comparison op;
  double value;
  std::string text;
  bool operator==(const Threshold&) const = default;
};
Result<Threshold> parse_threshold(const std::string& text);
bool threshold_holds(const Threshold& t, double observed);
std::string metric_name(Metric m);  // "p99", "error_rate", "rps", ...

// `builtin_target:` asks `horde run` to start the built-in sample service and aim at it.
struct BuiltinTarget {
  uint32_t instances = 1;
  uint32_t workers = 16;
  Millis service_time{2};
  bool operator==(const BuiltinTarget&) const = default;
};

struct Workload {
  std::string name;
  std::vector<Url> targets;           // empty only when builtin_target is set
  std::vector<RequestSpec> requests;  // never empty after loading: default GET of the target
  LoadSpec load;
  std::vector<Threshold> thresholds;
  std::optional<BuiltinTarget> builtin_target;
  bool operator==(const Workload&) const = default;
};

// `source` names the input in error messages (usually the file path). Errors read
// `<source>: <field path>: <what is wrong>; <what is expected>`.
// parse_workload and load_workload_file validate everything in the file but do
// NOT require a target: the CLI may supply targets from a flag afterwards. Call
// finalize_workload before using the result; it is where a missing target fails.
// Defaults: `name` is the file name without .yaml/.yml/.json; `requests` is one
// GET of the target URL's own path; load mode is open when `rate` is given.
Result<Workload> parse_workload(const std::string& text, const std::string& source);
Result<Workload> load_workload_file(const std::string& path);
// Final check after CLI overrides / builtin target resolution: at least one
// target unless builtin_target is set, a default request if none, and the load
// rules again (open mode needs rate > 0, closed mode forbids it, ranges).
Result<Workload> finalize_workload(Workload w, const std::string& source);

// The resolved workload as JSON (the `workload` key of summary.json), every
// default filled in; builtin_target is left out when unset. It parses back
// (parse_workload) to an equal Workload, up to header order.
nlohmann::json to_json(const Workload& w);

}  // namespace horde

namespace horde {

// One agent's share of a phase: the same targets and requests, its part of the
// connections and of the rate. Travels as horde.v1.WorkloadSlice.
struct WorkloadSlice {
  std::vector<Url> targets;
  std::vector<RequestSpec> requests;
  LoadSpec load;  // connections and rate are this agent's share
  bool operator==(const WorkloadSlice&) const = default;
};

}  // namespace horde
