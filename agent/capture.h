// What a flow step captures from a response (a JSON value, a header, see
// json_capture.h and header_capture.h) lands in a CaptureBuffer: a value of at
// most `capacity` bytes (kMaxCapture, 4 KiB, per issue 19) in storage
// allocated once when the buffer is made, so capturing on every iteration
// allocates nothing. A capture that cannot be made says why in a
// CaptureStatus; the flow counts any of them as one error of class `capture`,
// the name is for logs and tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace horde {

inline constexpr size_t kMaxCapture = 4096;

enum class CaptureStatus : uint8_t {
  kOk,
  kNotJson,      // the body is not one JSON text (RFC 8259), or a string in it is not Unicode
  kTooDeep,      // nested deeper than kMaxJsonDepth
  kNoSuchValue,  // the pointer names no value in the body, or no such header
  kTooLong,      // the value is longer than the buffer's capacity
};

// "ok", "not_json", "too_deep", "no_such_value", "too_long".
const char* capture_status_name(CaptureStatus s);

class CaptureBuffer {
 public:
  explicit CaptureBuffer(size_t capacity = kMaxCapture)
      : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

  std::string_view view() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void clear() { size_ = 0; }
  // Appends, or returns false (and keeps what was there) when it would not fit.
  bool append(const char* p, size_t n) {
    if (n > capacity_ - size_) return false;
    if (n > 0) std::memcpy(data_.get() + size_, p, n);
    size_ += n;
    return true;
  }
  bool push_back(char c) { return append(&c, 1); }
  bool assign(std::string_view v) {
    clear();
    return append(v.data(), v.size());
  }

 private:
  std::unique_ptr<char[]> data_;  // uninitialised: untouched pages cost no memory
  size_t capacity_;
  size_t size_ = 0;
};

}  // namespace horde
