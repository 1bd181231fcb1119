// The connection policy end to end (horde run, controller and agent) against
// Debian's nginx, whose access log names each request's connection
// ($connection, nginx's serial number of it) and its number on it
// ($connection_requests): horde's `reconnects` in summary.json against the
// connections nginx saw. And bad policy keys exit 2 naming the field.
#include <gtest/gtest.h>

#include <map>

#include "tests/integration/harness.h"
#include "tests/integration/nginx.h"

namespace horde::testing {
namespace conn_policy_test {

namespace fs = std::filesystem;

// Requests per nginx connection, for the load's path only (not the readiness probes).
std::map<uint64_t, uint64_t> load_connections(const Nginx& nginx) {
  std::map<uint64_t, uint64_t> out;
  std::istringstream log(nginx.access_log());
  uint64_t conn = 0;
  uint64_t number = 0;
  std::string uri;
  while (log >> conn >> number >> uri) {
    if (uri == "/load") ++out[conn];
  }
  return out;
}

std::string workload(uint16_t port, const std::string& policy) {
  return "target: http://127.0.0.1:" + std::to_string(port) +
         "/load\nload:\n  mode: closed\n  connections: 4\n  duration: 2s\n" + policy;
}

TEST(ConnPolicyRun, NginxSawExactlyTheConnectionsHordeCounted) {
  if (!fs::exists(kNginx)) GTEST_SKIP() << "nginx is not installed";
  const auto dir = temp_dir("conn-policy-nginx");
  Nginx nginx(dir, "$connection $connection_requests $request_uri");
  write_file(dir / "w.yaml", workload(nginx.port(), "  connection_max_requests: 20\n"));
  const auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "1", "--out",
                            (dir / "out").string(), "--no-live"},
                           std::chrono::seconds(60));
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& totals = summary["totals"];
  const uint64_t requests = totals["requests"];
  const uint64_t reconnects = totals["reconnects"];
  EXPECT_EQ(totals["errors"], 0);
  EXPECT_EQ(summary["phases"][0]["reconnects"], reconnects);
  ASSERT_GT(requests, 200u);
  // Give nginx a moment to write the last lines (bounded).
  auto logged = load_connections(nginx);
  for (int i = 0; i < 50; ++i) {
    uint64_t n = 0;
    for (const auto& [c, k] : logged) n += k;
    if (n >= requests) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    logged = load_connections(nginx);
  }
  // Every connection nginx saw carried 20 requests, except the last of each of
  // the 4 (cut by the end); horde opened 4 plus its reconnects, of which the
  // last 4 may not have carried a request yet.
  size_t short_ones = 0;
  uint64_t sum = 0;
  for (const auto& [conn, n] : logged) {
    EXPECT_LE(n, 20u) << "nginx connection " << conn;
    short_ones += n != 20;
    sum += n;
  }
  EXPECT_LE(short_ones, 4u);
  EXPECT_LE(logged.size(), reconnects + 4);
  EXPECT_GE(logged.size() + 4, reconnects + 4);
  EXPECT_GE(sum, requests);
  EXPECT_LE(sum, requests + 4);
  std::printf("conn policy: horde %llu requests, %llu reconnects; nginx %zu connections\n",
              static_cast<unsigned long long>(requests),
              static_cast<unsigned long long>(reconnects), logged.size());
  fs::remove_all(dir);
}

TEST(ConnPolicyRun, KeepAliveFalseIsOneNginxConnectionPerRequest) {
  if (!fs::exists(kNginx)) GTEST_SKIP() << "nginx is not installed";
  const auto dir = temp_dir("conn-policy-close");
  Nginx nginx(dir, "$connection $connection_requests $request_uri");
  write_file(dir / "w.yaml", workload(nginx.port(), "  keep_alive: false\n"));
  const auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "1", "--out",
                            (dir / "out").string(), "--no-live"},
                           std::chrono::seconds(60));
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  const auto& totals = summary["totals"];
  const uint64_t requests = totals["requests"];
  ASSERT_GT(requests, 50u);
  EXPECT_EQ(totals["errors"], 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto logged = load_connections(nginx);
  for (const auto& [conn, n] : logged) EXPECT_EQ(n, 1u) << "nginx connection " << conn;
  EXPECT_GE(logged.size(), requests);
  EXPECT_LE(logged.size(), requests + 4);
  // Each request but the first of each connection slot came on a reconnect.
  EXPECT_GE(totals["reconnects"].get<uint64_t>() + 4, requests);
  fs::remove_all(dir);
}

TEST(ConnPolicyRun, BadPolicyKeysExitTwoNamingTheField) {
  const auto dir = temp_dir("conn-policy-bad");
  struct Case {
    std::string policy;
    std::string field;
  };
  const Case cases[] = {
      {"  connection_max_requests: 0\n", "load.connection_max_requests: got \"0\""},
      {"  connection_max_age: 10\n", "load.connection_max_age: \"10\" has no unit"},
      {"  keep_alive: false\n  connection_max_requests: 5\n", "load.connection_max_requests: not"},
  };
  for (const Case& c : cases) {
    write_file(dir / "w.yaml", workload(1, c.policy));
    const auto f = run_horde_merged({"validate", (dir / "w.yaml").string()});
    EXPECT_EQ(f.code, 2) << c.policy << f.out;
    EXPECT_NE(f.out.find(c.field), std::string::npos) << f.out;
  }
  fs::remove_all(dir);
}

}  // namespace conn_policy_test
}  // namespace horde::testing
