#include "common/wire.h"

#include <fmt/format.h>

#include <cmath>

#include "common/text.h"

namespace horde {

void to_wire(const Histogram& h, v1::SparseHistogram* out) {
  out->Clear();
  size_t previous = 0;
  bool first = true;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    const uint64_t n = h.count_at(i);
    if (n == 0) continue;
    out->add_gap(static_cast<uint32_t>(first ? i : i - previous));
    out->add_count(n);
    previous = i;
    first = false;
  }
  out->set_min_us(h.min());
  out->set_max_us(h.max());
}

Result<bool> from_wire(const v1::SparseHistogram& in, Histogram* out) {
  if (in.gap_size() != in.count_size()) {
    return Error{
        fmt::format("histogram: {} bucket gaps but {} counts", in.gap_size(), in.count_size())};
  }
  Histogram& h = *out;
  h.reset();
  size_t index = 0;
  for (int i = 0; i < in.gap_size(); ++i) {
    if (i > 0 && in.gap(i) == 0) return Error{"histogram: repeated bucket index"};
    index += in.gap(i);
    if (in.count(i) == 0) return Error{"histogram: empty bucket sent as non-empty"};
    if (!h.add_at(index, in.count(i))) {
      return Error{
          fmt::format("histogram: bucket index {} out of range (< {})", index, h.bucket_count())};
    }
  }
  if (!h.empty()) {
    if (in.min_us() < 0 || in.max_us() < in.min_us() || in.max_us() > Histogram::kHighestUs) {
      return Error{"histogram: min/max out of range"};
    }
    if (Histogram::index_for(in.min_us()) > Histogram::index_for(in.max_us())) {
      return Error{"histogram: min above max"};
    }
    h.merge_extremes(in.min_us(), in.max_us());
  }
  return true;
}

Result<Histogram> from_wire(const v1::SparseHistogram& in) {
  Histogram h;
  if (auto ok = from_wire(in, &h); !ok) return ok.error();
  return h;
}

void to_wire(const Counters& c, v1::Counters* out) {
  out->Clear();
  out->set_requests(c.requests);
  out->set_errors(c.errors);
  for (const auto& [code, n] : c.status_codes) {
    auto* s = out->add_status_codes();
    s->set_code(code);
    s->set_count(n);
  }
  for (const auto& [code, n] : c.grpc_status) {
    auto* s = out->add_grpc_status();
    s->set_code(code);
    s->set_count(n);
  }
  for (size_t i = 0; i < kErrorClassCount; ++i) {
    if (c.errors_by_class[i] == 0) continue;
    auto* e = out->add_errors_by_class();
    e->set_error_class(error_class_name(static_cast<ErrorClass>(i)));
    e->set_count(c.errors_by_class[i]);
  }
  out->set_bytes_sent(c.bytes_sent);
  out->set_bytes_received(c.bytes_received);
  out->set_late(c.late);
  out->set_max_schedule_lag_us(c.max_schedule_lag_us);
  out->set_cpu_seconds(c.cpu_seconds);
  out->set_connections_opened(c.connections_opened);
  out->set_max_connections_hit(c.max_connections_hit);
  out->set_skipped(c.skipped);
  out->set_connections_peak(c.connections_peak);
  out->set_reconnects(c.reconnects);
  out->set_data_exhausted(c.data_exhausted);
}

