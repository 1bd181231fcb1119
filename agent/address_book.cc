#include "agent/address_book.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <utility>

#include "agent/plan.h"

namespace horde {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Endpoints to_endpoints(const std::vector<IpAddress>& addresses, uint16_t port, bool first_only) {
  Endpoints out;
  for (const IpAddress& a : addresses) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(a.to_string(), ec);
    if (!ec) out.emplace_back(address, port);
  }
  if (first_only) {
    if (out.empty()) return out;
    const auto v4 = std::find_if(out.begin(), out.end(),
                                 [](const tcp::endpoint& e) { return e.address().is_v4(); });
    return {v4 != out.end() ? *v4 : out.front()};
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void AddressBook::set(Endpoints endpoints) {
  if (endpoints.empty()) return;
  std::lock_guard lock(mu_);
  if (*list_ == endpoints) return;
  list_ = std::make_shared<const Endpoints>(std::move(endpoints));
  version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const Endpoints> AddressBook::current() const {
  std::lock_guard lock(mu_);
  return list_;
}

AddressChooser::AddressChooser(const std::vector<Target>& targets, uint64_t start)
    : first_(targets.empty() ? nullptr : targets.data()), cursors_(targets.size()) {
  for (size_t i = 0; i < targets.size(); ++i) {
    cursors_[i].book = targets[i].addresses.get();
    cursors_[i].next = start;
    cursors_[i].turn = start;
  }
}

AddressChooser::Cursor& AddressChooser::cursor(const Target& target) {
  Cursor& c = cursors_[static_cast<size_t>(&target - first_)];
  if (c.book == nullptr) return c;
  if (const uint64_t v = c.book->version(); v != c.version) {
    // Read the version before the list: a set() in between is seen next time.
    c.version = v;
    c.list = c.book->current();
  }
  return c;
}

bool AddressChooser::next(const Target& target, tcp::endpoint* out) {
  Cursor& c = cursor(target);
  if (c.book == nullptr || c.list->empty()) return false;
  if (c.preferred) {
    c.preferred = false;
    *out = c.prefer;
    return true;
  }
  *out = (*c.list)[c.next++ % c.list->size()];
  return true;
}

const tcp::endpoint* AddressChooser::turn(const Target& target) {
  Cursor& c = cursor(target);
  if (c.book == nullptr || c.list->size() < 2) return nullptr;
  return &(*c.list)[c.turn++ % c.list->size()];
}

void AddressChooser::prefer(const Target& target, const tcp::endpoint& endpoint) {
  Cursor& c = cursors_[static_cast<size_t>(&target - first_)];
  c.preferred = true;
  c.prefer = endpoint;
}

AddressRefresher::AddressRefresher(std::vector<Name> names, Resolve resolve,
                                   std::chrono::milliseconds every)
    : names_(std::move(names)), resolve_(std::move(resolve)), every_(every) {
  if (names_.empty() || every_.count() <= 0) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every_, [this] { return stop_; })) {
      lock.unlock();
      refresh_now();
      lock.lock();
    }
  });
}

AddressRefresher::~AddressRefresher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AddressRefresher::refresh_now() {
  for (const Name& n : names_) {
    auto addresses = resolve_(n.host);
    if (addresses) n.book->set(to_endpoints(*addresses, n.port, /*first_only=*/false));
  }
}

}  // namespace horde
