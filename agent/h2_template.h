// A templated HTTP/2 (h2c, h2 over TLS) request: the header fields of
// build_h2_request() with their values compiled as templates, rendered per
// request into the stream slot's own buffer, which holds the request until
// its stream closes (nghttp2 takes the fields without copying their bytes and
// reads the body from it as it sends). The buffer and the field array are
// reserved for the longest request the first time a slot renders, so a
// request allocates nothing after that (the rows, {{seq}} and unique mode are
// the HTTP/1.1 template's, agent/request_template.h). A field whose template
// holds a value new on every request ({{uuid}}, {{seq}}, {{now_ms}}, a wide
// {{random A B}}) is sent "never indexed" (NGHTTP2_NV_FLAG_NO_INDEX, decided
// here once, not per request): HPACK would otherwise insert every value into
// the connection's dynamic table only to evict it unused.
#pragma once

#include <string>
#include <vector>

#include "agent/request_table.h"
#include "agent/request_template.h"

namespace horde {

// The widest {{random A B}} (B - A + 1 values) whose field is still indexed.
// An HPACK entry takes its name and value plus 32 bytes, so 64 values of a
// short field (under 64 bytes each entry) fit in the 4,096 bytes a
// connection's table starts with: after the first of each, every request
// sends an index. Over a wider range a value is found in the table only as
// often as (the entries that fit) / (the range): under 1 in 10 over 1,000.
inline constexpr uint64_t kMaxIndexedRandomSpan = 64;

// One stream slot's rendered request; its capacity is kept from request to request.
struct H2Render {
  std::string bytes;  // the rendered values and body
  H2Request request;  // fields and body pointing into `bytes` or the template (no storage)
};

class H2Template : TemplateRenderer {
 public:
  // `spec` has at least one non-static template; `data` outlives this. The
  // body of a gRPC call is in TemplateSyntax::kProtobuf (common/grpc_template.h).
  H2Template(const Url& target, const RequestSpec& spec, const TemplateData& data,
             TemplateSyntax syntax = TemplateSyntax::kRequest);

  // The request into `out`, whose `request` is valid until the next render
  // into it. False, with `out` as it was, when a data set in mode unique it
  // uses has no row left.
  bool render(RenderState& state, H2Render& out) const;
  // The most bytes one render writes into H2Render::bytes.
  size_t max_size() const { return max_size_; }

 private:
  struct Field {
    std::string name;
    Template value;
    bool fixed = true;  // the value is its literal text
    uint8_t flags = 0;  // nghttp2_nv's: never copied, NO_INDEX when never_repeats()
  };
  std::vector<Field> fields_;
  Template body_;
  bool body_static_ = true;
  bool content_length_ = false;
  size_t max_size_ = 0;
};

}  // namespace horde
