#include "agent/request_table.h"

#include <strings.h>

#include <stdexcept>

namespace horde {

namespace {

bool has_header(const RequestSpec& spec, const char* name) {
  for (const auto& [key, value] : spec.headers) {
    if (strcasecmp(key.c_str(), name) == 0) return true;
  }
  return false;
}

bool method_has_body(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::string serialize_request(const Url& target, const RequestSpec& spec) {
  std::string out;
  out.reserve(128 + spec.body.size());
  out += spec.method.empty() ? std::string("GET") : spec.method;
  out += ' ';
  out += spec.path.empty() ? (target.path.empty() ? std::string("/") : target.path) : spec.path;
  out += " HTTP/1.1\r\n";
  if (!has_header(spec, "Host")) {
    out += "Host: ";
    const bool ipv6 = target.host.find(':') != std::string::npos;
    if (ipv6) out += '[';
    out += target.host;
    if (ipv6) out += ']';
    const uint16_t default_port = target.scheme == "https" ? 443 : 80;
    if (target.port != 0 && target.port != default_port) {
      out += ':';
      out += std::to_string(target.port);
    }
    out += "\r\n";
  }
  for (const auto& [key, value] : spec.headers) {
    out += key;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if ((!spec.body.empty() || method_has_body(spec.method)) && !has_header(spec, "Content-Length")) {
    out += "Content-Length: ";
    out += std::to_string(spec.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += spec.body;
  return out;
}

RequestTable::RequestTable(const Url& target, const std::vector<RequestSpec>& requests) {
  if (requests.empty()) throw std::invalid_argument("RequestTable: no requests");
  bool all_zero = true;
  for (const auto& r : requests) all_zero = all_zero && r.weight == 0;
  for (const auto& r : requests) {
    entries_.push_back(Entry{serialize_request(target, r), r.method == "HEAD"});
    total_weight_ += all_zero ? 1 : r.weight;
    cumulative_.push_back(total_weight_);
  }
}

}  // namespace horde
