// The metrics endpoint's text and the progress line: checked against values
// computed here by hand, and (for /metrics) over a real loopback socket.
#include "controller/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>

#include "controller/exposition.h"
#include "controller/progress.h"

namespace horde {
namespace metrics_test {

// name{labels} -> value, from the exposition text; comments skipped.
std::map<std::string, std::string> parse(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

TEST(MetricsText, RendersEveryFamilyWithTypes) {
  MetricsSnapshot s;
  s.requests_total = 12345;
  s.errors_total[static_cast<size_t>(ErrorClass::kTimeout)] = 7;
  s.throughput_rps = 8123.5;
  s.interval_latency_ms = {1.2, 2.5, 4.5, 9};
  s.phase_latency_ms = {1.1, 2.4, 4.4, 8.5};
  s.agents_connected = 3;
  s.agents_lost = 1;
  s.offered_rps = 9000;
  s.achieved_rps = 8999.25;
  s.agent_throughput_rps = {{"a-1", 4000}, {"we\"ird\\name", 4123.5}};
  s.phase_index = 2;
  s.interval_index = 11;
  const std::string text = render_metrics(s);
  auto m = parse(text);
  EXPECT_EQ(m["horde_requests_total"], "12345");
  EXPECT_EQ(m["horde_errors_total{class=\"timeout\"}"], "7");
  EXPECT_EQ(m["horde_errors_total{class=\"connect\"}"], "0");
  EXPECT_EQ(m["horde_errors_total{class=\"http_5xx\"}"], "0");
  EXPECT_EQ(m["horde_throughput_rps"], "8123.5");
  EXPECT_EQ(m["horde_latency_ms{quantile=\"0.5\",window=\"interval\"}"], "1.2");
  EXPECT_EQ(m["horde_latency_ms{quantile=\"0.99\",window=\"interval\"}"], "4.5");
  EXPECT_EQ(m["horde_latency_ms{quantile=\"0.999\",window=\"phase\"}"], "8.5");
  EXPECT_EQ(m["horde_latency_ms{quantile=\"0.9\",window=\"phase\"}"], "2.4");
  EXPECT_EQ(m["horde_agents{state=\"connected\"}"], "3");
  EXPECT_EQ(m["horde_agents{state=\"lost\"}"], "1");
  EXPECT_EQ(m["horde_offered_rps"], "9000");
  EXPECT_EQ(m["horde_achieved_rps"], "8999.25");
  EXPECT_EQ(m["horde_agent_throughput_rps{agent=\"a-1\"}"], "4000");
  EXPECT_EQ(m["horde_agent_throughput_rps{agent=\"we\\\"ird\\\\name\"}"], "4123.5");
  EXPECT_EQ(m["horde_phase_index"], "2");
  EXPECT_EQ(m["horde_interval_index"], "11");
  EXPECT_NE(text.find("# TYPE horde_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE horde_latency_ms gauge\n"), std::string::npos);
  EXPECT_EQ(m.size(), 1u + kErrorClassCount + 1u + 8u + 2u + 1u + 1u + 2u + 1u + 1u);
  EXPECT_EQ(text.back(), '\n');
}

// The snapshot's figures against counts added up by hand.
TEST(MetricsServer, IntervalSnapshotAddsPhasesAndDiffsAgents) {
  MetricsServer server;  // not started: the run-thread side works alone
  PhaseResult done;
  done.counters.requests = 1000;
  done.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 2;
  PhaseResult current;
  current.index = 1;
  current.offered_rps = 500;
  current.counters.requests = 300;
  current.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 1;
  for (int i = 1; i <= 100; ++i) current.latency.record(i * 1000);  // 1..100 ms
  IntervalRow first;
  first.phase = 1;
  first.interval = 0;
  first.duration_s = 1;
  first.counters.requests = 100;
  current.intervals.push_back(first);
  IntervalRow row;
  row.phase = 1;
  row.interval = 1;
  row.duration_s = 0.5;  // a last, shorter interval
  row.counters.requests = 200;
  Histogram interval;
  interval.record(2000);
  server.interval({done}, current, row, interval, {{"a", 100}, {"b", 200}}, 1.0);
  server.interval({done}, current, row, interval, {{"a", 150}, {"b", 260}}, 1.0);
  const MetricsSnapshot& s = server.snapshot();
  EXPECT_EQ(s.requests_total, 1300u);
  EXPECT_EQ(s.errors_total[static_cast<size_t>(ErrorClass::kConnect)], 3u);
  EXPECT_DOUBLE_EQ(s.throughput_rps, 400);
  EXPECT_DOUBLE_EQ(s.achieved_rps, 300 / 1.5);
  EXPECT_DOUBLE_EQ(s.offered_rps, 500);
  EXPECT_DOUBLE_EQ(s.interval_latency_ms[0], 2);
  // The 50th and 99th of 1..100 ms, to the histogram's precision (3 significant digits).
  EXPECT_NEAR(s.phase_latency_ms[0], 50, 0.05);
  EXPECT_NEAR(s.phase_latency_ms[2], 99, 0.1);
  EXPECT_DOUBLE_EQ(s.phase_latency_ms[3],
                   static_cast<double>(current.latency.value_at_percentile(99.9)) / 1000);
  ASSERT_EQ(s.agent_throughput_rps.size(), 2u);
  EXPECT_DOUBLE_EQ(s.agent_throughput_rps[0].second, 50);
  EXPECT_DOUBLE_EQ(s.agent_throughput_rps[1].second, 60);
  EXPECT_EQ(s.phase_index, 1u);
  EXPECT_EQ(s.interval_index, 1u);
  server.set_agents(4, 1);
  EXPECT_NE(server.text().find("horde_agents{state=\"lost\"} 1\n"), std::string::npos);
}

// The per-name series against counts added up by hand, read back with the exposition parser
// (so the label escaping is what a Prometheus server reads), next to the unchanged totals.
TEST(MetricsServer, PerNameSeriesAddUpAndTheirLabelsRoundTrip) {
  MetricsServer server;
  const std::string odd = "POST /x?q=\"a\\b\"\nnext";  // a quote, a backslash, a newline
  server.set_request_names({"home", odd});
  PhaseResult done;
  done.counters.requests = 1000;
  done.names[0].counters.requests = 600;
  done.names[1].counters.requests = 400;
  done.names[1].counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 2;
  done.counters.errors_by_class[static_cast<size_t>(ErrorClass::kConnect)] = 2;
  PhaseResult current;
  current.index = 1;
  current.counters.requests = 300;
  current.names[0].counters.requests = 200;
  current.names[1].counters.requests = 100;
  current.names[1].counters.errors_by_class[static_cast<size_t>(ErrorClass::kTimeout)] = 1;
  current.counters.errors_by_class[static_cast<size_t>(ErrorClass::kTimeout)] = 1;
  for (int i = 1; i <= 100; ++i) {
    current.names[0].latency.record(i * 1000);  // 1..100 ms
    current.latency.record(i * 1000);
  }
  current.names[1].latency.record(40'000);
  current.latency.record(40'000);
  IntervalRow row;
  row.phase = 1;
  row.interval = 3;
  row.duration_s = 1;
  row.counters.requests = 2;
  Histogram interval;
  interval.record(3000);
  interval.record(7000);
  ByName interval_names;
  interval_names[0].latency.record(3000);
  interval_names[1].latency.record(7000);
  server.interval({done}, current, row, interval, {}, 1.0, interval_names);

  const MetricsSnapshot& s = server.snapshot();
  ASSERT_EQ(s.names.size(), 2u);
  EXPECT_EQ(s.names[0].requests_total, 800u);
  EXPECT_EQ(s.names[1].requests_total, 500u);
  EXPECT_EQ(s.names[1].errors_total[static_cast<size_t>(ErrorClass::kConnect)], 2u);
  EXPECT_EQ(s.names[1].errors_total[static_cast<size_t>(ErrorClass::kTimeout)], 1u);
  EXPECT_EQ(s.names[0].errors_total[static_cast<size_t>(ErrorClass::kTimeout)], 0u);
  EXPECT_DOUBLE_EQ(s.names[0].interval_latency_ms[0], 3);
  EXPECT_DOUBLE_EQ(s.names[1].interval_latency_ms[3], 7);
  EXPECT_NEAR(s.names[0].phase_latency_ms[0], 50, 0.05);  // of 1..100 ms
  EXPECT_DOUBLE_EQ(s.names[1].phase_latency_ms[2], 40);

  auto samples = parse_exposition(server.text());
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  const auto value = [&](const std::string& metric,
                         std::vector<std::pair<std::string, std::string>> labels) {
    return sum_matching(*samples, SeriesMatch{metric, std::move(labels)});
  };
  EXPECT_EQ(value("horde_requests_by_name_total", {{"name", "home"}}), 800);
  EXPECT_EQ(value("horde_requests_by_name_total", {{"name", odd}}), 500);
  EXPECT_EQ(value("horde_errors_by_name_total", {{"name", odd}}), 3);  // both classes
  EXPECT_EQ(value("horde_errors_by_name_total", {{"name", odd}, {"class", "timeout"}}), 1);
  EXPECT_EQ(value("horde_latency_by_name_ms",
                  {{"name", "home"}, {"quantile", "0.5"}, {"window", "phase"}}),
            s.names[0].phase_latency_ms[0]);
  EXPECT_EQ(value("horde_latency_by_name_ms",
                  {{"name", odd}, {"quantile", "0.99"}, {"window", "interval"}}),
            7);
  // The names add up to the totals, and the totals are still one unlabelled series.
  EXPECT_EQ(value("horde_requests_by_name_total", {}), value("horde_requests_total", {}));
  size_t totals = 0;
  for (const auto& x : *samples) {
    if (x.name == "horde_requests_total") {
      ++totals;
      EXPECT_TRUE(x.labels.empty());
      EXPECT_EQ(x.value, 1300);
    }
  }
  EXPECT_EQ(totals, 1u);
  EXPECT_NE(server.text().find("# TYPE horde_requests_by_name_total counter\n"), std::string::npos);
  EXPECT_NE(server.text().find("name=\"POST /x?q=\\\"a\\\\b\\\"\\nnext\""), std::string::npos)
      << server.text();

  // One name: no per-name parts are kept, the totals are that name's.
  MetricsServer single;
  single.set_request_names({"GET /"});
  PhaseResult whole;
  whole.counters.requests = 300;
  whole.latency.record(5000);
  single.interval({}, whole, row, interval, {}, 1.0);
  ASSERT_EQ(single.snapshot().names.size(), 1u);
  EXPECT_EQ(single.snapshot().names[0].requests_total, 300u);
  EXPECT_DOUBLE_EQ(single.snapshot().names[0].phase_latency_ms[0], 5);
  EXPECT_DOUBLE_EQ(single.snapshot().names[0].interval_latency_ms[3], 7);
}

std::string get(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  (void)!::write(fd, request.data(), request.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

TEST(MetricsServer, ServesTheLastSnapshotOverHttp) {
  MetricsServer server;
  auto port = server.start("127.0.0.1:0");
  ASSERT_TRUE(port) << port.error().message;
  server.set_agents(2, 0);
  const std::string ok = get(*port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const auto body = ok.substr(ok.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, server.text());
  EXPECT_NE(body.find("horde_agents{state=\"connected\"} 2\n"), std::string::npos);
  EXPECT_EQ(get(*port, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(get(*port, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  server.stop();
  EXPECT_EQ(get(*port, "GET /metrics HTTP/1.1\r\n\r\n"), "");
}

int connect_idle(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // no read in these tests waits longer than this
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One scrape on its own connection, reading with a deadline.
std::string scrape(int port) {
  const int fd = connect_idle(port);
  if (fd < 0) return "";
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

// Issue #14 item 8: 64 idle unauthenticated connections used to fill every slot,
// and each new scrape was closed unanswered until they went away.
TEST(MetricsServer, IdleConnectionsCannotLockAScraperOut) {
  MetricsServer server;  // default 2 s request timeout
  auto port = server.start("127.0.0.1:0");
  ASSERT_TRUE(port) << port.error().message;
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_idle(*port);
    ASSERT_GE(fd, 0) << i;
    idle.push_back(fd);
    if (i == 63 || i == 199) {  // the slots are full, then far over full
      const std::string answer = scrape(*port);
      EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "after " << i + 1 << ": " << answer;
      EXPECT_NE(answer.find("horde_requests_total"), std::string::npos);
    }
  }
  for (int fd : idle) ::close(fd);
}

TEST(MetricsServer, AConnectionThatSendsNoRequestIsClosed) {
  MetricsServer server(std::chrono::milliseconds(300));
  auto port = server.start("127.0.0.1:0");
  ASSERT_TRUE(port) << port.error().message;
  const int fd = connect_idle(*port);
  ASSERT_GE(fd, 0);
  char c = 0;
  const auto started = std::chrono::steady_clock::now();
  // The server closes it (read returns 0), well before this read's 10 s timeout.
  EXPECT_EQ(::read(fd, &c, 1), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(9));
  ::close(fd);
  EXPECT_EQ(scrape(*port).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(MetricsServer, BadListenAddressIsAnError) {
  MetricsServer server;
  EXPECT_FALSE(server.start("no-port"));
  EXPECT_FALSE(server.start("256.1.1.1:80"));
}

ProgressStatus example() {
  ProgressStatus s;
  s.phase_index = 1;
  s.phase_count = 5;
  s.phase_name = "instances 3";
  s.elapsed_s = 12;
  s.total_s = 20;
  s.rps = 8123.4;
  s.errors = 0;
  s.p50_ms = 1.2;
  s.p99_ms = 4.5;
  s.connections = 12;
  s.agents_active = 3;
  s.agents_total = 3;
  return s;
}

TEST(Progress, LineFormat) {
  EXPECT_EQ(progress_line(example()),
            "phase 2/5 \"instances 3\" [######....] 12.0/20.0s  8123 rps  errors 0/s  p50 1.2ms "
            "p99 4.5ms  conns 12  agents 3/3");
  {
    // Errors per interval, like rps (issue 17); the phase's last interval adds the total.
    ProgressStatus e = example();
    e.errors_per_s = 42.4;
    e.errors = 1234;
    EXPECT_NE(progress_line(e).find("  errors 42/s  p50"), std::string::npos);
    e.elapsed_s = 20;
    EXPECT_NE(progress_line(e).find("  errors 42/s (1234 total)  p50"), std::string::npos);
  }
  ProgressStatus s = example();
  s.phase_count = 0;  // capacity search: the count is not known
  s.elapsed_s = 25;   // clamped to the phase length
  s.p50_ms = 0.4123;
  s.p99_ms = 250.4;
  s.warmup = true;
  s.phase_name = "bad\nname\r";
  EXPECT_EQ(progress_line(s),
            "phase 2 \"bad name \" [##########] 20.0/20.0s  8123 rps  errors 0/s (0 total)  p50 "
            "0.412ms p99 250ms  conns 12  agents 3/3  (warm-up)");
}

std::string render(bool in_place, const std::vector<ProgressStatus>& updates, bool warn) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  {
    ProgressRenderer r(f, in_place);
    for (const auto& u : updates) r.update(u);
    if (warn) r.message("warning: x");
    r.finish();
  }
  std::fclose(f);
  std::string out(buf, size);
  std::free(buf);
  return out;
}

TEST(Progress, PlainModeHasNoControlCharacters) {
  ProgressStatus a = example(), b = example();
  b.elapsed_s = 13;
  const std::string out = render(false, {a, b}, true);
  for (char c : out) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
  EXPECT_EQ(out, progress_line(a) + "\n" + progress_line(b) + "\nwarning: x\n");
  // A stream that is not a terminal never gets the in-place display.
  std::FILE* f = std::tmpfile();
  EXPECT_FALSE(ProgressRenderer::for_stream(f, true).in_place());
  std::fclose(f);
}

TEST(Progress, InPlaceRedrawsOneLinePerPhase) {
  ProgressStatus a = example(), b = example(), c = example();
  a.phase_name = "a much longer phase name";
  c.phase_index = 2;
  const std::string out = render(true, {a, b, c}, false);
  const std::string la = progress_line(a), lb = progress_line(b), lc = progress_line(c);
  EXPECT_EQ(out,
            "\r" + la + "\r" + lb + std::string(la.size() - lb.size(), ' ') + "\n\r" + lc + "\n");
}

TEST(Progress, PlannedPhaseCount) {
  Workload w;
  EXPECT_EQ(planned_phase_count(w), 1u);
  w.sweep.instances = {1, 2, 3};
  EXPECT_EQ(planned_phase_count(w), 3u);
  w.capacity = CapacitySearch{};
  EXPECT_EQ(planned_phase_count(w), 0u);
}

}  // namespace metrics_test
}  // namespace horde
