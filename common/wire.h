// Conversions between horde's value types and the horde.v1 wire messages.
// Everything that arrives from the network passes through the `from_wire`
// functions, which validate before anything is used: bucket indexes in range,
// counts that add up, known error classes, bounded strings and sizes.
#pragma once

#include "common/report.h"
#include "common/result.h"
#include "common/workload.h"
#include "horde/v1/session.pb.h"

namespace horde {

// Bounds on what a peer may send; larger values are rejected, never trusted.
inline constexpr size_t kMaxNameLength = 256;
inline constexpr size_t kMaxStatusCodes = 600;
inline constexpr uint32_t kMaxSliceRequests = kMaxRequests;
inline constexpr uint32_t kMaxConnectionsPerAgent = 1'000'000;

void to_wire(const Histogram& h, v1::SparseHistogram* out);
Result<Histogram> from_wire(const v1::SparseHistogram& in);
// The same into `out`, reusing its bucket storage (a histogram is 188 KB: the
// controller decodes a thousand reports a second into one). `out` is undefined
// after an error.
Result<bool> from_wire(const v1::SparseHistogram& in, Histogram* out);

void to_wire(const Counters& c, v1::Counters* out);
Result<Counters> from_wire(const v1::Counters& in);

// Per-backend counts: at most kMaxBackends ids plus "other", each 1 to
// kMaxBackendIdBytes of UTF-8, no id twice, errors within requests.
using WireBackends = google::protobuf::RepeatedPtrField<v1::BackendCounters>;
void to_wire(const Backends& b, WireBackends* out);
Result<Backends> from_wire(const WireBackends& in);

// Per request name: at most kMaxRequestNames indexes below it, each once,
// errors within requests.
using WireNames = google::protobuf::RepeatedPtrField<v1::NameCounters>;
void to_wire(const ByName& n, WireNames* out);
Result<ByName> from_wire(const WireNames& in);

// A report's backends must add up to its counters (requests and errors) when
// it has any: the sum over backends is the totals, always.
void to_wire(const IntervalReport& r, const std::string& run_id, v1::Report* out);
Result<IntervalReport> from_wire(const v1::Report& in);
Result<bool> from_wire(const v1::Report& in, IntervalReport* out);

void to_wire(const WorkloadSlice& s, v1::WorkloadSlice* out);
Result<WorkloadSlice> from_wire(const v1::WorkloadSlice& in);

// A lost agent's share handed to a survivor (workload `rebalance: true`). Both
// levels are absolute, relative to the assignment: a repeated order changes nothing.
struct Rebalance {
  std::string run_id;
  uint32_t phase = 0;
  double rate_factor = 0;    // open loop: assigned rate (every stage) times this; 0: unchanged
  uint32_t connections = 0;  // closed loop: the agent's new concurrency; 0: unchanged
  int64_t from_unix_ns = 0;  // the agent's clock
  bool operator==(const Rebalance&) const = default;
};
inline constexpr double kMaxRebalanceFactor = 1000;

void to_wire(const Rebalance& r, v1::Rebalance* out);
// Rejects a factor that is not finite or outside (0, 1000], connections above
// kMaxConnectionsPerAgent, an order that changes nothing, a bad start time.
Result<Rebalance> from_wire(const v1::Rebalance& in);
// The assigned slice with the order applied (rate and stage rates scaled, or the
// connection count replaced); an error when the order does not fit the slice's mode.
Result<WorkloadSlice> rebalanced(const WorkloadSlice& assigned, const Rebalance& r);

}  // namespace horde
