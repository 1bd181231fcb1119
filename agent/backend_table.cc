#include "agent/backend_table.h"

#include <cstdio>

namespace horde {

namespace {

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

BackendTable::BackendTable() { index_.fill(kEmpty); }

BackendTable::Entry& BackendTable::entry(uint16_t slot) {
  auto& e = entries_[slot];
  if (!e) {  // only "other" can be used before it is named
    e = std::make_unique<Entry>();
    e->id = std::string(kOtherBackend);
  }
  return *e;
}

uint16_t BackendTable::slot(std::string_view id) {
  if (id.size() > kMaxBackendIdBytes) id = id.substr(0, kMaxBackendIdBytes);
  for (size_t i = fnv1a(id) & (kIndexSize - 1);; i = (i + 1) & (kIndexSize - 1)) {
    const uint16_t s = index_[i];
    if (s == kEmpty) {
      if (used_ >= kMaxBackends || id == kOtherBackend) return kOther;
      const uint16_t fresh = used_++;
      entries_[fresh] = std::make_unique<Entry>();
      entries_[fresh]->id = std::string(id);
      index_[i] = fresh;
      return fresh;
    }
    if (entries_[s]->id == id) return s;
  }
}

uint16_t BackendTable::slot(const boost::asio::ip::tcp::endpoint& e) {
  // "ip:port" without allocating: the address text fits a stack buffer.
  char buf[64];
  const auto address = e.address();
  boost::system::error_code ec;
  char text[48] = {};
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  } else {
    const std::string s = address.to_string(ec);  // rare: one per connect to an IPv6 address
    std::snprintf(text, sizeof text, "[%s]", s.c_str());
  }
  const int n = std::snprintf(buf, sizeof buf, "%s:%u", text, static_cast<unsigned>(e.port()));
  return slot(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
}

Backends BackendTable::take() {
  Backends out;
  for (auto& e : entries_) {
    if (!e || e->requests == 0) continue;
    BackendStats s;
    s.requests = e->requests;
    s.errors = e->errors;
    for (size_t code = 0; code < kStatusSlots; ++code) {
      if (e->status[code] != 0) s.status_codes[static_cast<uint32_t>(code)] = e->status[code];
    }
    s.latency = e->latency;
    out.by_id.emplace(e->id, std::move(s));
    e->requests = 0;
    e->errors = 0;
    e->status.fill(0);
    e->latency.reset();
  }
  return out;
}

}  // namespace horde
