// Where connections go: every address of a name, round robin over threads and
// agents, renewed by re-resolution (a fake resolver whose answer changes), and
// against real servers on three loopback addresses (and [::1]) the count of
// connections each one accepted.
#include "agent/address_book.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/engine.h"
#include "agent/plan.h"
#include "tests/agent/test_http_server.h"

namespace horde {
namespace address_book_test {

using namespace std::chrono_literals;
using testing::TestHttpServer;
using tcp = boost::asio::ip::tcp;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

tcp::endpoint ep(const char* address, uint16_t port) {
  return {boost::asio::ip::make_address(address), port};
}

Target target_with(const Endpoints& endpoints) {
  Target t{std::make_shared<AddressBook>(),
           RequestTable(parse_url("http://x/").value(), {RequestSpec{}}),
           nullptr,
           {},
           "x:80"};
  t.addresses->set(endpoints);
  return t;
}

TEST(ToEndpoints, AllSortedWithoutDuplicatesOrTheFirstIpv4) {
  const std::vector<IpAddress> answer = {ip("::1"), ip("10.0.0.3"), ip("10.0.0.1"), ip("10.0.0.3")};
  EXPECT_EQ(to_endpoints(answer, 80, false),
            (Endpoints{ep("10.0.0.1", 80), ep("10.0.0.3", 80), ep("::1", 80)}));
  EXPECT_EQ(to_endpoints(answer, 80, true), (Endpoints{ep("10.0.0.3", 80)}));
  EXPECT_EQ(to_endpoints({ip("::1")}, 8080, true), (Endpoints{ep("::1", 8080)}));
  EXPECT_TRUE(to_endpoints({}, 80, false).empty());
}

// 2 agents x 2 threads x 3 connections each over 4 addresses: the starts the
// engine gives (agent's first connection + threads before) make every address
// get exactly 3 of the 12 connections, and the next connects keep rotating.
TEST(AddressChooser, RoundRobinOverThreadsAndAgents) {
  const Endpoints four = {ep("10.0.0.1", 80), ep("10.0.0.2", 80), ep("10.0.0.3", 80),
                          ep("10.0.0.4", 80)};
  std::vector<Target> targets;
  targets.push_back(target_with(four));
  std::map<tcp::endpoint, int> used;
  for (uint64_t agent_first : {0u, 6u}) {
    for (uint64_t thread = 0; thread < 2; ++thread) {
      AddressChooser chooser(targets, agent_first + thread * 3);
      for (int k = 0; k < 3; ++k) {
        tcp::endpoint e;
        ASSERT_TRUE(chooser.next(targets[0], &e));
        ++used[e];
      }
    }
  }
  ASSERT_EQ(used.size(), 4u);
  for (const auto& [e, n] : used) EXPECT_EQ(n, 3) << e;
  AddressChooser one(targets, 2);
  std::vector<tcp::endpoint> seq(6);
  for (auto& e : seq) ASSERT_TRUE(one.next(targets[0], &e));
  EXPECT_EQ(seq,
            (std::vector<tcp::endpoint>{four[2], four[3], four[0], four[1], four[2], four[3]}));
}

TEST(AddressChooser, EmptyBookFailsUntilItIsFilled) {
  std::vector<Target> targets;
  targets.push_back(target_with({}));
  AddressChooser chooser(targets, 0);
  tcp::endpoint e;
  EXPECT_FALSE(chooser.next(targets[0], &e));
  targets[0].addresses->set({ep("10.0.0.9", 81)});
  ASSERT_TRUE(chooser.next(targets[0], &e));
  EXPECT_EQ(e, ep("10.0.0.9", 81));
}

// A resolver whose answer changes: a refresh puts the new list in the book, the
// chooser's next connects use it; a failed or empty answer keeps the old one.
TEST(AddressRefresher, ReResolutionWithAChangingAnswer) {
  std::mutex mu;
  Result<std::vector<IpAddress>> answer = std::vector<IpAddress>{ip("10.0.0.1")};
  Resolve fake = [&](const std::string& host) -> Result<std::vector<IpAddress>> {
    EXPECT_EQ(host, "svc.test");
    std::lock_guard lock(mu);
    return answer;
  };
  std::vector<Target> targets;
  targets.push_back(target_with({ep("10.0.0.1", 80)}));
  AddressRefresher refresher({{"svc.test", 80, targets[0].addresses.get()}}, fake, 0ms);
  AddressChooser chooser(targets, 0);
  tcp::endpoint e;
  ASSERT_TRUE(chooser.next(targets[0], &e));
  EXPECT_EQ(e, ep("10.0.0.1", 80));
  {
    std::lock_guard lock(mu);
    answer = std::vector<IpAddress>{ip("10.0.0.3"), ip("10.0.0.2"), ip("10.0.0.1")};
  }
  const uint64_t before = targets[0].addresses->version();
  refresher.refresh_now();
  EXPECT_EQ(targets[0].addresses->version(), before + 1);
  std::map<tcp::endpoint, int> used;
  for (int k = 0; k < 6; ++k) {
    ASSERT_TRUE(chooser.next(targets[0], &e));
    ++used[e];
  }
  EXPECT_EQ(used, (std::map<tcp::endpoint, int>{
                      {ep("10.0.0.1", 80), 2}, {ep("10.0.0.2", 80), 2}, {ep("10.0.0.3", 80), 2}}));
  {
    std::lock_guard lock(mu);
    answer = Error{"cannot resolve svc.test"};
  }
  refresher.refresh_now();
  EXPECT_EQ(targets[0].addresses->current()->size(), 3u);
  refresher.refresh_now();  // the same answer again changes nothing
  EXPECT_EQ(targets[0].addresses->version(), before + 1);
}

// The refresher's own thread, every dns_refresh: the book changes without a call.
TEST(AddressRefresher, RefreshesOnItsOwnEveryPeriod) {
  std::atomic<int> calls{0};
  Resolve fake = [&](const std::string&) -> Result<std::vector<IpAddress>> {
    ++calls;
    return std::vector<IpAddress>{ip("10.0.0.7")};
  };
  AddressBook book;
  {
    AddressRefresher refresher({{"svc.test", 80, &book}}, fake, 10ms);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (calls.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_GE(calls.load(), 2);
  EXPECT_EQ(*book.current(), (Endpoints{ep("10.0.0.7", 80)}));
}

EngineOptions spread_options(uint16_t port, uint32_t connections, unsigned threads) {
  EngineOptions o;
  o.slice.targets = {parse_url("http://spread.test:" + std::to_string(port) + "/").value()};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = connections;
  o.slice.load.duration = 300ms;
  o.slice.load.interval = 300ms;
  o.threads = threads;
  o.start = std::chrono::system_clock::now() + 100ms;
  o.resolve = [](const std::string& host) -> Result<std::vector<IpAddress>> {
    if (host != "spread.test") return Error{"cannot resolve " + host};
    return std::vector<IpAddress>{ip("127.0.0.3"), ip("127.0.0.1"), ip("127.0.0.2")};
  };
  return o;
}

// Real servers on 127.0.0.1, .2 and .3 at one port, one name resolving to all
// three: two agents (first_connection 0 and 3) x 3 threads x 1 connection put
// exactly two connections on each server; `resolve: first` puts all six on one.
TEST(EngineAddresses, EveryAddressOfANameGetsItsShareOfConnections) {
  TestHttpServer a;
  TestHttpServer b(TestHttpServer::Mode::kOk, 200, "127.0.0.2", a.port());
  TestHttpServer c(TestHttpServer::Mode::kOk, 200, "127.0.0.3", a.port());
  for (uint32_t first : {0u, 3u}) {
    EngineOptions o = spread_options(a.port(), 3, 3);
    o.slice.first_connection = first;
    Engine engine(std::move(o), [](IntervalReport) {});
    const Counters total = engine.run();
    EXPECT_EQ(total.errors, 0u);
    EXPECT_EQ(total.connections_opened, 3u);
  }
  EXPECT_EQ(a.accepted(), 2u);
  EXPECT_EQ(b.accepted(), 2u);
  EXPECT_EQ(c.accepted(), 2u);
  EXPECT_GT(a.answered() * b.answered() * c.answered(), 0u);

  EngineOptions first = spread_options(a.port(), 6, 2);
  first.slice.spread.resolve_first = true;
  Engine engine(std::move(first), [](IntervalReport) {});
  EXPECT_EQ(engine.run().errors, 0u);
  EXPECT_EQ(a.accepted() + b.accepted() + c.accepted(), 12u);
  EXPECT_EQ(c.accepted(), 8u);  // the resolver's first IPv4 answer, as before
}

// Open loop at a low rate needs one connection at a time, and the idle one it
// reuses (most recently used) would carry every request to one address. With
// several addresses each request takes the next address in turn: a third
// each on 127.0.0.1, .2 and .3.
TEST(EngineAddresses, OpenLoopAtALowRateRotatesOverTheAddresses) {
  TestHttpServer a;
  TestHttpServer b(TestHttpServer::Mode::kOk, 200, "127.0.0.2", a.port());
  TestHttpServer c(TestHttpServer::Mode::kOk, 200, "127.0.0.3", a.port());
  EngineOptions o = spread_options(a.port(), 0, 1);
  o.slice.load.mode = LoadMode::kOpen;
  o.slice.load.rate = 60;
  o.slice.load.max_connections = 6;
  o.slice.load.duration = 1000ms;
  o.slice.load.interval = 1000ms;
  Engine engine(std::move(o), [](IntervalReport) {});
  const Counters total = engine.run();
  EXPECT_EQ(total.errors, 0u);
  ASSERT_GE(total.requests, 30u);
  const double n = static_cast<double>(a.answered() + b.answered() + c.answered());
  for (const TestHttpServer* s : {&a, &b, &c}) {
    // Exactly a third once each address has its connection; the first turns
    // may go to another address while that connection is being opened.
    EXPECT_GE(static_cast<double>(s->answered()) / n, 0.25) << s->answered() << " of " << n;
    EXPECT_LE(static_cast<double>(s->answered()) / n, 0.42) << s->answered() << " of " << n;
  }
  EXPECT_LE(a.accepted() + b.accepted() + c.accepted(), 6u);
}

TEST(EngineAddresses, Ipv6LiteralTarget) {
  TestHttpServer v6(TestHttpServer::Mode::kOk, 200, "::1", 0);
  EngineOptions o;
  o.slice.targets = {parse_url("http://[::1]:" + std::to_string(v6.port()) + "/").value()};
  o.slice.requests = {RequestSpec{}};
  o.slice.load.connections = 2;
  o.slice.load.duration = 300ms;
  o.slice.load.interval = 300ms;
  o.start = std::chrono::system_clock::now() + 100ms;
  Engine engine(std::move(o), [](IntervalReport) {});
  const Counters total = engine.run();
  EXPECT_EQ(total.errors, 0u);
  EXPECT_GT(total.requests, 0u);
  EXPECT_GE(v6.answered(), total.requests);
}

}  // namespace address_book_test
}  // namespace horde
