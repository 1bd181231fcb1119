// One engine thread's measurements since its last interval boundary, in plain
// fields: counters, status codes in a fixed array indexed by code (no map on the
// hot path), and the latency histogram. Turned into the wire-level Counters once
// per interval, off the hot path.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "common/histogram.h"
#include "common/report.h"

namespace horde {

inline constexpr size_t kStatusSlots = 1000;  // http-parser accepts 3-digit status codes only

struct ThreadRecorder {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::array<uint64_t, kErrorClassCount> errors_by_class{};
  std::array<uint64_t, kStatusSlots> status{};
  std::array<uint64_t, kGrpcStatusCount> grpc_status{};  // codes above 16 count as UNKNOWN (2)
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t late = 0;
  int64_t max_schedule_lag_us = 0;
  uint64_t connections_opened = 0;
  uint64_t max_connections_hit = 0;
  uint64_t skipped = 0;
  uint64_t connections_peak = 0;  // the most open at once in this interval
  uint64_t reconnects = 0;
  uint64_t data_exhausted = 0;
  Histogram latency;

  Counters to_counters() const {
    Counters c;
    c.requests = requests;
    c.errors = errors;
    c.errors_by_class = errors_by_class;
    for (size_t code = 0; code < kStatusSlots; ++code) {
      if (status[code] != 0) c.status_codes[static_cast<uint32_t>(code)] = status[code];
    }
    for (uint32_t code = 0; code < kGrpcStatusCount; ++code) {
      if (grpc_status[code] != 0) c.grpc_status[code] = grpc_status[code];
    }
    c.bytes_sent = bytes_sent;
    c.bytes_received = bytes_received;
    c.late = late;
    c.max_schedule_lag_us = max_schedule_lag_us;
    c.connections_opened = connections_opened;
    c.max_connections_hit = max_connections_hit;
    c.skipped = skipped;
    c.connections_peak = connections_peak;
    c.reconnects = reconnects;
    c.data_exhausted = data_exhausted;
    return c;
  }
  void reset() {
    Histogram keep = std::move(latency);
    *this = ThreadRecorder{};
    keep.reset();
    latency = std::move(keep);  // keeps the bucket storage: no reallocation per interval
  }
};

}  // namespace horde
