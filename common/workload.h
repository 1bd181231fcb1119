// The workload: what to hit, how hard, for how long, and what counts as passing.
// Loaded from YAML (or JSON) once at the edge, validated completely, and handed
// on as a typed value; nothing downstream re-checks it. Errors name the file, the
// field path (e.g. `load.rate`) and what is expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/data_set.h"
#include "common/duration.h"
#include "common/observe.h"
#include "common/result.h"
#include "common/sweep.h"
#include "common/threshold.h"
#include "common/url.h"

namespace horde {

// Limits at validation: what one workload may ask of the agents. Larger
// values are an error (exit 2) naming the field, never a run that cannot end.
// The highest load.rate (and stage, sweep and capacity rate): requests/s over
// all agents, about 70x what one agent thread sends (docs/benchmarks.md).
inline constexpr double kMaxRate = 10'000'000;
// The longest load.duration, warm-up and timeout: an agent refuses a longer phase.
inline constexpr Millis kMaxPhaseTime{24LL * 3600 * 1000};
inline constexpr size_t kMaxRequests = 10'000;  // entries of `requests`
inline constexpr size_t kMaxTargets = 1'024;    // target URLs (the agents' own limit)
// The workload's size once YAML aliases are expanded (each use of an alias
// counts its anchor again), counted while reading.
inline constexpr size_t kMaxWorkloadBytes = 64 << 20;

struct RequestSpec {
  std::string method = "GET";
  std::string path;  // empty: the target URL's own path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t weight = 1;
  // `name:` as given; empty: the default name, "METHOD path" (request_name()).
  std::string name;
  // `expect.status`: the codes that count as a success, sorted; empty: the
  // default rule (1xx-3xx succeed, 4xx and 5xx are http_4xx / http_5xx errors).
  std::vector<uint16_t> expect_status;
  // `expect.body_contains`: a response whose status succeeds but whose body
  // lacks this string is an unexpected_body error; empty: the body is not read.
  std::string expect_body;
  // Index of its name in Workload::request_names() (set by finalize_workload;
  // requests with the same name share it). The agents count per index.
  uint16_t name_index = 0;
  bool operator==(const RequestSpec&) const = default;
};

// The longest expect.body_contains.
inline constexpr size_t kMaxBodyContains = 4096;

// The name results are kept under: `name:`, or "METHOD path" ("GET /users/{{users.id}}").
std::string request_name(const RequestSpec& r);
// Distinct request names a workload may have: each has its own counts and
// histogram in every agent thread and in every merged interval.
inline constexpr size_t kMaxRequestNames = 100;

enum class LoadMode { kClosed, kOpen };

// What is spoken on each connection. HTTP/2 and gRPC multiplex up to
// load.streams_per_connection requests per connection.
enum class Protocol { kHttp1, kHttp2, kGrpc };
// "http1", "http2", "grpc"
const char* protocol_name(Protocol p);
// Inverse of protocol_name; false for an unknown name.
bool protocol_from_name(const std::string& name, Protocol* out);
// Upper bound of load.streams_per_connection (servers allow far fewer; this bounds memory).
inline constexpr uint32_t kMaxStreamsPerConnection = 10'000;

// `grpc:` - one unary method called with one request message. The loader turns
// it into an ordinary RequestSpec (POST to the method with gRPC framing), so the
// agents never need the .proto files.
struct GrpcSpec {
  std::string method;                     // "/package.Service/Method"
  std::vector<std::string> proto_files;   // to encode message_json with
  std::vector<std::string> import_paths;  // default: each proto file's directory
  std::string message_json;               // the request as JSON ("" = none)
  std::string message_file;               // or the serialized request from a file
  std::vector<std::pair<std::string, std::string>> metadata;
  Millis deadline{0};  // 0 = none; sent as grpc-timeout
  bool operator==(const GrpcSpec&) const = default;
};

// Open loop: how requests arrive. Uniform spaces them exactly 1/rate apart;
// Poisson draws exponential gaps (mean 1/rate), as independent users would.
enum class Arrival { kUniform, kPoisson };

// One step of `load.stages` (k6 semantics): the load ramps linearly from the
// previous stage's target (0 before the first stage) to this one's over
// `duration`. Open loop sets `rate`, closed loop `connections`; a stage of
// duration 0 is a step.
struct Stage {
  Millis duration{0};
  double rate = 0;           // open loop: requests/s at the end of the stage
  uint32_t connections = 0;  // closed loop: connections at the end of the stage
  bool operator==(const Stage&) const = default;
};

// Upper bound of load.connection_max_requests.
inline constexpr uint32_t kMaxConnectionRequests = 1'000'000'000;

// Open loop without max_connections: as many as connections, else this many.
inline constexpr uint32_t kDefaultOpenPool = 10;

