#include "agent/request_template.h"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace horde {

namespace {

Template compile(const std::string& field, TemplateSyntax syntax) {
  auto t = parse_template(field, syntax);
  // The slice was checked when it arrived (common/wire.cc): this cannot fail.
  if (!t) throw std::invalid_argument("request template: " + t.error().message);
  return std::move(*t);
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void append_signed(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

// A version 4 UUID (RFC 9562) from 128 random bits, lower-case hex.
void append_uuid(std::string& out, FastRandom& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hi = rng.next();
  uint64_t lo = rng.next();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant 10
  char buf[36];
  size_t k = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[k++] = '-';
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    buf[k++] = kHex[(word >> shift) & 0xF];
  }
  out.append(buf, sizeof buf);
}

// Protobuf's base-128 varint of `v` at `to` (room for 10 bytes); returns the bytes written.
size_t put_varint(char* to, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    to[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  to[n++] = static_cast<char>(v);
  return n;
}

// The decimal integer out[from, end) (as the edge checked it: an optional '-'
// and digits) as the varint of its 64-bit two's complement, or zigzag-encoded,
// in its place. A text that is not a number (a checked slice cannot make one)
// encodes 0.
void encode_integer(std::string& out, size_t from, bool zigzag) {
  const char* first = out.data() + from;
  const char* last = out.data() + out.size();
  uint64_t bits = 0;
  if (first != last && *first == '-') {
    int64_t v = 0;
    std::from_chars(first, last, v);
    bits = zigzag ? (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)
                  : static_cast<uint64_t>(v);
  } else {
    std::from_chars(first, last, bits);
    if (zigzag) bits <<= 1;
  }
  char buf[10];
  const size_t n = put_varint(buf, bits);
  out.resize(from);
  out.append(buf, n);
}

// Room left before a length-delimited group: the varint of any length below 2^35.
constexpr size_t kLenRoom = 5;
constexpr size_t kFrameHeader = 5;  // compressed flag, 4-byte big-endian length

// Ends the group opened at out[from] (its header room included).
void close_group(std::string& out, TemplateFn group, size_t from) {
  switch (group) {
    case TemplateFn::kLenBegin: {
      const size_t length = out.size() - from - kLenRoom;
      char buf[10];
      const size_t n = put_varint(buf, length);
      char* at = out.data() + from;
      std::memmove(at + n, at + kLenRoom, length);
      std::memcpy(at, buf, n);
      out.resize(from + n + length);
      break;
    }
    case TemplateFn::kVarintBegin:
    case TemplateFn::kZigzagBegin:
      encode_integer(out, from, group == TemplateFn::kZigzagBegin);
      break;
    case TemplateFn::kFrameBegin: {
      const auto length = static_cast<uint32_t>(out.size() - from - kFrameHeader);
      char* at = out.data() + from;
      at[0] = 0;
      at[1] = static_cast<char>(length >> 24);
      at[2] = static_cast<char>(length >> 16);
      at[3] = static_cast<char>(length >> 8);
      at[4] = static_cast<char>(length);
      break;
    }
    default:
      break;
  }
}

bool has_header(const RequestSpec& spec, const char* name) {
  return std::any_of(spec.headers.begin(), spec.headers.end(),
                     [&](const auto& h) { return strcasecmp(h.first.c_str(), name) == 0; });
}

}  // namespace

TemplateData::TemplateData(const WorkloadSlice& slice)
    : sets(slice.data),
      agent(slice.agent_name),
      seq_first(slice.seq_first),
      seq_stride(std::max<uint64_t>(slice.seq_stride, 1)),
      unique_next(std::make_unique<std::atomic<uint64_t>[]>(slice.data.size())) {
  for (char& c : agent) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) c = '_';
  }
  for (size_t i = 0; i < sets.size(); ++i) unique_next[i].store(0, std::memory_order_relaxed);
}

std::vector<DataColumns> TemplateData::columns() const {
  std::vector<DataColumns> out;
  for (const DataSet& d : sets) out.push_back({d.name, d.columns});
  return out;
}

RenderState::RenderState(const TemplateData& data, unsigned thread, unsigned threads, uint64_t seed)
    : rng_(seed),
      seq_next_(data.seq_first + data.seq_stride * thread),
      seq_step_(data.seq_stride * std::max(threads, 1u)),
      cycle_step_(std::max(threads, 1u)),
      cycle_next_(data.sets.size()),
      row_(data.sets.size(), 0) {
  for (size_t i = 0; i < data.sets.size(); ++i) {
    const size_t rows = data.sets[i].rows();
    cycle_next_[i] = rows == 0 ? 0 : thread % rows;
  }
}

Template TemplateRenderer::bound(const std::string& field, TemplateSyntax syntax) const {
  Template t = compile(field, syntax);
  if (auto ok = bind_template(t, data_->columns()); !ok) {
    throw std::invalid_argument("request template: " + ok.error().message);
  }
  return t;
}

void TemplateRenderer::note_uses(const Template& t) {
  for (const TemplatePiece& p : t.pieces) {
    uses_seq_ = uses_seq_ || p.fn == TemplateFn::kSeq;
    uses_now_ = uses_now_ || p.fn == TemplateFn::kNowMs;
    if (p.fn == TemplateFn::kData &&
        std::find(sets_.begin(), sets_.end(), p.set_index) == sets_.end()) {
      sets_.push_back(p.set_index);
    }
  }
}

