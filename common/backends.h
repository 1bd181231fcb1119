// Which backend answered: per-backend counts and latency, kept beside the
// totals and merged the same way (counts added, histograms added bucket by
// bucket), so the sum over backends is always the totals. A backend is named
// by an id: the connected address "ip:port", or the value of the response
// header `backend.header` names. At most kMaxBackends ids per phase; whatever
// comes after them is counted under kOtherBackend.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/histogram.h"

namespace horde {

inline constexpr size_t kMaxBackends = 256;
inline constexpr std::string_view kOtherBackend = "other";
inline constexpr size_t kMaxBackendIdBytes = 128;  // a longer header value is cut

struct BackendStats {
  uint64_t requests = 0;  // finished: a response or an error, as Counters::requests
  uint64_t errors = 0;
  std::map<uint32_t, uint64_t> status_codes;
  Histogram latency;

  void add(const BackendStats& o);
  bool operator==(const BackendStats&) const = default;
};

// Backends by id, sorted by id; never more than kMaxBackends ids besides "other".
struct Backends {
  std::map<std::string, BackendStats, std::less<>> by_id;

  // Adds `s` under `id`, or under "other" when `id` is new and the table full.
  void add(const std::string& id, const BackendStats& s);
  void add(const Backends& o);
  bool empty() const { return by_id.empty(); }
  uint64_t requests() const;
  uint64_t errors() const;
  // Distinct ids that answered, "other" not counted.
  size_t named() const { return by_id.size() - (by_id.count(kOtherBackend) ? 1 : 0); }
  bool operator==(const Backends&) const = default;
};

// How evenly the requests went: over the backends with at least one request.
// imbalance is max share / mean share (1 = perfectly even; n = all on one of n).
struct Spread {
  size_t backends = 0;
  double max_share = 0;
  double min_share = 0;
  double imbalance = 0;
  std::string heaviest;  // the id with max_share
};
Spread spread_of(const Backends& b);

}  // namespace horde
