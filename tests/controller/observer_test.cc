// Tests for the `observe:` reader (controller/observer.h, http_get.h): a
// source's bodies turned into values (a gauge summed over matching series, a
// counter's rate across a reset, a Prometheus answer), readings aligned to
// the phase's intervals with a fake fetch (a failing source leaves nulls and
// one warning), and the HTTP GET against real sockets on 127.0.0.1: a body
// over 10 MiB refused, a server slower than the timeout cut off.
#include "controller/observer.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "controller/http_get.h"

namespace horde {
namespace observer_test {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

ObserveSource scrape_source(bool rate) {
  ObserveSource s;
  s.name = "cpu";
  s.scrape = *parse_url("http://127.0.0.1:9/metrics");
  s.metric = "cpu_seconds_total";
  s.match = {{"mode", "!idle"}};
  s.rate = rate;
  s.unit = ObserveUnit::kCores;
  return s;
}

std::string cpu_body(double user, double system, double idle) {
  return "# TYPE cpu_seconds_total counter\n"
         "cpu_seconds_total{mode=\"user\"} " +
         std::to_string(user) + "\ncpu_seconds_total{mode=\"system\"} " + std::to_string(system) +
         "\ncpu_seconds_total{mode=\"idle\"} " + std::to_string(idle) + "\n";
}

TEST(SourceReader, GaugeSumsTheMatchingSeries) {
  const ObserveSource s = scrape_source(false);
  SourceReader r(s);
  auto v = r.read(cpu_body(3, 1.5, 100), 0);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 4.5);  // idle left out by "!idle"
}

TEST(SourceReader, RateAcrossAResetAsPrometheusDoes) {
  const ObserveSource s = scrape_source(true);
  SourceReader r(s);
  auto first = r.read(cpu_body(10, 2, 0), 100);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());  // the baseline
  auto second = r.read(cpu_body(12, 3, 0), 102);
  ASSERT_TRUE(second.ok());
  EXPECT_DOUBLE_EQ(**second, 1.5);  // (2 + 1) / 2 s
  // user restarted from 0 (its increase is its new value, 1), system +1: 2 / 1 s.
  auto third = r.read(cpu_body(1, 4, 0), 103);
  ASSERT_TRUE(third.ok());
  EXPECT_DOUBLE_EQ(**third, 2.0);
  r.reset();  // a failed reading: the next scrape is a baseline again
  auto after = r.read(cpu_body(2, 5, 0), 104);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

TEST(SourceReader, GarbageAndMissingSeriesAreErrors) {
  const ObserveSource s = scrape_source(false);
  SourceReader r(s);
  auto garbage = r.read("<html>not metrics</html>\n", 0);
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("not Prometheus text format: line 1"));
  auto none = r.read("other_metric 1\ncpu_seconds_total{mode=\"idle\"} 5\n", 0);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("no series cpu_seconds_total{mode=\"!idle\"}"));
}

TEST(SourceReader, PrometheusUrlCarriesTheQueryAndTheEndTime) {
  ObserveSource s;
  s.name = "web";
  s.prometheus = *parse_url("http://127.0.0.1:9090/prom/");
  s.query = "sum(rate(x{a=\"b\"}[15s]))";
  const Url u = SourceReader(s).url_at(1700000000.25);
  EXPECT_EQ(u.path,
            "/prom/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B15s%5D%29%29&time="
            "1700000000.250");
  EXPECT_EQ(u.port, 9090);
}

