// The target's HTTP/1.x request-head parser: a small hand parser over the bytes already received,
// with no allocation, so the target's own cost per request stays far below the load generator's.
// It reads only what the target needs (method, path, version, Content-Length, Connection) and
// rejects what it does not serve (chunked bodies, folded headers, oversized heads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace horde::target {

// Heads longer than this are refused (431); the connection's receive buffer is larger.
inline constexpr size_t kMaxRequestHead = 8192;

enum class ParseStatus {
  kIncomplete,      // no blank line yet: read more
  kOk,              // head parsed, head_size bytes consumed
  kBad,             // malformed: answer 400 and close
  kTooLarge,        // head over kMaxRequestHead: answer 431 and close
  kLengthRequired,  // Transfer-Encoding (chunked) body: answer 411 and close
};

struct RequestHead {
  std::string_view method;  // views into the parsed bytes
  std::string_view path;    // target without the query string
  int version_minor = 1;    // HTTP/1.<minor>
  uint64_t content_length = 0;
  bool keep_alive = true;  // HTTP/1.1 default unless "Connection: close"; 1.0 needs keep-alive
  size_t head_size = 0;    // bytes of the head, blank line included
};

// Parses one request head at the start of data.
ParseStatus ParseRequestHead(std::string_view data, RequestHead& head);

}  // namespace horde::target
