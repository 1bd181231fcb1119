#include "common/grpc_template.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "common/grpc_message.h"
#include "common/template.h"
#include "common/text.h"

namespace horde {

namespace {

namespace pb = google::protobuf;
using nlohmann::json;
using text::quote;

// How one templated field is encoded.
enum class SlotKind : uint8_t { kString, kVarint, kZigzag };

struct Slot {
  std::string source;  // the user's template text
  SlotKind kind = SlotKind::kString;
  std::string path;  // where in the message, for errors
  bool placed = false;
};

constexpr const char* kWhere =
    "; templates go in string and integer (int32, int64, uint32, uint64, sint32, sint64) "
    "fields";

// Replaces each templated string value of a message's JSON by a placeholder
// and notes the slot. Placeholders: strings "\x01horde:K\x01" (no real string
// holds them); integers a number not written anywhere in the message.
class Marker {
 public:
  explicit Marker(uint64_t number_base) : base_(number_base) {}

  Result<bool> message(json& j, const pb::Descriptor& d, const std::string& path) {
    if (!j.is_object()) return true;  // protobuf's own parse says what is wrong
    for (auto& [key, value] : j.items()) {
      const pb::FieldDescriptor* f = by_name(d, key);
      if (f == nullptr) continue;
      const std::string at = path.empty() ? key : fmt::format("{}.{}", path, key);
      if (f->is_map()) {
        if (!value.is_object()) continue;
        for (auto& [k, v] : value.items()) {
          if (has_template(k)) {
            return Error{"grpc.message: " + at + ": " + quote(k) +
                         ": templates in map keys are not supported; put it in a value"};
          }
          if (auto ok = field(v, *f->message_type()->map_value(), fmt::format("{}[{}]", at, k));
              !ok) {
            return ok;
          }
        }
      } else if (f->is_repeated() && value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i) {
          if (auto ok = field(value[i], *f, fmt::format("{}[{}]", at, i)); !ok) return ok;
        }
      } else if (auto ok = field(value, *f, at); !ok) {
        return ok;
      }
    }
    return true;
  }

  std::vector<Slot>& slots() { return slots_; }
  static std::string string_placeholder(size_t k) {
    return "\x01horde:" + std::to_string(k) + "\x01";
  }
  uint64_t number_placeholder(size_t k) const { return base_ + k; }

 private:
  // As protobuf's JSON mapping finds it: the .proto name or the lowerCamelCase one.
  static const pb::FieldDescriptor* by_name(const pb::Descriptor& d, const std::string& key) {
    if (const pb::FieldDescriptor* f = d.FindFieldByName(key)) return f;
    for (int i = 0; i < d.field_count(); ++i) {
      if (d.field(i)->json_name() == key) return d.field(i);
    }
    return nullptr;
  }

  static bool any_template(const json& j) {
    if (j.is_string()) return has_template(j.get_ref<const std::string&>());
    if (j.is_structured()) {
      for (const auto& [k, v] : j.items()) {
        if (has_template(k) || any_template(v)) return true;
      }
    }
    return false;
  }

  static bool is_wrapper(const pb::Descriptor& m) {
    constexpr std::array<std::string_view, 5> kWrappers = {
        "google.protobuf.StringValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
        "google.protobuf.UInt32Value", "google.protobuf.UInt64Value"};
    return std::find(kWrappers.begin(), kWrappers.end(), m.full_name()) != kWrappers.end();
  }

  // One value of field `f` (an element, for a repeated field).
  Result<bool> field(json& v, const pb::FieldDescriptor& f, const std::string& at) {
    if (f.type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      const pb::Descriptor& m = *f.message_type();
      if (is_wrapper(m)) return leaf(v, *m.FindFieldByName("value"), at);
      if (m.file()->name().rfind("google/protobuf/", 0) == 0) {
        if (!any_template(v)) return true;
        return Error{"grpc.message: " + at + ": templates are not supported in " + m.full_name() +
                     kWhere};
      }
      return message(v, m, at);
    }
    return leaf(v, f, at);
  }