struct LoadSpec {
  LoadMode mode = LoadMode::kClosed;
  // Closed loop: concurrency (with stages: the pool, at least the largest stage).
  // Open loop: connections opened in advance (the reader's default there is 0:
  // open loop connects on demand, see open_pool_bound).
  uint32_t connections = 10;
  double rate = 0;  // open loop only, total requests/s over all agents; 0 with stages
  Arrival arrival = Arrival::kUniform;
  std::vector<Stage> stages;  // empty: constant load; else duration = their sum, no warm-up
  // Open loop: a due request that finds no idle connection opens one, up to
  // this many; 0 means the default (open_pool_bound).
  uint32_t max_connections = 0;
  // HTTP/2 and gRPC: concurrent streams per connection (closed loop: each is a
  // virtual user, so concurrency = connections x streams_per_connection).
  uint32_t streams_per_connection = 1;
  Millis duration{10'000};
  Millis warmup{0};
  Millis interval{1'000};
  Millis connect_timeout{3'000};
  Millis request_timeout{10'000};
  // Connection policy (HTTP/1.1, HTTP/2 and gRPC alike): a connection that
  // has carried `connection_max_requests` requests (0: no limit), or is older
  // than `connection_max_age` (0: no limit), is closed once its requests in
  // flight are answered and opened again (counted in `reconnects`), so an L4
  // balancer can place it anew. `keep_alive: false`: one request per
  // connection, sent with `Connection: close`, its latency counted from the
  // connect (closed loop; open loop from the intended time, as always).
  uint32_t connection_max_requests = 0;
  Millis connection_max_age{0};
  bool keep_alive = true;
  bool operator==(const LoadSpec&) const = default;
};

// `builtin_target:` asks `horde run` to start the built-in sample service and aim at it.
struct BuiltinTarget {
  uint32_t instances = 1;
  uint32_t workers = 16;
  Millis service_time{2};
  double contention = 0;  // serial fraction shared round-robin by all instances (the formula)
  double crosstalk = 0;   // per update to each other active instance, in service times (channel)
  double lock = 0;        // fraction of each request held on one FIFO lock (a real section)
  bool operator==(const BuiltinTarget&) const = default;
};

// Settings for https:// targets. `ca_pem` is the content of `ca_file`, read
// when the workload is loaded, because agents on other hosts cannot read the
// controller's files.
struct TlsSpec {
  bool insecure_skip_verify = false;  // no certificate or host name check
  std::string ca_file;                // as given; empty: the system's trusted CAs
  std::string ca_pem;                 // PEM certificates from ca_file
  std::string server_name;            // SNI and verified name; empty: the target's host
  bool operator==(const TlsSpec&) const = default;
};

// `baseline: {dir: PATH, tolerance: {p99: 10%}, alpha: 0.01}`: at the end of
// the run, compare it with the results in `dir` (as `horde compare` does) and
// fold the verdict into the exit code: a CI gate in one command.
struct BaselineSpec {
  std::string dir;                          // a results directory, relative to the cwd
  std::map<std::string, double> tolerance;  // overrides of default_tolerances() (tolerance.h)
  double alpha = 0.01;
  bool operator==(const BaselineSpec&) const = default;
};

// Where the load lands (docs/scalability.md, "Is the load reaching every
// instance?"): how a target's host name becomes the addresses connections go
// to, and how each response is attributed to a backend.
struct SpreadSpec {
  // `resolve: first`: one address per name (the first IPv4 one), as before
  // issue 15; default `all`: every address, connections round robin over them.
  bool resolve_first = false;
  // `dns_refresh`: names are resolved again this often during a phase (new
  // connections use the new list); 0: only at the phase start.
  Millis dns_refresh{30'000};
  // `backend: {header: NAME}`: the response header (gRPC: metadata) naming the
  // instance that answered; empty: the backend is the connected address.
  std::string backend_header;
  // `spread_warning`: a phase whose imbalance (max share / mean share) is above
  // this, with more than one backend, is warned about (uneven_spread).
  double spread_warning = 1.2;
  bool operator==(const SpreadSpec&) const = default;
};

struct Workload {
  std::string name;
  std::vector<Url> targets;  // empty only when builtin_target is set
  // Default from the targets' scheme: h2c -> http2, grpc/grpcs -> grpc, else http1.
  Protocol protocol = Protocol::kHttp1;
  std::vector<RequestSpec> requests;  // never empty after loading: default GET of the target
  std::optional<GrpcSpec> grpc;       // protocol grpc: the call `requests` was made from
  LoadSpec load;
  std::vector<Threshold> thresholds;
  std::optional<BuiltinTarget> builtin_target;
  TlsSpec tls;
  Sweep sweep;                             // `sweep:` (empty: one phase)
  std::optional<CapacitySearch> capacity;  // `capacity:`
  FaultPolicy faults;                      // `tolerate_lost_agents:`
  std::optional<BaselineSpec> baseline;    // `baseline:`
  SpreadSpec spread;                       // `resolve`, `dns_refresh`, `backend`, `spread_warning`
  std::vector<ObserveSource> observe;      // `observe:` (common/observe.h)
  // `data:` (common/data_set.h), read from their files at load; templates in
  // `requests` refer to them by name (common/template.h).
  std::vector<DataSet> data;
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
// The distinct request names in the order of `requests` (name_index order);
// ["all requests"] when no request has a `name:` and their default names
// ("METHOD path") are more than kMaxRequestNames: a long URL list is then one name.
std::vector<std::string> request_names(const Workload& w);
std::vector<std::string> request_names(const std::vector<RequestSpec>& requests);
inline constexpr std::string_view kAllRequests = "all requests";

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
  Protocol protocol = Protocol::kHttp1;
  std::vector<RequestSpec> requests;
  LoadSpec load;      // connections, rate, max_connections and stages are this agent's share
  TlsSpec tls;        // ca_pem travels; ca_file is informational only
  SpreadSpec spread;  // spread_warning stays with the controller
  // The run-wide index of this agent's first connection (the connections of
  // the agents before it): connection j of the agent starts at address
  // (first_connection + j) mod n, so all agents together cover every address evenly.
  uint32_t first_connection = 0;
  // Templates (controller/data_plan.h): this agent's rows of each data set
  // (all of them in mode random), and its {{seq}} numbers: seq_first,
  // seq_first + seq_stride, ... (its threads interleave them further).
  std::vector<DataSet> data;
  uint64_t seq_first = 0;
  uint64_t seq_stride = 1;
  std::string agent_name;  // {{agent}}
  bool operator==(const WorkloadSlice&) const = default;
};

}  // namespace horde