Result<Counters> from_wire(const v1::Counters& in) {
  Counters c;
  c.requests = in.requests();
  c.errors = in.errors();
  if (c.errors > c.requests) return Error{"counters: more errors than requests"};
  if (static_cast<size_t>(in.status_codes_size()) > kMaxStatusCodes) {
    return Error{"counters: too many status codes"};
  }
  for (const auto& s : in.status_codes()) {
    if (s.code() < 100 || s.code() > 999) {
      return Error{fmt::format("counters: status code {} out of range", s.code())};
    }
    c.status_codes[s.code()] += s.count();
  }
  if (static_cast<size_t>(in.grpc_status_size()) > kGrpcStatusCount) {
    return Error{"counters: too many grpc status codes"};
  }
  uint64_t calls = 0;
  for (const auto& s : in.grpc_status()) {
    if (s.code() >= kGrpcStatusCount) {
      return Error{fmt::format("counters: grpc status {} out of range (0..16)", s.code())};
    }
    if (calls + s.count() < calls || calls + s.count() > c.requests) {
      return Error{"counters: grpc status counts exceed the request count"};
    }
    calls += s.count();
    c.grpc_status[s.code()] += s.count();
  }
  uint64_t classified = 0;
  for (const auto& e : in.errors_by_class()) {
    ErrorClass cls;
    if (e.error_class().size() > kMaxNameLength || !error_class_from_name(e.error_class(), &cls)) {
      return Error{
          fmt::format("counters: unknown error class \"{}\"", e.error_class().substr(0, 32))};
    }
    if (e.count() > c.errors || classified + e.count() < classified) {
      return Error{"counters: errors by class exceed the error count"};
    }
    c.errors_by_class[static_cast<size_t>(cls)] += e.count();
    classified += e.count();
  }
  if (classified != c.errors) {
    return Error{
        fmt::format("counters: errors by class add up to {}, not {}", classified, c.errors)};
  }
  c.bytes_sent = in.bytes_sent();
  c.bytes_received = in.bytes_received();
  c.late = in.late();
  c.max_schedule_lag_us = in.max_schedule_lag_us();
  if (!std::isfinite(in.cpu_seconds()) || in.cpu_seconds() < 0) {
    return Error{"counters: cpu_seconds must be a finite number >= 0"};
  }
  c.cpu_seconds = in.cpu_seconds();
  c.connections_opened = in.connections_opened();
  c.max_connections_hit = in.max_connections_hit();
  c.skipped = in.skipped();
  c.connections_peak = in.connections_peak();
  c.reconnects = in.reconnects();
  c.data_exhausted = in.data_exhausted();
  return c;
}

void to_wire(const IntervalReport& r, const std::string& run_id, v1::Report* out) {
  out->set_run_id(run_id);
  out->set_phase(r.phase);
  out->set_interval(r.interval);
  to_wire(r.counters, out->mutable_counters());
  to_wire(r.latency, out->mutable_latency());
  to_wire(r.backends, out->mutable_backends());
  to_wire(r.names, out->mutable_names());
}

void to_wire(const ByName& n, WireNames* out) {
  out->Clear();
  for (const auto& [index, s] : n) {
    auto* o = out->Add();
    o->set_index(index);
    to_wire(s.counters, o->mutable_counters());
    to_wire(s.latency, o->mutable_latency());
  }
}

Result<ByName> from_wire(const WireNames& in) {
  ByName n;
  if (static_cast<size_t>(in.size()) > kMaxRequestNames) {
    return Error{fmt::format("names: more than {}", kMaxRequestNames)};
  }
  for (const auto& o : in) {
    if (o.index() >= kMaxRequestNames || n.count(o.index()) != 0) {
      return Error{"names: an index out of range or given twice"};
    }
    auto counters = from_wire(o.counters());
    if (!counters) return Error{"names: " + counters.error().message};
    NameStats s;
    s.counters = std::move(*counters);
    if (auto ok = from_wire(o.latency(), &s.latency); !ok) return ok.error();
    if (s.latency.total_count() > s.counters.requests) {
      return Error{"names: more latency samples than requests"};
    }
    n.emplace(o.index(), std::move(s));
  }
  return n;
}

void to_wire(const Backends& b, WireBackends* out) {
  out->Clear();
  for (const auto& [id, s] : b.by_id) {
    auto* o = out->Add();
    o->set_id(id);
    o->set_requests(s.requests);
    o->set_errors(s.errors);
    for (const auto& [code, n] : s.status_codes) {
      auto* c = o->add_status_codes();
      c->set_code(code);
      c->set_count(n);
    }
    to_wire(s.latency, o->mutable_latency());
  }
}

