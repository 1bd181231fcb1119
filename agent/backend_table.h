// One engine thread's per-backend counts since the last interval boundary. A
// fixed table of kMaxBackends slots plus one for "other"; ids are found by an
// open-addressing hash of their bytes (no allocation, no map on the hot path).
// A slot's storage (its id, status codes and histogram) is allocated once, the
// first time its backend is seen, and kept for the phase; take() hands the
// interval's counts on and zeroes them. A connection looks its address up
// once per connect; with backend.header each response looks up the header's
// value.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/recorder.h"
#include "common/backends.h"

namespace horde {

// Requests that timed out waiting for a connection (open loop) went to no address.
inline constexpr std::string_view kNoConnection = "no-connection";

class BackendTable {
 public:
  static constexpr uint16_t kOther = kMaxBackends;

  BackendTable();
  // The slot of `id` (added when new; kOther once kMaxBackends are taken).
  uint16_t slot(std::string_view id);
  // The slot of a connected address, named "ip:port" ("[v6]:port").
  uint16_t slot(const boost::asio::ip::tcp::endpoint& e);

  void response(uint16_t slot, uint16_t status, int64_t latency_us) {
    Entry& e = entry(slot);
    ++e.requests;
    ++e.status[status < kStatusSlots ? status : 0];
    e.latency.record(latency_us);
  }
  // A request that ended without a response.
  void failed(uint16_t slot) {
    Entry& e = entry(slot);
    ++e.requests;
    ++e.errors;
  }
  // A request already counted by response() turned out an error.
  void count_error(uint16_t slot) { ++entry(slot).errors; }

  // This interval's counts, only the backends that had requests; zeroes them.
  Backends take();

 private:
  struct Entry {
    std::string id;
    uint64_t requests = 0;
    uint64_t errors = 0;
    std::array<uint64_t, kStatusSlots> status{};
    Histogram latency;
  };
  static constexpr size_t kIndexSize = 1024;  // a power of two, over 2 x (kMaxBackends + 1)
  static constexpr uint16_t kEmpty = 0xffff;

  Entry& entry(uint16_t slot);

  std::array<std::unique_ptr<Entry>, kMaxBackends + 1> entries_;
  std::array<uint16_t, kIndexSize> index_;
  uint16_t used_ = 0;  // slots 0 .. used_-1 have an id
};

}  // namespace horde
