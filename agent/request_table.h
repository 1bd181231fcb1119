// The requests of a workload, serialized once per target into the exact bytes
// written on the wire, plus a cumulative weight table so the engine picks the
// next request with one random number and no allocation (wrk's model: build the
// request once, write it again and again).
#pragma once

#include <nghttp2/nghttp2.h>

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/body_match.h"
#include "common/workload.h"

namespace horde {

class H2Template;
class RequestTemplate;
struct TemplateData;

// The Host header's value for `target`: host (in [] for IPv6), and :port
// unless it is the scheme's default.
std::string host_header_value(const Url& target);
// POST, PUT and PATCH carry a body (Content-Length: 0 when it is empty).
bool request_has_body(const std::string& method);

// `METHOD path HTTP/1.1`, Host, the spec's headers, Content-Length when there is
// a body or the method carries one, then the body. An empty spec path means the
// target URL's own path.
std::string serialize_request(const Url& target, const RequestSpec& spec);

// The same request for HTTP/2 (and gRPC): header fields for nghttp2, pseudo-
// headers first (:authority from a Host header when the spec has one), names
// lower-cased, HTTP/1.1 connection headers dropped (te kept only as
// "trailers"), content-length added as for HTTP/1.1; and the body. The bytes
// live in one shared buffer that never moves, so nghttp2 takes the fields
// without copying them (NGHTTP2_NV_FLAG_NO_COPY_NAME | NO_COPY_VALUE) and
// copies of the entry stay valid.
struct H2Request {
  std::shared_ptr<const std::string> storage;
  std::vector<nghttp2_nv> fields;
  std::string_view body;
};
H2Request build_h2_request(const Url& target, const RequestSpec& spec);

// The header fields of that request before they are laid out: `from_spec`
// when the value is the spec's own (a path or header value, which may hold
// templates), and whether content-length is to be added from the body.
struct H2Field {
  std::string name, value;
  bool from_spec = false;
};
struct H2Fields {
  std::vector<H2Field> fields;
  bool content_length = false;
};
H2Fields h2_fields(const Url& target, const RequestSpec& spec);

// A small, fast PRNG (xorshift64*): one per engine thread.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t next() noexcept {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, bound), bound > 0 (Lemire's multiply-shift, bias < 2^-32).
  uint32_t below(uint32_t bound) noexcept {
    return static_cast<uint32_t>(((next() >> 32) * bound) >> 32);
  }

 private:
  uint64_t state_;
};

class RequestTable {
 public:
  struct Entry {
    std::string bytes;
    bool head = false;  // the response to HEAD has no body
    H2Request h2;       // the request for HTTP/2 connections
    // HTTP/1.1 with templates: rendered per request (agent/request_template.h),
    // `bytes` is then empty; null for a request that is the same every time.
    std::shared_ptr<const RequestTemplate> render;
    // HTTP/2 with templates: rendered per request into the stream's slot
    // (agent/h2_template.h), `h2` is then empty; null as `render`.
    std::shared_ptr<const H2Template> h2_render;
    uint16_t name = 0;  // its request name's index (RequestSpec::name_index)
    // expect.status: the codes that succeed; `expect` false: the default rule.
    bool expect = false;
    std::bitset<600> ok_status;
    // expect.body_contains: what a good response's body holds; null: the body
    // is not read.
    std::shared_ptr<const Needle> needle;
  };

  // `requests` must not be empty. Zero weights count as 1 when all are zero.
  // With `templates`, a field whose templates are all literal ({{"{{"}}) is
  // sent unescaped, and requests with slots are compiled against it, for
  // HTTP/1.1 or HTTP/2 (gRPC: the body in TemplateSyntax::kProtobuf, as the
  // controller made it); it must outlive the table.
  RequestTable(const Url& target, const std::vector<RequestSpec>& requests,
               const TemplateData* templates = nullptr, Protocol protocol = Protocol::kHttp1);

  const Entry& pick(FastRandom& rng) const noexcept {
    if (entries_.size() == 1) return entries_[0];
    const uint32_t r = rng.below(total_weight_);
    size_t i = 0;
    while (r >= cumulative_[i]) ++i;  // a handful of entries: linear beats binary
    return entries_[i];
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::vector<uint32_t> cumulative_;
  uint32_t total_weight_ = 0;
};

}  // namespace horde
