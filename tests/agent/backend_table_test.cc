// The per-thread backend table: ids found again, bounded at kMaxBackends with
// the rest under "other", addresses named "ip:port", take() hands on only the
// backends seen and zeroes them.
#include "agent/backend_table.h"

#include <gtest/gtest.h>

#include <string>

namespace horde {
namespace backend_table_test {

TEST(BackendTable, BoundedAt256WithOther) {
  BackendTable t;
  for (size_t i = 0; i < kMaxBackends; ++i) {
    const uint16_t s = t.slot("pod-" + std::to_string(i));
    EXPECT_EQ(s, i);
    t.response(s, 200, 1000);
  }
  EXPECT_EQ(t.slot("pod-7"), 7);  // found again, not added
  const uint16_t late = t.slot("pod-late");
  EXPECT_EQ(late, BackendTable::kOther);
  t.response(late, 503, 2000);
  t.count_error(late);
  t.failed(t.slot("another-late"));
  EXPECT_EQ(t.slot("other"), BackendTable::kOther);  // a backend named "other" is other
  const Backends b = t.take();
  EXPECT_EQ(b.by_id.size(), kMaxBackends + 1);
  EXPECT_EQ(b.named(), kMaxBackends);
  const BackendStats& other = b.by_id.at("other");
  EXPECT_EQ(other.requests, 2u);
  EXPECT_EQ(other.errors, 2u);
  EXPECT_EQ(other.status_codes.at(503), 1u);
  EXPECT_EQ(other.latency.total_count(), 1u);
  EXPECT_EQ(b.requests(), kMaxBackends + 2);
  EXPECT_TRUE(t.take().empty());  // zeroed
}

TEST(BackendTable, AddressesAreNamedIpPort) {
  BackendTable t;
  const boost::asio::ip::tcp::endpoint v4(boost::asio::ip::make_address("10.1.2.3"), 8080);
  const boost::asio::ip::tcp::endpoint v6(boost::asio::ip::make_address("::1"), 80);
  t.response(t.slot(v4), 200, 10);
  t.response(t.slot(v6), 200, 10);
  EXPECT_EQ(t.slot(v4), t.slot("10.1.2.3:8080"));
  const Backends b = t.take();
  ASSERT_EQ(b.by_id.size(), 2u);
  EXPECT_EQ(b.by_id.count("10.1.2.3:8080"), 1u);
  EXPECT_EQ(b.by_id.count("[::1]:80"), 1u);
}

TEST(BackendTable, LongIdsAreCut) {
  BackendTable t;
  const std::string long_id(300, 'x');
  EXPECT_EQ(t.slot(long_id), t.slot(long_id.substr(0, kMaxBackendIdBytes)));
  t.failed(t.slot(long_id));
  EXPECT_EQ(t.take().by_id.begin()->first.size(), kMaxBackendIdBytes);
}

}  // namespace backend_table_test
}  // namespace horde
