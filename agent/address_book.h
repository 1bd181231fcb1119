// Where a target's connections go. A host name resolves to every address it
// has (IPv4 and IPv6); the AddressBook holds that list for all engine threads
// and is renewed by an AddressRefresher every `dns_refresh` while the phase
// runs. Each thread takes addresses through its own AddressChooser: round
// robin, starting where the thread's first connection falls in the run-wide
// numbering of connections, so N agents x T threads cover every address
// evenly. A connection asks once per connect; connections already open keep
// their address when the list changes. Reading the list costs one atomic load
// per connect; the lock is taken only when the list changed.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/limits.h"

namespace horde {

struct Target;

using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

// The endpoints of `addresses` at `port`: all of them sorted and without
// duplicates (a stable order however the resolver rotates its answer), or with
// `first_only` the first IPv4 one (else the first), as horde did before.
Endpoints to_endpoints(const std::vector<IpAddress>& addresses, uint16_t port, bool first_only);

// The current address list of one target; thread-safe.
class AddressBook {
 public:
  AddressBook() : list_(std::make_shared<const Endpoints>()) {}
  // An empty list (the name no longer resolves) keeps the previous one.
  void set(Endpoints endpoints);
  std::shared_ptr<const Endpoints> current() const;
  // Bumped by every set() that changed the list.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Endpoints> list_;
  std::atomic<uint64_t> version_{0};
};

// One engine thread's round robin over the address books of every target.
// The k-th connect to a target goes to address (start + k) mod n.
class AddressChooser {
 public:
  AddressChooser(const std::vector<Target>& targets, uint64_t start);
  // The endpoint for a new connection to `target`; false while its name
  // resolves to nothing (the connect then counts as failed).
  bool next(const Target& target, boost::asio::ip::tcp::endpoint* out);
  // Open loop: the address the next request to `target` goes to, round robin
  // over its current list on a cursor of its own (a connection is reused for
  // many requests, so connects alone do not spread them); null when the name
  // has one address (any connection will do). Valid until the next call.
  const boost::asio::ip::tcp::endpoint* turn(const Target& target);
  // The next connect to `target` goes to `endpoint` (the address a request
  // waits for), without moving the round robin of connects.
  void prefer(const Target& target, const boost::asio::ip::tcp::endpoint& endpoint);

 private:
  struct Cursor {
    const AddressBook* book = nullptr;
    uint64_t version = ~uint64_t{0};
    std::shared_ptr<const Endpoints> list;
    uint64_t next = 0;
    uint64_t turn = 0;
    bool preferred = false;
    boost::asio::ip::tcp::endpoint prefer;
  };
  // The target's cursor with its list brought up to date.
  Cursor& cursor(const Target& target);
  const Target* first_ = nullptr;
  std::vector<Cursor> cursors_;  // by target index
};

// Resolves host names again every `every` until stopped, on its own thread
// (a slow DNS answer never stalls a load thread), and puts each answer in its
// book. Names the agent pinned (--allow-target) are never given to it.
class AddressRefresher {
 public:
  struct Name {
    std::string host;
    uint16_t port = 0;
    AddressBook* book = nullptr;
  };
  AddressRefresher(std::vector<Name> names, Resolve resolve, std::chrono::milliseconds every);
  ~AddressRefresher();  // stops and joins
  AddressRefresher(const AddressRefresher&) = delete;
  AddressRefresher& operator=(const AddressRefresher&) = delete;
  // Resolves every name once, now, on the calling thread.
  void refresh_now();

 private:
  std::vector<Name> names_;
  Resolve resolve_;
  std::chrono::milliseconds every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace horde
