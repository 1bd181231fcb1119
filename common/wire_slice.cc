// The controller -> agent half of the wire: an agent's WorkloadSlice (targets,
// requests, load, TLS, data sets) and the Rebalance order, each validated on
// arrival like everything from the network (common/wire.h).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/load_validate.h"
#include "common/template.h"
#include "common/text.h"
#include "common/wire.h"

namespace horde {

namespace {
// Anything past int64 is as wrong as -1 ms: validate() refuses it.
Millis to_millis(uint64_t ms) {
  return ms > static_cast<uint64_t>(INT64_MAX) ? Millis(-1) : Millis(static_cast<int64_t>(ms));
}
constexpr int kMaxSliceStages = 1000;
constexpr size_t kMaxCaPemBytes = 1 << 20;
}  // namespace

namespace {

// The slice's data sets and templates: sizes bounded, the cell offsets in
// order and within the cells, every template parsed and bound to the sets
// (HTTP/1.1 and HTTP/2; not gRPC's binary body), so the agent compiles
// nothing that can fail.
Result<bool> data_from_wire(const v1::WorkloadSlice& in, WorkloadSlice* s) {
  if (in.data_size() > static_cast<int>(kMaxDataSets)) {
    return Error{fmt::format("slice: data: at most {} data sets", kMaxDataSets)};
  }
  size_t total = 0;
  for (const auto& d : in.data()) {
    DataSet set;
    set.name = d.name();
    if (set.name.empty() || set.name.size() > kMaxNameLength) {
      return Error{"slice: data: a data set needs a name of 1 to 256 bytes"};
    }
    if (!data_mode_from_name(d.mode(), &set.mode)) {
      return Error{"slice: data: mode must be cycle, random or unique"};
    }
    if (d.columns_size() == 0 || d.columns_size() > static_cast<int>(kMaxDataColumns)) {
      return Error{fmt::format("slice: data: 1 to {} columns", kMaxDataColumns)};
    }
    for (const auto& c : d.columns()) {
      if (c.empty() || c.size() > kMaxNameLength) {
        return Error{"slice: data: column names of 1 to 256 bytes"};
      }
      set.columns.push_back(c);
    }
    total += d.cells().size();
    if (total > kMaxDataBytes) {
      return Error{fmt::format("slice: data: over {} MiB", kMaxDataBytes >> 20)};
    }
    if (d.ends_size() % d.columns_size() != 0) {
      return Error{"slice: data: the cell count is not a multiple of the columns"};
    }
    uint32_t last = 0;
    for (uint32_t e : d.ends()) {
      if (e < last || e > d.cells().size()) return Error{"slice: data: cell offsets out of order"};
      last = e;
    }
    if (!d.ends().empty() && last != d.cells().size()) {
      return Error{"slice: data: the cells do not end where the last offset says"};
    }
    set.cells = d.cells();
    set.ends.assign(d.ends().begin(), d.ends().end());
    set.first_missing.assign(set.columns.size(), 0);
    if (set.rows() == 0 && set.mode != DataMode::kUnique) {
      return Error{"slice: data: a data set in mode cycle or random needs a row"};
    }
    s->data.push_back(std::move(set));
  }
  if (in.agent_name().size() > kMaxNameLength) return Error{"slice: agent_name too long"};
  s->seq_first = in.seq_first();
  s->seq_stride = std::max<uint64_t>(1, in.seq_stride());
  s->agent_name = in.agent_name();
  std::vector<DataColumns> columns;
  for (const DataSet& d : s->data) columns.push_back({d.name, d.columns});
  auto check = [&](const std::string& field, FieldKind kind,
                   TemplateSyntax syntax = TemplateSyntax::kRequest) -> Result<bool> {
    if (!has_template(field)) return true;
    auto t = parse_template(field, syntax);
    if (!t) return Error{"slice: request template: " + t.error().message};
    if (!fits_field(t->text, kind)) {
      return Error{"slice: request template: spaces or control characters outside {{ }}"};
    }
    if (t->is_static()) return true;
    if (auto ok = bind_template(*t, columns); !ok) {
      return Error{"slice: request template: " + ok.error().message};
    }
    const std::vector<bool> integer = integer_pieces(*t);
    for (size_t i = 0; i < t->pieces.size(); ++i) {
      const TemplatePiece& p = t->pieces[i];
      if (p.fn != TemplateFn::kData) continue;
      const DataSet& d = s->data[p.set_index];
      if (first_unfit_row(d, p.column_index, integer[i] ? FieldKind::kInteger : kind) < d.rows()) {
        return Error{"slice: data: a value does not fit the field it is used in"};
      }
    }
    return true;
  };
  // A gRPC call's body is its message, made by the controller in protobuf syntax.
  const TemplateSyntax body =
      s->protocol == Protocol::kGrpc ? TemplateSyntax::kProtobuf : TemplateSyntax::kRequest;
  for (const RequestSpec& r : s->requests) {
    if (auto ok = check(r.path, FieldKind::kPath); !ok) return ok;
    for (const auto& h : r.headers) {
      if (auto ok = check(h.second, FieldKind::kHeader); !ok) return ok;
    }
    if (auto ok = check(r.body, FieldKind::kBody, body); !ok) return ok;
  }
  return true;
}

}  // namespace

void to_wire(const WorkloadSlice& s, v1::WorkloadSlice* out) {
  out->Clear();
  for (const auto& t : s.targets) out->add_targets(t.text);
  for (const auto& r : s.requests) {
    auto* q = out->add_requests();
    q->set_method(r.method);
    q->set_path(r.path);
    for (const auto& [name, value] : r.headers) {
      auto* h = q->add_headers();
      h->set_name(name);
      h->set_value(value);
    }
    q->set_body(r.body);
    q->set_weight(r.weight);
    q->set_name_index(r.name_index);
    for (uint16_t code : r.expect_status) q->add_expect_status(code);
    q->set_expect_body(r.expect_body);
  }
  out->set_open_loop(s.load.mode == LoadMode::kOpen);
  out->set_connections(s.load.connections);
  out->set_rate(s.load.rate);
  out->set_duration_ms(static_cast<uint64_t>(s.load.duration.count()));
  out->set_warmup_ms(static_cast<uint64_t>(s.load.warmup.count()));
  out->set_interval_ms(static_cast<uint64_t>(s.load.interval.count()));
  out->set_connect_timeout_ms(static_cast<uint64_t>(s.load.connect_timeout.count()));
  out->set_request_timeout_ms(static_cast<uint64_t>(s.load.request_timeout.count()));
  out->set_arrival(s.load.arrival == Arrival::kPoisson ? "poisson" : "uniform");
  for (const Stage& st : s.load.stages) {
    auto* o = out->add_stages();
    o->set_duration_ms(static_cast<uint64_t>(st.duration.count()));
    o->set_rate(st.rate);
    o->set_connections(st.connections);
  }
  out->set_max_connections(s.load.max_connections);
  out->set_protocol(protocol_name(s.protocol));
  out->set_streams_per_connection(s.load.streams_per_connection);
  out->set_connection_max_requests(s.load.connection_max_requests);
  out->set_connection_max_age_ms(static_cast<uint64_t>(s.load.connection_max_age.count()));
  out->set_no_keep_alive(!s.load.keep_alive);
  auto* tls = out->mutable_tls();
  tls->set_insecure_skip_verify(s.tls.insecure_skip_verify);
  tls->set_ca_pem(s.tls.ca_pem);
  tls->set_server_name(s.tls.server_name);
  tls->set_ca_file(s.tls.ca_file);
  out->set_resolve_first(s.spread.resolve_first);
  out->set_dns_refresh_ms(static_cast<uint64_t>(s.spread.dns_refresh.count()));
  out->set_backend_header(s.spread.backend_header);
  out->set_first_connection(s.first_connection);
  for (const DataSet& d : s.data) {
    auto* o = out->add_data();
    o->set_name(d.name);
    o->set_mode(data_mode_name(d.mode));
    for (const auto& c : d.columns) o->add_columns(c);
    o->set_cells(d.cells);
    for (uint32_t e : d.ends) o->add_ends(e);
  }
  out->set_seq_first(s.seq_first);
  out->set_seq_stride(s.seq_stride);
  out->set_agent_name(s.agent_name);
}

Result<WorkloadSlice> from_wire(const v1::WorkloadSlice& in) {
  WorkloadSlice s;
  if (in.targets_size() == 0 || in.targets_size() > static_cast<int>(kMaxTargets)) {
    return Error{fmt::format("slice: targets: need 1 to {} URLs", kMaxTargets)};
  }
  for (const auto& t : in.targets()) {
    auto url = parse_url(t);
    if (!url) return Error{"slice: targets: " + url.error().message};
    s.targets.push_back(*url);
  }
  if (in.requests_size() == 0 || in.requests_size() > static_cast<int>(kMaxSliceRequests)) {
    return Error{fmt::format("slice: requests: need 1 to {} requests", kMaxSliceRequests)};
  }
  for (const auto& q : in.requests()) {
    RequestSpec r;
    r.method = q.method();
    r.path = q.path();
    // Both go into the request line verbatim: a space, CR or LF would let a peer
    // inject headers or a second request.
    if (r.method.empty() || r.method.size() > 16 ||
        !std::all_of(r.method.begin(), r.method.end(),
                     [](char c) { return std::isupper(static_cast<unsigned char>(c)); })) {
      return Error{"slice: request method invalid (expected 1 to 16 letters A-Z)"};
    }
    if (!r.path.empty() && r.path[0] != '/') return Error{"slice: request path must start with /"};
    if (!has_template(r.path) && std::any_of(r.path.begin(), r.path.end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u <= 0x20 || u == 0x7f;
        })) {
      return Error{"slice: request path contains spaces or control characters"};
    }
    for (const auto& h : q.headers()) {
      if (h.name().find_first_of("\r\n:") != std::string::npos ||
          h.value().find_first_of("\r\n") != std::string::npos) {
        return Error{"slice: request header contains CR, LF or ':' in its name"};
      }
      r.headers.emplace_back(h.name(), h.value());
    }
    r.body = q.body();
    if (q.weight() == 0) return Error{"slice: request weight must be >= 1"};
    r.weight = q.weight();
    if (q.name_index() >= kMaxRequestNames) {
      return Error{fmt::format("slice: request name index {} (at most {} names)", q.name_index(),
                               kMaxRequestNames)};
    }
    r.name_index = static_cast<uint16_t>(q.name_index());
    if (q.expect_status_size() > 500) return Error{"slice: more than 500 expected status codes"};
    for (uint32_t code : q.expect_status()) {
      if (code < 100 || code > 599) return Error{"slice: expected status code out of 100..599"};
      r.expect_status.push_back(static_cast<uint16_t>(code));
    }
    if (q.expect_body().size() > kMaxBodyContains) {
      return Error{fmt::format("slice: expect.body_contains of {} bytes (at most {})",
                               q.expect_body().size(), kMaxBodyContains)};
    }
    r.expect_body = q.expect_body();
    s.requests.push_back(std::move(r));
  }
  s.load.mode = in.open_loop() ? LoadMode::kOpen : LoadMode::kClosed;
  s.load.connections = in.connections();
  s.load.rate = in.rate();  // with stages the rate comes from them (load.rate is then 0)
  // Durations over a day (kMaxPhaseTime) are refused by validate() below.
  s.load.duration = to_millis(in.duration_ms());
  s.load.warmup = to_millis(in.warmup_ms());
  s.load.interval = to_millis(in.interval_ms());
  s.load.connect_timeout = to_millis(in.connect_timeout_ms());
  s.load.request_timeout = to_millis(in.request_timeout_ms());
  if (in.arrival().empty() || in.arrival() == "uniform") {
    s.load.arrival = Arrival::kUniform;
  } else if (in.arrival() == "poisson") {
    s.load.arrival = Arrival::kPoisson;
  } else {
    return Error{"slice: arrival must be uniform or poisson"};
  }
  if (in.stages_size() > kMaxSliceStages) {
    return Error{fmt::format("slice: stages: at most {}", kMaxSliceStages)};
  }
  for (const auto& st : in.stages()) {
    s.load.stages.push_back(Stage{to_millis(st.duration_ms()), st.rate(), st.connections()});
  }
  s.load.max_connections = in.max_connections();
  s.load.connection_max_requests = in.connection_max_requests();
  // Ages over a day (kMaxPhaseTime) are refused by validate() below.
  s.load.connection_max_age = to_millis(in.connection_max_age_ms());
  s.load.keep_alive = !in.no_keep_alive();
  // The streams count takes part in validate()'s keep_alive rule.
  s.load.streams_per_connection = std::max<uint32_t>(1, in.streams_per_connection());
  // The rules between the fields are the workload file's (common/load_validate.h).
  if (auto ok = validate(s.load, LoadCheck{.agent_share = true}); !ok) {
    return Error{"slice: " + ok.error().message};
  }
  if (in.protocol().empty()) {
    s.protocol = Protocol::kHttp1;
  } else if (in.protocol().size() > kMaxNameLength ||
             !protocol_from_name(in.protocol(), &s.protocol)) {
    return Error{"slice: protocol must be http1, http2 or grpc"};
  }
  // 0 from an older controller means the default.
  if (in.streams_per_connection() > kMaxStreamsPerConnection) {
    return Error{
        fmt::format("slice: streams_per_connection must be 1 .. {}", kMaxStreamsPerConnection)};
  }
  s.load.streams_per_connection = std::max<uint32_t>(1, in.streams_per_connection());
  if (s.protocol == Protocol::kHttp1 && s.load.streams_per_connection != 1) {
    return Error{"slice: streams_per_connection above 1 needs protocol http2 or grpc"};
  }
  if (in.tls().ca_pem().size() > kMaxCaPemBytes || in.tls().server_name().size() > 255 ||
      in.tls().ca_file().size() > 4096) {
    return Error{"slice: tls: CA bundle over 1 MiB or names too long"};
  }
  s.tls.insecure_skip_verify = in.tls().insecure_skip_verify();
  s.tls.ca_pem = in.tls().ca_pem();
  s.tls.server_name = in.tls().server_name();
  s.tls.ca_file = in.tls().ca_file();
  if (in.dns_refresh_ms() > static_cast<uint64_t>(kMaxPhaseTime.count())) {
    return Error{"slice: dns_refresh_ms over 24h"};
  }
  if (!in.backend_header().empty() && !text::is_header_name(in.backend_header())) {
    return Error{"slice: backend_header must be an HTTP header name (letters, digits, -)"};
  }
  s.spread.resolve_first = in.resolve_first();
  s.spread.dns_refresh = Millis(static_cast<int64_t>(in.dns_refresh_ms()));
  s.spread.backend_header = in.backend_header();
  s.first_connection = in.first_connection();
  if (auto ok = data_from_wire(in, &s); !ok) return ok.error();
  return s;
}