Result<Backends> from_wire(const WireBackends& in) {
  Backends b;
  if (static_cast<size_t>(in.size()) > kMaxBackends + 1) {
    return Error{fmt::format("backends: more than {} (plus other)", kMaxBackends)};
  }
  for (const auto& o : in) {
    if (o.id().empty() || o.id().size() > kMaxBackendIdBytes || !text::valid_utf8(o.id())) {
      return Error{"backends: an id must be 1 to 128 bytes of UTF-8"};
    }
    if (b.by_id.count(o.id()) != 0) return Error{"backends: an id given twice"};
    if (o.id() != kOtherBackend && b.named() >= kMaxBackends) {
      return Error{fmt::format("backends: more than {} named", kMaxBackends)};
    }
    BackendStats s;
    s.requests = o.requests();
    s.errors = o.errors();
    if (s.errors > s.requests) return Error{"backends: more errors than requests"};
    if (static_cast<size_t>(o.status_codes_size()) > kMaxStatusCodes) {
      return Error{"backends: too many status codes"};
    }
    uint64_t answered = 0;
    for (const auto& c : o.status_codes()) {
      if (c.code() < 100 || c.code() > 999 || c.count() > s.requests ||
          answered + c.count() > s.requests) {
        return Error{"backends: status codes out of range or over the request count"};
      }
      answered += c.count();
      s.status_codes[c.code()] += c.count();
    }
    if (auto ok = from_wire(o.latency(), &s.latency); !ok) return ok.error();
    if (s.latency.total_count() > s.requests) {
      return Error{"backends: more latency samples than requests"};
    }
    b.by_id.emplace(o.id(), std::move(s));
  }
  return b;
}

Result<bool> from_wire(const v1::Report& in, IntervalReport* out) {
  IntervalReport& r = *out;
  r.phase = in.phase();
  r.interval = in.interval();
  auto counters = from_wire(in.counters());
  if (!counters) return counters.error();
  r.counters = std::move(*counters);
  if (auto ok = from_wire(in.latency(), &r.latency); !ok) return ok.error();
  if (r.latency.total_count() > r.counters.requests) {
    return Error{"report: more latency samples than requests"};
  }
  auto backends = from_wire(in.backends());
  if (!backends) return backends.error();
  r.backends = std::move(*backends);
  if (!r.backends.empty()) {
    uint64_t requests = 0;
    uint64_t errors = 0;
    for (const auto& [id, s] : r.backends.by_id) {
      if (requests + s.requests < requests || errors + s.errors < errors) {
        return Error{"report: backend counts overflow"};
      }
      requests += s.requests;
      errors += s.errors;
    }
    if (requests != r.counters.requests || errors != r.counters.errors) {
      return Error{fmt::format(
          "report: backends add up to {} requests and {} errors, the counters say {} and {}",
          requests, errors, r.counters.requests, r.counters.errors)};
    }
  }
  auto names = from_wire(in.names());
  if (!names) return names.error();
  r.names = std::move(*names);
  if (!r.names.empty()) {
    Counters sum;
    for (const auto& [index, s] : r.names) {
      if (!sum.can_add(s.counters)) return Error{"report: name counts overflow"};
      sum.add(s.counters);
    }
    if (sum.requests != r.counters.requests || sum.errors != r.counters.errors) {
      return Error{fmt::format(
          "report: names add up to {} requests and {} errors, the counters say {} and {}",
          sum.requests, sum.errors, r.counters.requests, r.counters.errors)};
    }
  }
  return true;
}

Result<IntervalReport> from_wire(const v1::Report& in) {
  IntervalReport r;
  if (auto ok = from_wire(in, &r); !ok) return ok.error();
  return r;
}

}  // namespace horde
