// What an engine thread is given before it starts: the targets (their address
// books and requests serialized), the phase's plan shared read-only by every
// thread, and this thread's share of the load. Built by engine.cc, read by
// ThreadLoop and its drivers; nothing here changes after the threads start
// except the address lists, which are thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/address_book.h"
#include "agent/request_table.h"
#include "agent/schedule.h"
#include "common/workload.h"

namespace horde {

class TokenBucket;
struct TemplateData;

// A target: where its connections go (every address of its host name, kept
// current by the engine's AddressRefresher) and its requests serialized for it.
struct Target {
  std::shared_ptr<AddressBook> addresses;
  RequestTable requests;
  // https:// only: the context every connection's SSL object comes from (its
  // verify settings and CAs), and the SNI name ("" for an IP address).
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string sni;
  // "host:port" as in the URL: the backend charged with connect errors while
  // the name resolves to nothing.
  std::string name;
};

// Everything the threads share, fixed before they start and read-only afterwards.
struct Plan {
  Protocol protocol = Protocol::kHttp1;
  // HTTP/2 and gRPC: concurrent streams per connection (a server's lower
  // SETTINGS_MAX_CONCURRENT_STREAMS caps it per connection).
  uint32_t streams_per_connection = 1;
  LoadMode mode = LoadMode::kClosed;
  Arrival arrival = Arrival::kUniform;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
  std::chrono::steady_clock::duration interval{};
  uint32_t intervals = 0;
  std::chrono::steady_clock::duration connect_timeout{};
  std::chrono::steady_clock::duration request_timeout{};
  std::vector<Target> targets;
  // The connection policy (load.connection_max_requests, connection_max_age,
  // keep_alive; see ThreadLoop::spent): 0 is no limit. keep_alive false makes
  // max_requests 1, and the requests carry `Connection: close`.
  uint32_t max_requests = 0;
  std::chrono::steady_clock::duration max_age{};
  bool keep_alive = true;
  // The data sets, {{agent}} and {{seq}} numbering the targets' templates
  // render from (agent/request_template.h); null for gRPC.
  std::shared_ptr<TemplateData> templates;
  // backend.header in lower case: the response header naming the backend;
  // empty: the backend is the connected address.
  std::string backend_header;
  // Distinct request names (the highest RequestSpec::name_index + 1): with
  // more than one, every thread counts per name beside its totals.
  uint32_t names = 1;
  // Open loop: this agent's rate over time (one constant segment without stages).
  Ramp rate;
  // Closed loop with stages: this agent's connection count over time; empty
  // segments when the count is fixed.
  Ramp connections;
  unsigned threads = 1;
  // Open loop: requests due before this are dropped and counted (see
  // EngineOptions::skip_before); before `start`: nothing is.
  std::chrono::steady_clock::time_point skip_before{};
  // Open loop: the agent's --max-rate bucket, shared by every thread and phase
  // (agent/token_bucket.h); null without --max-rate.
  TokenBucket* rate_limit = nullptr;
  std::chrono::steady_clock::time_point boundary(uint32_t i) const {
    return start + interval * (i + 1);
  }
};

// What one thread takes of the agent's load.
struct ThreadShare {
  unsigned index = 0;     // connection k of this thread is the agent's k * threads + index
  double rate_share = 0;  // fraction of the open-loop rate
  // Run-wide number of this thread's first connection: its k-th connect to a
  // target goes to address (address_start + k) mod n (agent/address_book.h).
  uint64_t address_start = 0;
  uint32_t max_connections = 0;  // open loop: the thread's pool may grow to this
  uint64_t seed = 1;             // request choice
  uint64_t schedule_seed = 1;    // open-loop arrivals (Poisson gaps)
};

}  // namespace horde
