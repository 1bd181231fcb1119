#include "common/report.h"

#include <algorithm>

namespace horde {

namespace {
constexpr std::array<const char*, kErrorClassCount> kErrorClassNames = {
    "connect",  "timeout", "read",   "write", "protocol",          "http_4xx",
    "http_5xx", "stream",  "goaway", "grpc",  "unexpected_status", "unexpected_body"};
constexpr std::array<const char*, kGrpcStatusCount> kGrpcStatusNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
}  // namespace

const char* error_class_name(ErrorClass c) { return kErrorClassNames[static_cast<size_t>(c)]; }

bool error_class_from_name(const std::string& name, ErrorClass* out) {
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    if (name == kErrorClassNames[i]) {
      *out = static_cast<ErrorClass>(i);
      return true;
    }
  }
  return false;
}

void add_names(ByName& into, const ByName& from) {
  for (const auto& [index, stats] : from) into[index].add(stats);
}

const char* grpc_status_name(uint32_t code) {
  return code < kGrpcStatusCount ? kGrpcStatusNames[code] : "UNKNOWN";
}

namespace {
bool fits(uint64_t a, uint64_t b) { return b <= UINT64_MAX - a; }

bool fits(const std::map<uint32_t, uint64_t>& a, const std::map<uint32_t, uint64_t>& b) {
  for (const auto& [code, n] : b) {
    auto it = a.find(code);
    if (it != a.end() && !fits(it->second, n)) return false;
  }
  return true;
}
}  // namespace

bool Counters::can_add(const Counters& o) const {
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    if (!fits(errors_by_class[i], o.errors_by_class[i])) return false;
  }
  return fits(requests, o.requests) && fits(errors, o.errors) &&
         fits(status_codes, o.status_codes) && fits(grpc_status, o.grpc_status) &&
         fits(bytes_sent, o.bytes_sent) && fits(bytes_received, o.bytes_received) &&
         fits(late, o.late) && fits(connections_opened, o.connections_opened) &&
         fits(max_connections_hit, o.max_connections_hit) && fits(skipped, o.skipped) &&
         fits(connections_peak, o.connections_peak) && fits(reconnects, o.reconnects) &&
         fits(data_exhausted, o.data_exhausted);
}

uint64_t Counters::max_count() const {
  uint64_t m =
      std::max({requests, errors, bytes_sent, bytes_received, late, connections_opened,
                max_connections_hit, skipped, connections_peak, reconnects, data_exhausted});
  for (uint64_t n : errors_by_class) m = std::max(m, n);
  for (const auto& [code, n] : status_codes) m = std::max(m, n);
  for (const auto& [code, n] : grpc_status) m = std::max(m, n);
  return m;
}

void Counters::add(const Counters& o) {
  requests += o.requests;
  errors += o.errors;
  for (const auto& [code, n] : o.status_codes) status_codes[code] += n;
  for (const auto& [code, n] : o.grpc_status) grpc_status[code] += n;
  for (size_t i = 0; i < kErrorClassCount; ++i) errors_by_class[i] += o.errors_by_class[i];
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  late += o.late;
  max_schedule_lag_us = std::max(max_schedule_lag_us, o.max_schedule_lag_us);
  cpu_seconds += o.cpu_seconds;
  connections_opened += o.connections_opened;
  max_connections_hit += o.max_connections_hit;
  skipped += o.skipped;
  connections_peak = std::max(connections_peak, o.connections_peak);
  reconnects += o.reconnects;
  data_exhausted += o.data_exhausted;
}

void Counters::add_concurrent(const Counters& o) {
  const uint64_t peak = connections_peak + o.connections_peak;
  add(o);
  connections_peak = peak;
}

}  // namespace horde