TEST(PrometheusValue, VectorScalarEmptyAndErrors) {
  auto v = prometheus_value(R"({"status":"success","data":{"resultType":"vector","result":[)"
                            R"({"metric":{"a":"1"},"value":[1700000000.1,"1.25"]},)"
                            R"({"metric":{"a":"2"},"value":[1700000000.1,"0.5"]},)"
                            R"({"metric":{"a":"3"},"value":[1700000000.1,"NaN"]}]}})");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_DOUBLE_EQ(**v, 1.75);
  auto scalar =
      prometheus_value(R"({"status":"success","data":{"resultType":"scalar","result":[1,"3"]}})");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(**scalar, 3.0);
  auto empty =
      prometheus_value(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  ASSERT_FALSE(empty.ok());  // a failed reading (a warning), its value null, never 0
  EXPECT_THAT(empty.error().message, HasSubstr("the query matched no series"));
  auto bad = prometheus_value(
      R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("the query failed: parse error at char 4"));
  auto matrix =
      prometheus_value(R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  ASSERT_FALSE(matrix.ok());
  EXPECT_THAT(matrix.error().message, HasSubstr("a matrix; expected an instant vector"));
  EXPECT_FALSE(prometheus_value("not json").ok());
}

TEST(ObserveClock, IntervalEndsAndTheShortLastOne) {
  ObserveClock c;
  c.interval = 1000ms;
  c.total = 2500ms;
  c.intervals = 3;
  EXPECT_EQ(c.end_of(0), 1000ms);
  EXPECT_EQ(c.end_of(2), 2500ms);
  EXPECT_EQ(observe_timeout(1000ms), 800ms);
  EXPECT_EQ(observe_timeout(60'000ms), 10'000ms);
}

ObserveClock clock_from_now(std::chrono::milliseconds interval, uint32_t n) {
  ObserveClock c;
  c.start = SteadyClock::now() + 50ms;
  c.start_unix_s = 1'700'000'000;
  c.interval = interval;
  c.total = interval * n;
  c.intervals = n;
  return c;
}

// Each interval's value is the counter's increase over it, whatever the timing:
// the fake counts 1 CPU-second per reading and the clock reads elapsed time.
TEST(Observer, ReadsEachIntervalAndAFailingSourceLeavesNulls) {
  std::atomic<int> gauge_calls{0};
  std::vector<ObserveSource> sources;
  ObserveSource gauge = scrape_source(false);
  gauge.name = "gauge";
  gauge.scrape = *parse_url("http://127.0.0.1:9/gauge");
  sources.push_back(gauge);
  ObserveSource down = scrape_source(false);
  down.name = "down";
  down.scrape = *parse_url("http://127.0.0.1:9/down");
  sources.push_back(down);
  ObserveSource prom;
  prom.name = "prom";
  prom.prometheus = *parse_url("http://127.0.0.1:9/");
  prom.query = "up";
  sources.push_back(prom);
  std::vector<double> prom_times;
  std::mutex mu;
  Observer o(sources, [&](const Url& u, std::chrono::milliseconds timeout) -> Result<std::string> {
    EXPECT_EQ(timeout, 80ms);
    if (u.path == "/gauge") return cpu_body(++gauge_calls, 0, 0);
    if (u.path == "/down") return Error{"connection refused"};
    std::lock_guard lock(mu);
    const auto at = u.path.find("&time=");
    prom_times.push_back(std::stod(u.path.substr(at + 6)));
    return std::string(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  });
  const ObserveClock c = clock_from_now(100ms, 3);
  o.begin_phase(7, c);
  std::this_thread::sleep_until(c.start + c.total);
  const ObservedPhase seen = o.end_phase(c.start + c.total);
  ASSERT_EQ(seen.values.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(seen.values[i].size(), 3u);
    EXPECT_EQ(seen.values[i][0], std::optional<double>(i + 1)) << "interval " << i;
    EXPECT_FALSE(seen.values[i][1].has_value());
    EXPECT_FALSE(seen.values[i][2].has_value());  // an empty vector: null, and warned
  }
  // The query is asked at each interval's end on the system clock.
  EXPECT_EQ(prom_times, (std::vector<double>{1'700'000'000.1, 1'700'000'000.2, 1'700'000'000.3}));
  ASSERT_EQ(seen.warnings.size(), 2u);
  EXPECT_THAT(seen.warnings[0],
              HasSubstr("observe down: 3 of 3 readings failed in phase 7 (their values are null); "
                        "first: connection refused"));
  EXPECT_THAT(seen.warnings[1], HasSubstr("first: the query matched no series"));
}

TEST(Observer, AnAbortReadsNothingMore) {
  std::atomic<int> calls{0};
  Observer o({scrape_source(true)}, [&](const Url&, std::chrono::milliseconds) {
    ++calls;
    return Result<std::string>(cpu_body(calls, 0, 0));
  });
  const ObserveClock c = clock_from_now(10s, 5);
  o.begin_phase(0, c);
  const auto t0 = SteadyClock::now();
  std::this_thread::sleep_until(c.start + 20ms);  // past the baseline's time
  const ObservedPhase seen = o.end_phase(SteadyClock::now());
  EXPECT_LT(SteadyClock::now() - t0, 5s);
  ASSERT_EQ(seen.values.size(), 5u);
  for (const auto& v : seen.values) EXPECT_FALSE(v[0].has_value());
  EXPECT_LE(calls.load(), 1);
  EXPECT_TRUE(seen.warnings.empty());
}

// A one-connection HTTP server on 127.0.0.1: answers `response` after `delay`.
class OneShotServer {
 public:
  OneShotServer(std::string response, std::chrono::milliseconds delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, response = std::move(response), delay] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      std::this_thread::sleep_for(delay);
      size_t off = 0;
      while (off < response.size()) {
        const ssize_t n = ::send(c, response.data() + off, response.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  Url url() const { return *parse_url("http://127.0.0.1:" + std::to_string(port_) + "/metrics"); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string http_ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpGet, ReadsABody) {
  OneShotServer s(http_ok("up 1\n"), 0ms);
  auto r = http_get(s.url(), 2s, kMaxExpositionBytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "up 1\n");
}

TEST(HttpGet, RefusesABodyOver10MiB) {
  OneShotServer s(http_ok(std::string(kMaxExpositionBytes + 1, 'a')), 0ms);
  auto r = http_get(s.url(), 5s, kMaxExpositionBytes);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("over the limit of 10485760 bytes"));
}

TEST(HttpGet, RefusesAChunkedBodyOver10MiB) {
  std::string chunks;
  const std::string mib(1 << 20, 'a');
  for (int i = 0; i < 11; ++i) chunks += "100000\r\n" + mib + "\r\n";
  OneShotServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n",
                  0ms);
  auto r = http_get(s.url(), 5s, kMaxExpositionBytes);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("over the limit of 10485760 bytes"));
}

TEST(HttpGet, ASlowServerIsCutOffAtTheTimeout) {
  OneShotServer s(http_ok("up 1\n"), 1500ms);
  const auto t0 = SteadyClock::now();
  auto r = http_get(s.url(), 200ms, kMaxExpositionBytes);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("no complete answer within 200 ms"));
  EXPECT_LT(SteadyClock::now() - t0, 1400ms);
}

TEST(HttpGet, NobodyListening) {
  Url u;
  {
    OneShotServer s(http_ok(""), 0ms);
    u = s.url();
    // Take the one connection, so the server thread ends and the port closes.
    (void)http_get(u, 2s, kMaxExpositionBytes);
  }
  auto r = http_get(u, 2s, kMaxExpositionBytes);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(u.text));
}

}  // namespace observer_test
}  // namespace horde
