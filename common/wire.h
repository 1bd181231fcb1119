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
inline constexpr uint32_t kMaxSliceRequests = 1024;
inline constexpr uint32_t kMaxConnectionsPerAgent = 1'000'000;

void to_wire(const Histogram& h, v1::SparseHistogram* out);
Result<Histogram> from_wire(const v1::SparseHistogram& in);

void to_wire(const Counters& c, v1::Counters* out);
Result<Counters> from_wire(const v1::Counters& in);

void to_wire(const IntervalReport& r, const std::string& run_id, v1::Report* out);
Result<IntervalReport> from_wire(const v1::Report& in);

void to_wire(const WorkloadSlice& s, v1::WorkloadSlice* out);
Result<WorkloadSlice> from_wire(const v1::WorkloadSlice& in);

}  // namespace horde
