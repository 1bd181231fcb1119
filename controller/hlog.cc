#include "controller/hlog.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <ctime>
#include <string_view>

#include "common/base64.h"

namespace horde {

namespace {

constexpr uint32_t kV2EncodingCookie = 0x1c849303 | 0x10;  // 0x10: V2 word-size marker
constexpr uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr uint32_t kCookieBaseMask = ~uint32_t{0xf0};
constexpr size_t kHeaderBytes = 40;
// A V2 word is at most 9 bytes; no valid payload for our layout is larger.
const size_t kMaxPayload = 9 * Histogram().bucket_count();

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) << 32 | get32(p + 4); }

// LEB128-64b9B: 7 bits per byte for 8 bytes, then a full 9th byte.
void put_zigzag(std::vector<uint8_t>& b, int64_t signed_value) {
  uint64_t v = (uint64_t(signed_value) << 1) ^ uint64_t(signed_value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      b.push_back(uint8_t(v));
      return;
    }
    b.push_back(uint8_t(v | 0x80));
    v >>= 7;
  }
  b.push_back(uint8_t(v));
}

bool get_zigzag(const uint8_t*& p, const uint8_t* end, int64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (p == end) return false;
    const uint8_t byte = *p++;
    if (i == 8) {
      v |= uint64_t(byte) << 56;
      break;
    }
    v |= uint64_t(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) break;
  }
  *out = int64_t(v >> 1) ^ -int64_t(v & 1);
  return true;
}

std::vector<uint8_t> encode_v2(const Histogram& h) {
  std::vector<uint8_t> b;
  put32(b, kV2EncodingCookie);
  put32(b, 0);  // payload length, patched below
  put32(b, 0);  // normalizing index offset
  put32(b, Histogram::kSignificantDigits);
  put64(b, Histogram::kLowestUs);
  put64(b, Histogram::kHighestUs);
  double ratio = 1.0;  // integer-to-double conversion ratio, as IEEE-754 bits
  uint64_t ratio_bits;
  std::memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
  put64(b, ratio_bits);
  // Counts up to the max's bucket; runs of zeros as one negative length.
  const size_t limit = Histogram::index_for(h.max()) + 1;
  for (size_t i = 0; i < limit;) {
    const uint64_t c = h.count_at(i++);
    if (c != 0) {
      put_zigzag(b, static_cast<int64_t>(c));
      continue;
    }
    int64_t zeros = 1;
    while (i < limit && h.count_at(i) == 0) ++zeros, ++i;
    put_zigzag(b, zeros > 1 ? -zeros : 0);
  }
  const uint32_t payload = static_cast<uint32_t>(b.size() - kHeaderBytes);
  for (int k = 0; k < 4; ++k) b[4 + k] = uint8_t(payload >> (24 - 8 * k));
  return b;
}

Result<Histogram> decode_v2(const std::vector<uint8_t>& b) {
  if (b.size() < kHeaderBytes) return Error{"histogram encoding shorter than its 40-byte header"};
  const uint32_t cookie = get32(b.data());
  if ((cookie & kCookieBaseMask) != (kV2EncodingCookie & kCookieBaseMask)) {
    return Error{fmt::format("not a V2 histogram encoding (cookie {:#x})", cookie)};
  }
  const uint32_t payload = get32(b.data() + 4);
  if (payload > b.size() - kHeaderBytes) {
    return Error{fmt::format("payload length {} exceeds the {} bytes present", payload,
                             b.size() - kHeaderBytes)};
  }
  if (get32(b.data() + 8) != 0) return Error{"normalizing index offset other than 0"};
  const uint32_t digits = get32(b.data() + 12);
  const uint64_t lowest = get64(b.data() + 16);
  const uint64_t highest = get64(b.data() + 24);
  if (digits != Histogram::kSignificantDigits || lowest != Histogram::kLowestUs) {
    return Error{fmt::format(
        "histogram layout (lowest {}, {} significant digits) differs from horde's (lowest 1, 3)",
        lowest, digits)};
  }
  if (highest < 2) return Error{fmt::format("highest trackable value {} is invalid", highest)};
  Histogram h;
  const uint8_t* p = b.data() + kHeaderBytes;
  const uint8_t* end = p + payload;
  size_t index = 0;
  uint64_t total = 0;
  while (p < end) {
    int64_t v;
    if (!get_zigzag(p, end, &v)) return Error{"truncated count in histogram payload"};
    if (v < 0) {
      const uint64_t run = uint64_t(0) - uint64_t(v);
      if (run > h.bucket_count() - index) return Error{"zero run past the end of the counts"};
      index += run;
      continue;
    }
    if (index >= h.bucket_count()) {
      return Error{fmt::format("count at index {} is beyond horde's range (1 us .. 1 h)", index)};
    }
    if (total + uint64_t(v) < total) return Error{"total count overflows"};
    total += uint64_t(v);
    h.add_at(index++, uint64_t(v));
  }
  return h;
}

std::string format_line(double start, double length, const Histogram& h, const std::string& tag) {
  std::string line = tag.empty() ? "" : "Tag=" + tag + ",";
  line += fmt::format("{:.3f},{:.3f},{:.3f},{}\n", start, length,
                      static_cast<double>(h.max()) / 1000.0, encode_compressed_base64(h));
  return line;
}

}  // namespace

