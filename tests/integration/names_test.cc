// Named requests end to end: per-name counts against what Debian's nginx
// logged per path, expect.status on a path nginx answers 404, and a slow
// endpoint of a small Python server failing its own {name:...} threshold
// while the total p99 passes.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/integration/nginx.h"

namespace horde::testing {
namespace names_test {

constexpr const char* kPython = "/usr/bin/python3";

// HTTP/1.1 on nginx's port(), or HTTP/2 (h2c, 4 streams a connection) on its h2_port().
void per_name_counts(bool h2) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx-light is not installed";
  const auto dir = temp_dir(h2 ? "names-h2" : "names");
  Nginx nginx(dir);
  ASSERT_EQ(http_get(nginx.port(), "/"), "ok\n") << read_file(dir / "error.log");
  const std::string target = h2 ? "h2c://127.0.0.1:" + std::to_string(nginx.h2_port())
                                : "http://127.0.0.1:" + std::to_string(nginx.port());
  write_file(dir / "w.yaml", "target: " + target + "/\n" +
                                 (h2 ? "load: {connections: 2, streams_per_connection: 4, "
                                       "duration: 2s}\n"
                                     : "load: {connections: 4, duration: 2s}\n") +
                                 "requests:\n"
                                 "  - {name: home, path: /load/home, weight: 6}\n"
                                 "  - {path: /load/other, weight: 3}\n"
                                 "  - {name: gone, path: /missing/x, weight: 1,\n"
                                 "     expect: {status: [404]}}\n"
                                 "  - {name: broken, path: /missing/y, weight: 1}\n"
                                 "thresholds: ['error_rate{name:gone} < 0.1%',\n"
                                 "             'error_rate{name:broken} > 99%']\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& by = summary["totals"]["requests_by_name"];
  ASSERT_EQ(by.size(), 4u) << by.dump();

  std::map<std::string, uint64_t> logged;  // nginx's count per path
  std::istringstream log(nginx.uri_log());
  for (std::string line; std::getline(log, line);) logged[line.substr(0, line.find(' '))]++;
  // Requests counted are those answered within the run; nginx may also have
  // served the few still in flight at its end (at most one per connection).
  const auto near = [&](const std::string& name, const std::string& path) {
    const uint64_t counted = by[name]["requests"].get<uint64_t>();
    EXPECT_GT(counted, 0u) << name;
    EXPECT_LE(counted, logged[path]) << name;
    EXPECT_LE(logged[path] - counted, h2 ? 16u : 8u) << name << " " << path;
  };
  near("home", "/load/home");
  near("GET /load/other", "/load/other");
  near("gone", "/missing/x");
  near("broken", "/missing/y");
  EXPECT_EQ(by["gone"]["errors"], 0);
  EXPECT_EQ(by["gone"]["status_codes"]["404"], by["gone"]["requests"]);
  EXPECT_EQ(by["broken"]["errors"], by["broken"]["requests"]);
  EXPECT_EQ(by["broken"]["errors_by_class"]["http_4xx"], by["broken"]["requests"]);
  EXPECT_EQ(by["home"]["errors"], 0);
  // The names add up to the totals.
  uint64_t requests = 0;
  uint64_t errors = 0;
  for (const auto& [name, v] : by.items()) {
    requests += v["requests"].get<uint64_t>();
    errors += v["errors"].get<uint64_t>();
  }
  EXPECT_EQ(requests, summary["totals"]["requests"].get<uint64_t>());
  EXPECT_EQ(errors, summary["totals"]["errors"].get<uint64_t>());
  // Each phase has them too, and the terminal shows a per-name table.
  EXPECT_EQ(summary["phases"][0]["requests_by_name"].size(), 4u);
  EXPECT_NE(f.out.find("GET /load/other"), std::string::npos) << f.out;
}

TEST(Names, PerNameCountsEqualNginxPerPathAndExpectedStatusIsNoError) { per_name_counts(false); }

TEST(Names, OverHttp2TooWithStreamsInFlight) { per_name_counts(true); }

// expect.body_contains against bodies nginx serves from a file: a 100 KB page
// arrives in many reads (HTTP/1.1, a 16 KiB receive buffer) or DATA frames
// (HTTP/2), with one text at its very end and one near where a first 16 KiB
// read of the response ends (the unit tests cut bodies at every byte).
void body_contains(bool h2) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx-light is not installed";
  const auto dir = temp_dir(h2 ? "body-h2" : "body");
  Nginx nginx(dir);
  std::string page(100'000, '.');
  page.replace(16'380, 9, "ACROSS-16K");
  page.replace(page.size() - 10, 10, "THE-END-42");
  std::filesystem::create_directories(dir / "files");
  write_file(dir / "files" / "page.html", page);
  ASSERT_EQ(http_get(nginx.port(), "/files/page.html").size(), page.size());
  const std::string target = h2 ? "h2c://127.0.0.1:" + std::to_string(nginx.h2_port())
                                : "http://127.0.0.1:" + std::to_string(nginx.port());
  write_file(dir / "w.yaml",
             "target: " + target + "/\n" +
                 (h2 ? "load: {connections: 2, streams_per_connection: 4, duration: 2s}\n"
                     : "load: {connections: 4, duration: 2s}\n") +
                 "requests:\n"
                 "  - {name: end, path: /files/page.html, expect: {body_contains: THE-END-42}}\n"
                 "  - {name: across, path: /files/page.html, expect: {body_contains: ACROSS-16K}}\n"
                 "  - {name: absent, path: /files/page.html, expect: {body_contains: THE-END-43}}\n"
                 "  - {name: small, path: /, expect: {body_contains: 'ok'}}\n"
                 "  - {name: status-first, path: /missing/z,\n"
                 "     expect: {status: [200], body_contains: 'no'}}\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& by = summary["totals"]["requests_by_name"];
  for (const char* name : {"end", "across", "small"}) {
    EXPECT_GT(by[name]["requests"].get<uint64_t>(), 0u) << name;
    EXPECT_EQ(by[name]["errors"], 0) << name << " " << by[name].dump();
  }
  // Every response lacked the text: all unexpected_body, and each was still a
  // 200 with its latency.
  EXPECT_GT(by["absent"]["requests"].get<uint64_t>(), 0u);
  EXPECT_EQ(by["absent"]["errors"], by["absent"]["requests"]);
  EXPECT_EQ(by["absent"]["errors_by_class"]["unexpected_body"], by["absent"]["requests"]);
  EXPECT_EQ(by["absent"]["status_codes"]["200"], by["absent"]["requests"]);
  // A status outside expect.status is that error alone, whatever the body says.
  EXPECT_EQ(by["status-first"]["errors_by_class"]["unexpected_status"],
            by["status-first"]["requests"]);
  EXPECT_EQ(by["status-first"]["errors_by_class"].value("unexpected_body", 0), 0);
  EXPECT_EQ(summary["totals"]["errors"],
            by["absent"]["errors"].get<uint64_t>() + by["status-first"]["errors"].get<uint64_t>());
}

TEST(Names, BodyContainsOverHttp1ReadsWholeBodiesAcrossReads) { body_contains(false); }

TEST(Names, BodyContainsOverHttp2ReadsDataFrames) { body_contains(true); }

TEST(Names, SlowEndpointFailsItsOwnThresholdWhileTheTotalPasses) {
  const auto dir = temp_dir("names-slow");
  auto server = Subprocess::spawn(
      {kPython, std::string(HORDE_SOURCE_DIR) + "/tests/integration/named_server.py", "s1", "0",
       "0", "/slow", "60"},
      true);
  ASSERT_TRUE(server) << server.error().message;
  const auto line = wait_for_line(*server, "listening ");
  ASSERT_TRUE(line) << "named_server.py did not start";
  // 1 in 201 requests is slow: under 1%, so the total p99 stays fast.
  write_file(dir / "w.yaml", "target: http://127.0.0.1:" + *line +
                                 "/\n"
                                 "load: {connections: 4, duration: 3s}\n"
                                 "requests:\n"
                                 "  - {name: fast, path: /fast, weight: 200}\n"
                                 "  - {name: slow, path: /slow, weight: 1}\n"
                                 "thresholds: ['p99 < 40ms', 'p99{name:slow} < 40ms',\n"
                                 "             'p99{name:fast} < 40ms']\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"});
  EXPECT_EQ(f.code, 1) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& by = summary["totals"]["requests_by_name"];
  ASSERT_GT(by["slow"]["requests"].get<uint64_t>(), 0u) << by.dump();
  EXPECT_GE(by["slow"]["latency_ms"]["p99"].get<double>(), 60.0);
  const auto& th = summary["thresholds"];
  ASSERT_EQ(th.size(), 3u);
  EXPECT_EQ(th[0]["result"], "pass") << th.dump();
  EXPECT_EQ(th[1]["result"], "fail") << th.dump();
  EXPECT_EQ(th[2]["result"], "pass") << th.dump();
}

TEST(Names, UnknownNameInASelectorIsAValidationError) {
  const auto dir = temp_dir("names-bad");
  write_file(dir / "w.yaml",
             "target: http://127.0.0.1:9/\n"
             "requests: [{name: home, path: /}]\n"
             "thresholds: ['p99{name:hom} < 1s']\n");
  auto f = run_horde_merged({"validate", (dir / "w.yaml").string()});
  EXPECT_EQ(f.code, 2) << f.out;
  EXPECT_NE(f.out.find("no request is named \"hom\""), std::string::npos) << f.out;
}

}  // namespace names_test
}  // namespace horde::testing