  Result<bool> leaf(json& v, const pb::FieldDescriptor& f, const std::string& at) {
    if (!v.is_string()) return true;
    const std::string source = v.get<std::string>();
    if (!has_template(source)) return true;
    auto t = parse_template(source);
    if (!t) return Error{"grpc.message: " + at + ": " + t.error().message};
    if (t->is_static()) {  // {{"{{"}} alone: protobuf encodes the text it stands for
      v = std::string(t->literal());
      return true;
    }
    Slot slot{source, SlotKind::kString, at};
    switch (f.type()) {
      case pb::FieldDescriptor::TYPE_STRING:
        v = string_placeholder(slots_.size());
        break;
      case pb::FieldDescriptor::TYPE_INT32:
      case pb::FieldDescriptor::TYPE_INT64:
      case pb::FieldDescriptor::TYPE_UINT32:
      case pb::FieldDescriptor::TYPE_UINT64:
      case pb::FieldDescriptor::TYPE_SINT32:
      case pb::FieldDescriptor::TYPE_SINT64: {
        if (f.is_packed()) {
          return Error{"grpc.message: " + at +
                       ": templates in a packed repeated integer field are not supported; use "
                       "a literal list, or a string field"};
        }
        if (auto ok = integer_only(*t, at); !ok) return ok;
        slot.kind = f.type() == pb::FieldDescriptor::TYPE_SINT32 ||
                            f.type() == pb::FieldDescriptor::TYPE_SINT64
                        ? SlotKind::kZigzag
                        : SlotKind::kVarint;
        v = std::to_string(number_placeholder(slots_.size()));
        break;
      }
      default:
        return Error{"grpc.message: " + at + ": a " + std::string(f.type_name()) +
                     " field cannot take a template" + kWhere};
    }
    slots_.push_back(std::move(slot));
    return true;
  }

  // An integer field's template renders a decimal integer: digits (and a
  // leading '-') around {{seq}}, {{random A B}}, {{now_ms}} or a data column
  // (whose values are checked when the data sets are bound).
  static Result<bool> integer_only(const Template& t, const std::string& at) {
    for (const TemplatePiece& p : t.pieces) {
      if (p.fn == TemplateFn::kUuid || p.fn == TemplateFn::kAgent) {
        return Error{"grpc.message: " + at +
                     ": an integer field takes {{seq}}, {{random A B}}, {{now_ms}} or a data "
                     "column, not {{uuid}} or {{agent}}; use a string field"};
      }
      if (p.fn != TemplateFn::kLiteral) continue;
      const std::string_view lit = std::string_view(t.text).substr(p.begin, p.size);
      for (size_t i = 0; i < lit.size(); ++i) {
        const bool sign = lit[i] == '-' && i == 0 && p.begin == 0;
        if (!sign && (lit[i] < '0' || lit[i] > '9')) {
          return Error{"grpc.message: " + at + ": " + quote(std::string(lit)) +
                       " around the template is not part of an integer; an integer field "
                       "takes digits only"};
        }
      }
    }
    return true;
  }