void to_wire(const Rebalance& r, v1::Rebalance* out) {
  out->set_run_id(r.run_id);
  out->set_phase(r.phase);
  out->set_rate_factor(r.rate_factor);
  out->set_connections(r.connections);
  out->set_from_unix_ns(r.from_unix_ns);
}

Result<Rebalance> from_wire(const v1::Rebalance& in) {
  if (in.run_id().size() > kMaxNameLength) return Error{"rebalance: run_id too long"};
  const double f = in.rate_factor();
  if (!std::isfinite(f) || f < 0 || f > kMaxRebalanceFactor) {
    return Error{fmt::format("rebalance: rate_factor must be 0 (unchanged) or in (0, {}]",
                             kMaxRebalanceFactor)};
  }
  if (in.connections() > kMaxConnectionsPerAgent) {
    return Error{
        fmt::format("rebalance: connections must be 0 (unchanged) .. {}", kMaxConnectionsPerAgent)};
  }
  if (f == 0 && in.connections() == 0)
    return Error{"rebalance: changes neither rate nor connections"};
  if (in.from_unix_ns() <= 0) return Error{"rebalance: from_unix_ns must be a time > 0"};
  return Rebalance{in.run_id(), in.phase(), f, in.connections(), in.from_unix_ns()};
}

Result<WorkloadSlice> rebalanced(const WorkloadSlice& assigned, const Rebalance& r) {
  WorkloadSlice s = assigned;
  if (s.load.mode == LoadMode::kOpen) {
    if (r.connections != 0) return Error{"rebalance: connections given for an open-loop phase"};
    s.load.rate *= r.rate_factor;
    for (Stage& st : s.load.stages) st.rate *= r.rate_factor;
    return s;
  }
  if (r.rate_factor != 0) return Error{"rebalance: rate_factor given for a closed-loop phase"};
  if (!s.load.stages.empty()) {
    return Error{"rebalance: not supported for closed loop with connection stages"};
  }
  s.load.connections = r.connections;
  return s;
}

}  // namespace horde
