// Request templates: `{{uuid}}`, `{{seq}}`, `{{random A B}}`, `{{now_ms}}`,
// `{{agent}}`, `{{DATA.COLUMN}}` and the literal `{{"{{"}}` in a request's
// path, header values and body (docs/workload.md, "Templates").
//
// A template is parsed once (at the edge by the workload loader, again by the
// agent from its slice) into a list of pieces: literal runs of one text buffer
// and slots. The agent renders it per request into a reused buffer
// (agent/request_template.h); nothing here is on the request path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace horde {

enum class TemplateFn : uint8_t {
  kLiteral,
  kUuid,
  kSeq,
  kRandom,
  kNowMs,
  kAgent,
  kData,
  // Protobuf syntax only (a gRPC message, common/grpc_template.h): what is
  // rendered between one of these and its kEnd is rewritten when kEnd is reached.
  kLenBegin,     // {{#len}}: prefixed with its length as a varint (a string or a message field)
  kVarintBegin,  // {{#varint}}: a decimal integer, encoded as a varint (int32/64, uint32/64)
  kZigzagBegin,  // {{#zigzag}}: a decimal integer, zigzag-encoded as a varint (sint32/64)
  kFrameBegin,   // {{#frame}}: prefixed with the gRPC frame header (flag 0, 4-byte length)
  kEnd,          // {{/}}
};

// What may stand between {{ }}: the request functions, or (the body of a gRPC
// call, made by the controller) those and the protobuf encoding groups.
enum class TemplateSyntax : uint8_t { kRequest, kProtobuf };
// Protobuf groups nest at most this deep (a message field inside a message ...).
inline constexpr size_t kMaxTemplateDepth = 32;

// `random A B` bounds (inclusive): any 64-bit range narrower than 2^63.
inline constexpr int64_t kMaxTemplateRandom = int64_t{1} << 62;
// Slots in one template; more is a validation error (a template is a request field).
inline constexpr size_t kMaxTemplateSlots = 1'000;

struct TemplatePiece {
  TemplateFn fn = TemplateFn::kLiteral;
  uint32_t begin = 0;  // kLiteral: text[begin, begin + size)
  uint32_t size = 0;
  int64_t lo = 0;     // kRandom: lo + a uniform draw below span (hi - lo + 1)
  uint64_t span = 0;  // kRandom
  // kData: the data set and column by name, and by index once bound (bind_template).
  std::string set, column;
  uint16_t set_index = 0;
  uint16_t column_index = 0;
  bool operator==(const TemplatePiece&) const = default;
};

struct Template {
  std::string text;  // the literal bytes of every kLiteral piece
  std::vector<TemplatePiece> pieces;

  // No slot: the template is its literal text (`{{"{{"}}` already unescaped).
  bool is_static() const;
  // The literal text of a static template (undefined otherwise).
  std::string_view literal() const { return text; }
  // Appends literal bytes, merged with a literal piece before them.
  void append_literal(std::string_view s);
  // Appends every piece of `t` (literals merged).
  void append(const Template& t);
  bool operator==(const Template&) const = default;
};

// The names allowed between {{ }}, for error messages.
inline constexpr const char* kTemplateNames =
    "uuid, seq, random A B, now_ms, agent, DATA.COLUMN (a column of a data set), or {{\"{{\"}} "
    "for a literal {{";

// Parses `s`. The error message names the offending `{{...}}` and what is
// allowed (kTemplateNames); the caller prefixes the field.
// With TemplateSyntax::kProtobuf the groups must be balanced and nest at most
// kMaxTemplateDepth deep.
Result<Template> parse_template(std::string_view s,
                                TemplateSyntax syntax = TemplateSyntax::kRequest);

// For each piece of `t`, whether it lies inside a {{#varint}} or {{#zigzag}}
// group (what it renders must be a decimal integer).
std::vector<bool> integer_pieces(const Template& t);

// `bytes` as template source whose literal text is `bytes`: every "{{" escaped.
std::string escape_template(std::string_view bytes);

// Does `s` contain "{{" at all (a quick test before parsing)?
inline bool has_template(std::string_view s) { return s.find("{{") != std::string_view::npos; }

// A data set's name and columns, as a template sees them.
struct DataColumns {
  std::string name;
  std::vector<std::string> columns;
};

// Sets the set/column indexes of every kData piece; an error names a data set
// or column that does not exist and lists what does.
Result<bool> bind_template(Template& t, const std::vector<DataColumns>& sets);

}  // namespace horde
