// What an agent measures in one interval (or a whole phase): counters plus the
// latency histogram delta. Plain values: the agent fills them, the wire codec
// carries them, the controller adds them up.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "common/backends.h"
#include "common/histogram.h"

namespace horde {

enum class ErrorClass : uint8_t {
  kConnect,
  kTimeout,
  kRead,
  kWrite,
  kProtocol,
  kHttp4xx,
  kHttp5xx,
  kStream,            // HTTP/2: the server reset the stream (RST_STREAM)
  kGoaway,            // HTTP/2: a stream the server refused or dropped with GOAWAY
  kGrpc,              // gRPC: the call ended with a grpc-status other than OK
  kUnexpectedStatus,  // a status not in the request's expect.status
  kUnexpectedBody     // a good status, but the body lacks expect.body_contains
};
inline constexpr size_t kErrorClassCount = 12;
// "connect", "timeout", "read", "write", "protocol", "http_4xx", "http_5xx",
// "stream", "goaway", "grpc", "unexpected_status", "unexpected_body"
const char* error_class_name(ErrorClass c);
// Inverse of error_class_name; false for an unknown name.
bool error_class_from_name(const std::string& name, ErrorClass* out);

// gRPC status codes 0..16 by their canonical names ("OK", "CANCELLED", ...,
// "UNAUTHENTICATED"); "UNKNOWN" for anything above 16.
inline constexpr uint32_t kGrpcStatusCount = 17;
const char* grpc_status_name(uint32_t code);

struct Counters {
  uint64_t requests = 0;  // finished: a response or an error
  uint64_t errors = 0;
  std::map<uint32_t, uint64_t> status_codes;
  std::map<uint32_t, uint64_t> grpc_status;  // gRPC: grpc-status code -> calls, OK included
  std::array<uint64_t, kErrorClassCount> errors_by_class{};
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t late = 0;  // open loop: sent more than 1 ms after the intended time
  int64_t max_schedule_lag_us = 0;
  double cpu_seconds = 0;
  uint64_t connections_opened = 0;
  // Open loop: due requests that found every connection busy and the pool at
  // load.max_connections (or at load.connections without growth).
  uint64_t max_connections_hit = 0;
  // Open loop: requests due before the agent could start them (an assignment
  // whose start time had already passed), dropped instead of sent in a burst.
  uint64_t skipped = 0;
  // The most connections open at once: in one interval the threads' and
  // agents' peaks add up (add_concurrent); over intervals the larger is kept (add).
  uint64_t connections_peak = 0;
  // Connections opened again after one closed (by either side) or failed to connect.
  uint64_t reconnects = 0;
  // Requests not sent because a data set in mode unique had no row left.
  uint64_t data_exhausted = 0;

  // Adds counters of another span of time: counts add up, peaks take the larger.
  void add(const Counters& o);
  // Adds counters of the same span from another thread or agent: peaks add up too.
  void add_concurrent(const Counters& o);
  // False when add(o) would wrap a count (the merge then rejects the report).
  bool can_add(const Counters& o) const;
  // The largest of the counts (requests, errors, codes, classes, bytes, ...).
  uint64_t max_count() const;
  bool operator==(const Counters&) const = default;
};

// One request name's counts (requests, errors, status codes, error classes;
// the other Counters fields stay 0) and latency.
struct NameStats {
  Counters counters;
  Histogram latency;
  void add(const NameStats& o) {
    counters.add(o.counters);
    latency.add(o.latency);
  }
  bool operator==(const NameStats&) const = default;
};
// By the index of the name in the workload's request names. Empty when the
// workload has one name: its figures are then the totals themselves.
using ByName = std::map<uint32_t, NameStats>;
void add_names(ByName& into, const ByName& from);

struct IntervalReport {
  uint32_t phase = 0;
  uint32_t interval = 0;
  Counters counters;
  Histogram latency;
  Backends backends;  // requests and errors add up to the counters'
  ByName names;       // likewise
  bool operator==(const IntervalReport&) const = default;
};

}  // namespace horde
