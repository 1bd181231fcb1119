// Tests for EventQueue, the hand-over between gRPC threads and the run's
// owning thread: order, deadline, and many producers.
#include "common/event_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace horde {
namespace event_queue_test {

using Clock = std::chrono::steady_clock;

TEST(EventQueue, PopsInFifoOrder) {
  EventQueue<int> q;
  for (int i = 0; i < 100; ++i) q.push(i);
  EXPECT_EQ(q.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    auto item = q.pop_until(Clock::now() + std::chrono::seconds(5));
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(*item, i);
  }
  EXPECT_EQ(q.size(), 0u);
}

TEST(EventQueue, PopUntilReturnsNulloptAfterTheDeadline) {
  EventQueue<std::string> q;
  const auto deadline = Clock::now() + std::chrono::milliseconds(20);
  auto item = q.pop_until(deadline);
  EXPECT_FALSE(item.has_value());
  EXPECT_GE(Clock::now(), deadline);
  // A deadline already in the past still hands over an item that is there.
  q.push("x");
  item = q.pop_until(Clock::now() - std::chrono::seconds(1));
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item, "x");
  EXPECT_FALSE(q.pop_until(Clock::now() - std::chrono::seconds(1)).has_value());
}

TEST(EventQueue, MoveOnlyItems) {
  EventQueue<std::unique_ptr<int>> q;
  q.push(std::make_unique<int>(7));
  auto item = q.pop_until(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(**item, 7);
}

TEST(EventQueue, WakesAWaitingConsumer) {
  EventQueue<int> q;
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    q.push(42);
  });
  auto item = q.pop_until(Clock::now() + std::chrono::seconds(30));
  producer.join();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item, 42);
}

TEST(EventQueue, ManyProducersEveryItemArrivesExactlyOnceInPerProducerOrder) {
  constexpr int kProducers = 8;
  constexpr int kItems = 5000;
  EventQueue<std::pair<int, int>> q;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&q, p] {
      for (int i = 0; i < kItems; ++i) q.push({p, i});
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (received < kProducers * kItems) {
    auto item = q.pop_until(deadline);
    ASSERT_TRUE(item.has_value()) << "only " << received << " items arrived";
    const auto [p, i] = *item;
    ASSERT_EQ(i, next[p]) << "producer " << p;  // none lost, repeated or reordered
    ++next[p];
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(q.size(), 0u);
  EXPECT_TRUE(std::all_of(next.begin(), next.end(), [](int n) { return n == kItems; }));
}

}  // namespace event_queue_test
}  // namespace horde