size_t TemplateRenderer::widest(const Template& t) const {
  size_t n = 0;
  for (const TemplatePiece& p : t.pieces) {
    switch (p.fn) {
      case TemplateFn::kLiteral:
        n += p.size;
        break;
      case TemplateFn::kUuid:
        n += 36;
        break;
      case TemplateFn::kSeq:
      case TemplateFn::kRandom:
      case TemplateFn::kNowMs:
        n += 20;
        break;
      case TemplateFn::kAgent:
        n += data_->agent.size();
        break;
      case TemplateFn::kData:
        n += data_->sets[p.set_index].widest(p.column_index);
        break;
      case TemplateFn::kLenBegin:
        n += kLenRoom;
        break;
      case TemplateFn::kFrameBegin:
        n += kFrameHeader;
        break;
      case TemplateFn::kVarintBegin:
      case TemplateFn::kZigzagBegin:
        n += 10;  // the varint may be longer than the text ("-1": 10 bytes)
        break;
      case TemplateFn::kEnd:
        break;
    }
  }
  return n;
}

void TemplateRenderer::append(const Template& t, RenderState& s, std::string& out,
                              const Draw& d) const {
  const char* text = t.text.data();
  size_t depth = 0;  // groups open in s.groups_
  for (const TemplatePiece& p : t.pieces) {
    switch (p.fn) {
      case TemplateFn::kLiteral:
        out.append(text + p.begin, p.size);
        break;
      case TemplateFn::kUuid:
        append_uuid(out, s.rng_);
        break;
      case TemplateFn::kSeq:
        append_number(out, d.seq);
        break;
      case TemplateFn::kRandom: {
        const auto draw =
            static_cast<uint64_t>((static_cast<unsigned __int128>(s.rng_.next()) * p.span) >> 64);
        // lo + draw <= hi, but draw alone may be 2^63: added as unsigned (modular), never
        // overflowing.
        append_signed(out, static_cast<int64_t>(static_cast<uint64_t>(p.lo) + draw));
        break;
      }
      case TemplateFn::kNowMs:
        append_signed(out, d.now_ms);
        break;
      case TemplateFn::kAgent:
        out.append(data_->agent);
        break;
      case TemplateFn::kData:
        out.append(data_->sets[p.set_index].cell(s.row_[p.set_index], p.column_index));
        break;
      case TemplateFn::kLenBegin:
      case TemplateFn::kFrameBegin:
      case TemplateFn::kVarintBegin:
      case TemplateFn::kZigzagBegin:
        // parse_template bounds the depth and balances the groups.
        s.groups_[depth++] = {out.size(), p.fn};
        if (p.fn == TemplateFn::kLenBegin) out.append(kLenRoom, '\0');
        if (p.fn == TemplateFn::kFrameBegin) out.append(kFrameHeader, '\0');
        break;
      case TemplateFn::kEnd:
        --depth;
        close_group(out, s.groups_[depth].second, s.groups_[depth].first);
        break;
    }
  }
}

bool TemplateRenderer::begin(RenderState& s, Draw& d) const {
  // One row per data set per request, shared by every reference to it.
  for (const uint16_t set : sets_) {
    const DataSet& ds = data_->sets[set];
    const uint64_t rows = ds.rows();
    switch (ds.mode) {
      case DataMode::kRandom:
        s.row_[set] = s.rng_.below(static_cast<uint32_t>(rows));
        break;
      case DataMode::kCycle:
        s.row_[set] = s.cycle_next_[set];
        s.cycle_next_[set] += s.cycle_step_;
        if (s.cycle_next_[set] >= rows) s.cycle_next_[set] %= rows;
        break;
      case DataMode::kUnique: {
        const uint64_t row = data_->unique_next[set].fetch_add(1, std::memory_order_relaxed);
        if (row >= rows) return false;
        s.row_[set] = row;
        break;
      }
    }
  }
  if (uses_seq_) {
    d.seq = s.seq_next_;
    s.seq_next_ += s.seq_step_;
  }
  if (uses_now_) {
    d.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  }
  return true;
}

RequestTemplate::RequestTemplate(const Url& target, const RequestSpec& spec,
                                 const TemplateData& data)
    : TemplateRenderer(data) {
  const std::string method = spec.method.empty() ? std::string("GET") : spec.method;
  head_request_ = method == "HEAD";
  head_.append_literal(method);
  head_.append_literal(" ");
  if (spec.path.empty()) {
    head_.append_literal(target.path.empty() ? std::string("/") : target.path);
  } else {
    head_.append(bound(spec.path));
  }
  head_.append_literal(" HTTP/1.1\r\n");
  if (!has_header(spec, "Host")) {
    head_.append_literal("Host: ");
    head_.append_literal(host_header_value(target));
    head_.append_literal("\r\n");
  }
  for (const auto& [name, value] : spec.headers) {
    head_.append_literal(name);
    head_.append_literal(": ");
    head_.append(bound(value));
    head_.append_literal("\r\n");
  }
  body_ = bound(spec.body);
  content_length_ =
      (!spec.body.empty() || request_has_body(method)) && !has_header(spec, "Content-Length");
  note_uses(head_);
  note_uses(body_);
  body_static_ = body_.is_static();
  max_head_ = widest(head_);
  max_body_ = widest(body_);
}

bool RequestTemplate::render(RenderState& s, std::string& out) const {
  Draw d;
  if (!begin(s, d)) return false;
  if (out.capacity() < max_size()) out.reserve(max_size());
  out.clear();
  std::string_view body = body_.text;
  if (!body_static_) {
    if (s.body_.capacity() < max_body_) s.body_.reserve(max_body_);
    s.body_.clear();
    append(body_, s, s.body_, d);
    body = s.body_;
  }
  append(head_, s, out, d);
  if (content_length_) {
    out.append("Content-Length: ");
    append_number(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
  return true;
}

}  // namespace horde
