#include "agent/interval_collector.h"

#include <gtest/gtest.h>

#include <vector>

namespace horde {
namespace interval_collector_test {

Counters requests(uint64_t n) {
  Counters c;
  c.requests = n;
  c.status_codes[200] = n;
  return c;
}

Histogram latency(int64_t us) {
  Histogram h;
  h.record(us);
  return h;
}

struct Fixture {
  std::vector<IntervalReport> reports;
  double cpu = 0;
  IntervalCollector make(unsigned threads) {
    return IntervalCollector(
        7, threads, [this](IntervalReport r) { reports.push_back(std::move(r)); },
        [this] { return cpu; });
  }
};

TEST(IntervalCollector, ReportsWhenEveryThreadDelivered) {
  Fixture f;
  auto collector = f.make(2);
  collector.deliver(0, requests(3), latency(100));
  EXPECT_TRUE(f.reports.empty());
  collector.deliver(1, requests(5), latency(200));  // thread A runs ahead
  EXPECT_TRUE(f.reports.empty());
  f.cpu = 0.5;
  collector.deliver(0, requests(4), latency(300));
  ASSERT_EQ(f.reports.size(), 1u);
  EXPECT_EQ(f.reports[0].phase, 7u);
  EXPECT_EQ(f.reports[0].interval, 0u);
  EXPECT_EQ(f.reports[0].counters.requests, 7u);
  EXPECT_EQ(f.reports[0].counters.status_codes.at(200), 7u);
  EXPECT_EQ(f.reports[0].latency.total_count(), 2u);
  EXPECT_DOUBLE_EQ(f.reports[0].counters.cpu_seconds, 0.5);
  f.cpu = 0.75;
  collector.deliver(1, requests(1), latency(400));
  ASSERT_EQ(f.reports.size(), 2u);
  EXPECT_EQ(f.reports[1].interval, 1u);
  EXPECT_EQ(f.reports[1].counters.requests, 6u);
  EXPECT_DOUBLE_EQ(f.reports[1].counters.cpu_seconds, 0.25);
  const Counters total = collector.total();
  EXPECT_EQ(total.requests, 13u);
  EXPECT_DOUBLE_EQ(total.cpu_seconds, 0.75);
}

TEST(IntervalCollector, FinishedThreadsReleasePartialIntervals) {
  Fixture f;
  auto collector = f.make(2);
  collector.deliver(0, requests(1), latency(1));
  collector.deliver(0, requests(1), latency(1));
  collector.deliver(1, requests(2), latency(1));  // A stops in interval 1
  collector.thread_done();
  EXPECT_EQ(f.reports.size(), 1u);  // B may still deliver 1
  collector.deliver(1, requests(3), latency(1));
  ASSERT_EQ(f.reports.size(), 2u);
  EXPECT_EQ(f.reports[1].counters.requests, 5u);
  collector.deliver(2, requests(4), latency(1));  // B had moved on to 2 when stopped
  collector.thread_done();
  ASSERT_EQ(f.reports.size(), 3u);
  EXPECT_EQ(f.reports[2].interval, 2u);
  EXPECT_EQ(f.reports[2].counters.requests, 4u);
  EXPECT_EQ(collector.reported(), 3u);
}

TEST(IntervalCollector, ZeroThreadsReportsEachDelivery) {
  Fixture f;
  auto collector = f.make(0);
  collector.deliver(0, Counters{}, Histogram{});
  collector.deliver(1, Counters{}, Histogram{});
  ASSERT_EQ(f.reports.size(), 2u);
  EXPECT_EQ(f.reports[1].interval, 1u);
}

}  // namespace interval_collector_test
}  // namespace horde
