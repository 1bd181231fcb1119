#include "agent/h2_template.h"

#include <charconv>

namespace horde {

namespace {

nghttp2_nv field(const std::string_view name, const std::string_view value, const uint8_t flags) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = flags;
  return nv;
}

constexpr uint8_t kNoCopy = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
constexpr uint8_t kNoCopyNeverIndexed = kNoCopy | NGHTTP2_NV_FLAG_NO_INDEX;

// Is what `t` renders (nearly) new on every request of a connection? Then
// adding it to the HPACK dynamic table only costs: each request inserts an
// entry, evicts the oldest, and first compares the value with every entry of
// that name. {{uuid}} and {{seq}} never repeat; {{now_ms}} only within one
// millisecond of one connection; {{random A B}} over more than
// kMaxIndexedRandomSpan values mostly misses. Data columns, {{agent}} and
// narrow ranges repeat and keep the table's savings.
bool never_repeats(const Template& t) {
  for (const TemplatePiece& p : t.pieces) {
    if (p.fn == TemplateFn::kUuid || p.fn == TemplateFn::kSeq || p.fn == TemplateFn::kNowMs) {
      return true;
    }
    if (p.fn == TemplateFn::kRandom && p.span > kMaxIndexedRandomSpan) return true;
  }
  return false;
}

constexpr std::string_view kContentLength = "content-length";
constexpr size_t kLengthDigits = 20;

}  // namespace

H2Template::H2Template(const Url& target, const RequestSpec& spec, const TemplateData& data,
                       TemplateSyntax syntax)
    : TemplateRenderer(data) {
  H2Fields given = h2_fields(target, spec);
  for (H2Field& f : given.fields) {
    Field out;
    out.name = std::move(f.name);
    if (f.from_spec) {
      out.value = bound(f.value);
    } else {
      out.value.append_literal(f.value);
    }
    out.fixed = out.value.is_static();
    out.flags = never_repeats(out.value) ? kNoCopyNeverIndexed : kNoCopy;
    note_uses(out.value);
    if (!out.fixed) max_size_ += widest(out.value);
    fields_.push_back(std::move(out));
  }
  body_ = bound(spec.body, syntax);
  note_uses(body_);
  body_static_ = body_.is_static();
  if (!body_static_) max_size_ += widest(body_);
  content_length_ = given.content_length;
  if (content_length_) max_size_ += kLengthDigits;
}

bool H2Template::render(RenderState& s, H2Render& out) const {
  Draw d;
  if (!begin(s, d)) return false;
  std::string& bytes = out.bytes;
  std::vector<nghttp2_nv>& nv = out.request.fields;
  // Reserved before anything is written: the views taken below never move.
  if (bytes.capacity() < max_size_) bytes.reserve(max_size_);
  if (nv.capacity() < fields_.size() + 1) nv.reserve(fields_.size() + 1);
  bytes.clear();
  nv.clear();
  const char* base = bytes.data();
  std::string_view body = body_.text;
  if (!body_static_) {
    append(body_, s, bytes, d);
    body = std::string_view(base, bytes.size());
  }
  for (const Field& f : fields_) {
    if (f.fixed) {
      nv.push_back(field(f.name, f.value.literal(), f.flags));
      continue;
    }
    const size_t at = bytes.size();
    append(f.value, s, bytes, d);
    nv.push_back(field(f.name, std::string_view(base + at, bytes.size() - at), f.flags));
  }
  if (content_length_) {
    char digits[kLengthDigits];
    const auto r = std::to_chars(digits, digits + sizeof digits, body.size());
    const size_t at = bytes.size();
    bytes.append(digits, static_cast<size_t>(r.ptr - digits));
    nv.push_back(field(kContentLength, std::string_view(base + at, bytes.size() - at), kNoCopy));
  }
  out.request.body = body;
  return true;
}

}  // namespace horde
