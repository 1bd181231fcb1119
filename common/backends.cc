#include "common/backends.h"

#include <algorithm>

namespace horde {

void BackendStats::add(const BackendStats& o) {
  requests += o.requests;
  errors += o.errors;
  for (const auto& [code, n] : o.status_codes) status_codes[code] += n;
  latency.add(o.latency);
}

void Backends::add(const std::string& id, const BackendStats& s) {
  auto it = by_id.find(id);
  if (it == by_id.end()) {
    const bool full = named() >= kMaxBackends && id != kOtherBackend;
    it = by_id.try_emplace(full ? std::string(kOtherBackend) : id).first;
  }
  it->second.add(s);
}

void Backends::add(const Backends& o) {
  for (const auto& [id, s] : o.by_id) add(id, s);
}

uint64_t Backends::requests() const {
  uint64_t n = 0;
  for (const auto& [id, s] : by_id) n += s.requests;
  return n;
}

uint64_t Backends::errors() const {
  uint64_t n = 0;
  for (const auto& [id, s] : by_id) n += s.errors;
  return n;
}

Spread spread_of(const Backends& b) {
  Spread out;
  const uint64_t total = b.requests();
  if (total == 0) return out;
  uint64_t most = 0;
  uint64_t least = UINT64_MAX;
  for (const auto& [id, s] : b.by_id) {
    if (s.requests == 0) continue;
    ++out.backends;
    if (s.requests > most) {
      most = s.requests;
      out.heaviest = id;
    }
    least = std::min(least, s.requests);
  }
  out.max_share = static_cast<double>(most) / static_cast<double>(total);
  out.min_share = static_cast<double>(least) / static_cast<double>(total);
  out.imbalance = out.max_share * static_cast<double>(out.backends);
  return out;
}

}  // namespace horde
