// A templated HTTP/2 (h2c, h2 over TLS) request: the header fields of
// build_h2_request() with their values compiled as templates, rendered per
// request into the stream slot's own buffer, which holds the request until
// its stream closes (nghttp2 takes the fields without copying their bytes and
// reads the body from it as it sends). The buffer and the field array are
// reserved for the longest request the first time a slot renders, so a
// request allocates nothing after that (the rows, {{seq}} and unique mode are
// the HTTP/1.1 template's, agent/request_template.h).
#pragma once

#include <string>
#include <vector>

#include "agent/request_table.h"
#include "agent/request_template.h"

namespace horde {

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
  };
  std::vector<Field> fields_;
  Template body_;
  bool body_static_ = true;
  bool content_length_ = false;
  size_t max_size_ = 0;
};

}  // namespace horde