  uint64_t base_;
  std::vector<Slot> slots_;
};

bool read_varint(std::string_view b, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *pos < b.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(b[(*pos)++]);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool is_integer(const pb::FieldDescriptor& f) {
  switch (f.type()) {
    case pb::FieldDescriptor::TYPE_INT32:
    case pb::FieldDescriptor::TYPE_INT64:
    case pb::FieldDescriptor::TYPE_UINT32:
    case pb::FieldDescriptor::TYPE_UINT64:
    case pb::FieldDescriptor::TYPE_SINT32:
    case pb::FieldDescriptor::TYPE_SINT64:
      return true;
    default:
      return false;
  }
}

// Walks encoded message `b` of type `d`; writes its template source to `out`
// (literals escaped) and returns whether it holds a slot.
class Placer {
 public:
  explicit Placer(Marker& marker) : marker_(marker) {}

  bool place(std::string_view b, const pb::Descriptor& d, std::string* out) {
    bool templated = false;
    size_t pos = 0;
    size_t literal = 0;  // start of the literal run not yet written
    auto group = [&](size_t from, size_t to, const char* open, const std::string& inner) {
      *out += escape_template(b.substr(literal, from - literal));
      *out += open;
      *out += inner;
      *out += "{{/}}";
      literal = to;
      templated = true;
    };
    while (pos < b.size()) {
      uint64_t tag = 0;
      if (!read_varint(b, &pos, &tag)) break;
      const pb::FieldDescriptor* f = d.FindFieldByNumber(static_cast<int>(tag >> 3));
      const size_t value_at = pos;
      switch (tag & 7) {
        case 0: {
          uint64_t v = 0;
          if (!read_varint(b, &pos, &v)) return finish(b, literal, out, templated);
          if (f == nullptr || !is_integer(*f)) break;
          const bool zigzag = f->type() == pb::FieldDescriptor::TYPE_SINT32 ||
                              f->type() == pb::FieldDescriptor::TYPE_SINT64;
          const uint64_t n = zigzag ? (v >> 1) ^ (~(v & 1) + 1) : v;
          if (Slot* s = number_slot(n, zigzag)) {
            group(value_at, pos, zigzag ? "{{#zigzag}}" : "{{#varint}}", s->source);
          }
          break;
        }
        case 1:
          pos += 8;
          break;
        case 5:
          pos += 4;
          break;
        case 2: {
          uint64_t n = 0;
          if (!read_varint(b, &pos, &n) || n > b.size() - pos) {
            return finish(b, literal, out, templated);
          }
          const std::string_view content = b.substr(pos, n);
          const size_t end = pos + n;
          if (f != nullptr && f->type() == pb::FieldDescriptor::TYPE_STRING) {
            if (Slot* s = string_slot(content)) group(value_at, end, "{{#len}}", s->source);
          } else if (f != nullptr && f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
            std::string inner;
            if (place(content, *f->message_type(), &inner)) group(value_at, end, "{{#len}}", inner);
          }
          pos = end;
          break;
        }
        default:  // groups (proto2, no length): their fields follow as ordinary ones
          break;
      }
    }
    return finish(b, literal, out, templated);
  }

 private:
  static bool finish(std::string_view b, size_t literal, std::string* out, bool templated) {
    if (literal < b.size()) *out += escape_template(b.substr(literal));
    return templated;
  }

  Slot* string_slot(std::string_view content) {
    auto& slots = marker_.slots();
    for (size_t k = 0; k < slots.size(); ++k) {
      if (slots[k].kind == SlotKind::kString && !slots[k].placed &&
          content == Marker::string_placeholder(k)) {
        slots[k].placed = true;
        return &slots[k];
      }
    }
    return nullptr;
  }

  Slot* number_slot(uint64_t n, bool zigzag) {
    auto& slots = marker_.slots();
    for (size_t k = 0; k < slots.size(); ++k) {
      const SlotKind want = zigzag ? SlotKind::kZigzag : SlotKind::kVarint;
      if (slots[k].kind == want && !slots[k].placed && n == marker_.number_placeholder(k)) {
        slots[k].placed = true;
        return &slots[k];
      }
    }
    return nullptr;
  }

  Marker& marker_;
};

// A number base for integer placeholders that the message's text does not
// contain (so no literal value is taken for one): within int32, so any
// integer field holds it.
uint64_t number_base(const std::string& json_text, size_t slots) {
  for (uint64_t base = 1'234'500'000; base < 2'000'000'000; base += 10'007) {
    bool clash = false;
    for (size_t k = 0; k < slots && !clash; ++k) {
      clash = json_text.find(std::to_string(base + k)) != std::string::npos;
    }
    if (!clash) return base;
  }
  return 1'234'500'000;  // unreachable in practice; a clash is caught by the placed count
}

}  // namespace

Result<std::string> grpc_body_template(const GrpcSpec& spec, const std::string& base_dir) {
  if (spec.message_json.empty() || !has_template(spec.message_json) || spec.proto_files.empty()) {
    auto bytes = encode_grpc_message(spec, base_dir);
    if (!bytes) return bytes.error();
    return escape_template(grpc_frame(*bytes));
  }
  json j = json::parse(spec.message_json, nullptr, false);
  if (j.is_discarded()) {  // protobuf's parser names what is wrong; say it is not JSON otherwise
    auto encoded = encode_grpc_message(spec, base_dir);
    if (!encoded) return encoded.error();
    return Error{"grpc.message: not valid JSON; expected the request message as a JSON object"};
  }
  std::string body;
  auto ok = with_input_type(spec, base_dir, [&](const pb::Descriptor& input) -> Result<bool> {
    Marker marker(number_base(spec.message_json, kMaxTemplateSlots));
    if (auto marked = marker.message(j, input, ""); !marked) return marked.error();
    auto bytes = encode_json(input, j.dump());
    if (!bytes) return bytes.error();
    std::string message;
    Placer(marker).place(*bytes, input, &message);
    for (const Slot& s : marker.slots()) {
      if (!s.placed) {
        return Error{"grpc.message: " + s.path + ": " + quote(s.source) +
                     ": the template could not be placed in the encoded message" + kWhere};
      }
    }
    body = marker.slots().empty() ? escape_template(grpc_frame(*bytes))
                                  : "{{#frame}}" + message + "{{/}}";
    return true;
  });
  if (!ok) return ok.error();
  return body;
}

}  // namespace horde
