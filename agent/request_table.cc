#include "agent/request_table.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "agent/h2_template.h"
#include "agent/request_template.h"
#include "common/template.h"

namespace horde {

namespace {

bool has_header(const RequestSpec& spec, const char* name) {
  for (const auto& [key, value] : spec.headers) {
    if (strcasecmp(key.c_str(), name) == 0) return true;
  }
  return false;
}

std::string authority(const Url& target) {
  std::string out;
  const bool ipv6 = target.host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += target.host;
  if (ipv6) out += ']';
  if (target.port != 0 && target.port != default_port(target.scheme)) {
    out += ':';
    out += std::to_string(target.port);
  }
  return out;
}

bool is_connection_header(const std::string& lower, const std::string& value) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade" ||
         (lower == "te" && strcasecmp(value.c_str(), "trailers") != 0);
}

// The field with its literal templates unescaped; false when it has a slot.
bool unescaped(std::string& field, TemplateSyntax syntax = TemplateSyntax::kRequest) {
  if (!has_template(field)) return true;
  auto t = parse_template(field, syntax);
  if (!t || !t->is_static()) return false;
  field = std::string(t->literal());
  return true;
}

}  // namespace

bool request_has_body(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

std::string host_header_value(const Url& target) {
  std::string out;
  const bool ipv6 = target.host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += target.host;
  if (ipv6) out += ']';
  const uint16_t default_port = target.scheme == "https" ? 443 : 80;
  if (target.port != 0 && target.port != default_port) {
    out += ':';
    out += std::to_string(target.port);
  }
  return out;
}

H2Fields h2_fields(const Url& target, const RequestSpec& spec) {
  H2Fields out;
  auto& fields = out.fields;
  H2Field host{":authority", authority(target), false};
  for (const auto& [key, value] : spec.headers) {
    if (strcasecmp(key.c_str(), "Host") == 0) host = {":authority", value, true};
  }
  fields.push_back({":method", spec.method.empty() ? std::string("GET") : spec.method, false});
  fields.push_back({":scheme", url_uses_tls(target) ? "https" : "http", false});
  fields.push_back(std::move(host));
  if (spec.path.empty()) {
    fields.push_back({":path", target.path.empty() ? std::string("/") : target.path, false});
  } else {
    fields.push_back({":path", spec.path, true});
  }
  for (const auto& [key, value] : spec.headers) {
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower == "host" || is_connection_header(lower, value)) continue;
    fields.push_back({std::move(lower), value, true});
  }
  out.content_length =
      (!spec.body.empty() || request_has_body(spec.method)) && !has_header(spec, "Content-Length");
  return out;
}

H2Request build_h2_request(const Url& target, const RequestSpec& spec) {
  std::vector<std::pair<std::string, std::string>> fields;
  H2Fields given = h2_fields(target, spec);
  for (H2Field& f : given.fields) fields.emplace_back(std::move(f.name), std::move(f.value));
  if (given.content_length) fields.emplace_back("content-length", std::to_string(spec.body.size()));
  // One buffer for every name, value and the body; the views are taken after
  // it is complete, so they never dangle.
  auto storage = std::make_shared<std::string>();
  std::vector<std::pair<size_t, size_t>> offsets;
  for (const auto& [name, value] : fields) {
    offsets.emplace_back(storage->size(), storage->size() + name.size());
    *storage += name;
    *storage += value;
  }
  const size_t body_at = storage->size();
  *storage += spec.body;
  H2Request out;
  const char* base = storage->data();
  for (size_t i = 0; i < fields.size(); ++i) {
    nghttp2_nv nv;
    nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(base + offsets[i].first));
    nv.namelen = fields[i].first.size();
    nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(base + offsets[i].second));
    nv.valuelen = fields[i].second.size();
    nv.flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    out.fields.push_back(nv);
  }
  out.body = std::string_view(base + body_at, spec.body.size());
  out.storage = std::move(storage);
  return out;
}

std::string serialize_request(const Url& target, const RequestSpec& spec) {
  std::string out;
  out.reserve(128 + spec.body.size());
  out += spec.method.empty() ? std::string("GET") : spec.method;
  out += ' ';
  out += spec.path.empty() ? (target.path.empty() ? std::string("/") : target.path) : spec.path;
  out += " HTTP/1.1\r\n";
  if (!has_header(spec, "Host")) {
    out += "Host: ";
    out += host_header_value(target);
    out += "\r\n";
  }
  for (const auto& [key, value] : spec.headers) {
    out += key;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if ((!spec.body.empty() || request_has_body(spec.method)) &&
      !has_header(spec, "Content-Length")) {
    out += "Content-Length: ";
    out += std::to_string(spec.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += spec.body;
  return out;
}

RequestTable::RequestTable(const Url& target, const std::vector<RequestSpec>& requests,
                           const TemplateData* templates, Protocol protocol) {
  if (requests.empty()) throw std::invalid_argument("RequestTable: no requests");
  bool all_zero = true;
  for (const auto& r : requests) all_zero = all_zero && r.weight == 0;
  for (const auto& given : requests) {
    Entry entry;
    RequestSpec r = given;
    bool fixed = true;
    if (templates != nullptr) {
      fixed = unescaped(r.path) && fixed;
      for (auto& h : r.headers) fixed = unescaped(h.second) && fixed;
      fixed = unescaped(r.body, protocol == Protocol::kGrpc ? TemplateSyntax::kProtobuf
                                                            : TemplateSyntax::kRequest) &&
              fixed;
    }
    entry.head = r.method == "HEAD";
    entry.name = r.name_index;
    entry.expect = !r.expect_status.empty();
    for (const uint16_t code : r.expect_status) entry.ok_status.set(code);
    if (!r.expect_body.empty()) entry.needle = std::make_shared<const Needle>(r.expect_body);
    if (!fixed && protocol == Protocol::kHttp1) {
      entry.render = std::make_shared<const RequestTemplate>(target, given, *templates);
    } else if (!fixed) {
      entry.h2_render = std::make_shared<const H2Template>(
          target, given, *templates,
          protocol == Protocol::kGrpc ? TemplateSyntax::kProtobuf : TemplateSyntax::kRequest);
    } else {
      entry.bytes = serialize_request(target, r);
      entry.h2 = build_h2_request(target, r);
    }
    entries_.push_back(std::move(entry));
    total_weight_ += all_zero ? 1 : r.weight;
    cumulative_.push_back(total_weight_);
  }
}

}  // namespace horde
