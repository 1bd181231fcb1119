// One HTTP GET with a deadline on the whole exchange and a bound on the body:
// how the controller reads an `observe:` source (a /metrics endpoint or a
// Prometheus server's query API). Boost.Beast on a private io_context, so a
// call blocks only its own thread (the observer's), never the run loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/result.h"
#include "common/url.h"

namespace horde {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET `url` (http:// only), resolve to last byte within `timeout`. A body
// larger than `max_body` is refused (an error naming the limit), as is a
// response that does not finish in time; both name the URL.
Result<HttpResponse> http_get(const Url& url, std::chrono::milliseconds timeout, size_t max_body);

// "a b&c" -> "a%20b%26c": a query parameter's value.
std::string url_encode(const std::string& s);

}  // namespace horde