std::string encode_compressed_base64(const Histogram& h) {
  const std::vector<uint8_t> raw = encode_v2(h);
  uLongf len = compressBound(raw.size());
  std::vector<uint8_t> out(8 + len);
  // compress2 only fails for lack of memory or a too small buffer (never here).
  if (compress2(out.data() + 8, &len, raw.data(), raw.size(), Z_DEFAULT_COMPRESSION) != Z_OK) {
    throw std::runtime_error("zlib compress2 failed");
  }
  out.resize(8 + len);
  for (int k = 0; k < 4; ++k) {
    out[k] = uint8_t(kV2CompressedCookie >> (24 - 8 * k));
    out[4 + k] = uint8_t(uint32_t(len) >> (24 - 8 * k));
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
}

Result<Histogram> decode_compressed_base64(const std::string& text) {
  auto bytes = base64_decode(text);
  if (!bytes) return bytes.error();
  const auto& b = *bytes;
  if (b.size() < 8) return Error{"compressed histogram shorter than its 8-byte header"};
  const uint32_t cookie = get32(b.data());
  if ((cookie & kCookieBaseMask) != (kV2CompressedCookie & kCookieBaseMask)) {
    return Error{fmt::format("not a V2 compressed histogram (cookie {:#x})", cookie)};
  }
  const uint32_t len = get32(b.data() + 4);
  if (len > b.size() - 8) {
    return Error{
        fmt::format("compressed length {} exceeds the {} bytes present", len, b.size() - 8)};
  }
  // Bounded output: a hostile stream cannot make us allocate more than a valid one needs.
  std::vector<uint8_t> raw(kHeaderBytes + kMaxPayload);
  uLongf raw_len = raw.size();
  uLong src_len = len;
  const int rc = uncompress2(raw.data(), &raw_len, b.data() + 8, &src_len);
  if (rc != Z_OK) {
    return Error{rc == Z_BUF_ERROR
                     ? "compressed histogram is truncated or larger than any valid one"
                     : fmt::format("zlib cannot inflate the histogram (code {})", rc)};
  }
  raw.resize(raw_len);
  return decode_v2(raw);
}

Result<HlogWriter> HlogWriter::open(const std::string& path, double start_unix_seconds) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  if (!out) return Error{fmt::format("{}: cannot create the latency log", path)};
  const std::time_t t = static_cast<std::time_t>(start_unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
  out << "#[Histogram log format version 1.3]\n"
      << fmt::format("#[StartTime: {:.3f} (seconds since epoch), {}]\n", start_unix_seconds, date)
      << fmt::format("#[BaseTime: {:.3f} (seconds since epoch)]\n", start_unix_seconds)
      << "#[Values in microseconds; Interval_Max in milliseconds (max value divisor 1000)]\n"
      << "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_"
         "Histogram\"\n";
  out.flush();
  if (!out) return Error{fmt::format("{}: cannot write the latency log", path)};
  return HlogWriter(path, std::move(out));
}

Result<bool> HlogWriter::append(double start_offset_s, double length_s, const Histogram& h,
                                const std::string& tag) {
  if (tag.find_first_of(", \t\r\n") != std::string::npos) {
    return Error{fmt::format("latency log tag '{}' must not contain commas or whitespace", tag)};
  }
  out_ << format_line(start_offset_s, length_s, h, tag);
  out_.flush();
  if (!out_) return Error{fmt::format("{}: cannot write the latency log", path_)};
  return true;
}

Result<std::vector<std::pair<double, Histogram>>> read_hlog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot open the latency log", path)};
  std::vector<std::pair<double, Histogram>> out;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.rfind("\"StartTimestamp\"", 0) == 0) continue;
    auto fail = [&](const std::string& why) {
      return Error{fmt::format("{}:{}: {}", path, number, why)};
    };
    std::vector<std::string> fields;
    for (size_t pos = 0;;) {
      const size_t comma = line.find(',', pos);
      fields.push_back(line.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (!fields.empty() && fields[0].rfind("Tag=", 0) == 0) fields.erase(fields.begin());
    if (fields.size() != 4) {
      return fail("expected StartTimestamp,Interval_Length,Interval_Max,histogram");
    }
    double nums[3];
    for (int i = 0; i < 3; ++i) {
      char* end = nullptr;
      nums[i] = std::strtod(fields[i].c_str(), &end);
      if (fields[i].empty() || *end != '\0' || !std::isfinite(nums[i])) {
        return fail(fmt::format("'{}' is not a number", fields[i]));
      }
    }
    auto h = decode_compressed_base64(fields[3]);
    if (!h) return fail(h.error().message);
    // Interval_Max restores the exact max when it lies in the top bucket (a log
    // written with another max-value divisor keeps the bucket edge).
    if (!h->empty()) {
      const auto max_us = static_cast<int64_t>(std::llround(nums[2] * 1000.0));
      const size_t top = Histogram::index_for(h->max());
      if (max_us >= Histogram::lowest_equivalent(top) && max_us <= h->max()) {
        h->merge_extremes(h->min(), max_us);
      }
    }
    out.emplace_back(nums[0], std::move(*h));
  }
  return out;
}

}  // namespace horde
