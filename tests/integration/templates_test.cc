// Templates and data sets end to end against Debian's nginx: two agents share
// a 1,000-row CSV in mode unique; nginx's own log shows each id exactly once,
// from both agents ({{agent}} in a header), and the rows running out stops the
// load without failing the run (data_exhausted in summary.json); over HTTP/1.1
// and over HTTP/2 (h2c, several streams per connection).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/nginx.h"

namespace horde::testing {
namespace templates_test {

// `scheme` http or h2c; `extra_load`: more load: keys.
void unique_rows_exactly_once(const std::string& scheme, const std::string& extra_load) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx-light is not installed";
  const auto dir = temp_dir("templates");
  Nginx nginx(dir);
  ASSERT_EQ(http_get(nginx.port(), "/"), "ok\n") << read_file(dir / "error.log");
  const uint16_t port = scheme == "h2c" ? nginx.h2_port() : nginx.port();
  std::string csv = "id,name\n";
  for (int i = 0; i < 1000; ++i)
    csv += "k" + std::to_string(i) + ",\"user, " + std::to_string(i) + "\"\n";
  write_file(dir / "users.csv", csv);
  // 1,200 requests offered for 1,000 rows: every row is used, then each agent stops.
  write_file(dir / "w.yaml", "target: " + scheme + "://127.0.0.1:" + std::to_string(port) +
                                 "/\n"
                                 "data: {users: {file: users.csv, mode: unique}}\n"
                                 "load: {rate: 400, duration: 3s" +
                                 extra_load +
                                 "}\n"
                                 "requests:\n"
                                 "  - path: /load/{{users.id}}?n={{seq}}\n"
                                 "    headers: {X-Agent: '{{agent}}', X-Request-Id: '{{uuid}}'}\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"});
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_EQ(summary["totals"]["requests"], 1000);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  EXPECT_GT(summary["totals"]["data_exhausted"].get<uint64_t>(), 0u);

  std::map<std::string, int> ids;
  std::set<std::string> agents;
  std::set<std::string> seqs;
  std::istringstream log(nginx.uri_log());
  for (std::string line; std::getline(log, line);) {
    if (line.rfind("/load/", 0) != 0) continue;  // the readiness probes
    const std::string uri = line.substr(0, line.find(' '));
    ++ids[uri.substr(6, uri.find('?') - 6)];
    seqs.insert(uri.substr(uri.find("?n=") + 3));
    agents.insert(line.substr(line.find(' ') + 1));
  }
  EXPECT_EQ(ids.size(), 1000u);
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << id;
  EXPECT_TRUE(ids.count("k0") && ids.count("k999"));
  EXPECT_EQ(seqs.size(), 1000u);  // {{seq}} never repeats across the agents
  EXPECT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents.count("-"), 0u);
}

TEST(Templates, UniqueRowsReachNginxExactlyOnceOverTwoAgents) {
  unique_rows_exactly_once("http", "");
}

TEST(Templates, UniqueRowsReachNginxExactlyOnceOverHttp2) {
  unique_rows_exactly_once("h2c", ", connections: 4, streams_per_connection: 8");
}

// A gRPC message with templates, against Python's grpcio (not horde's server):
// a string field and an integer field from a data set in mode unique, over two
// agents. The server's protobuf parse saw each row exactly once, with the
// integer it carries.
TEST(Templates, GrpcMessageRowsReachPythonGrpcExactlyOnce) {
  const char* python = "/usr/bin/python3";
  if (std::system("/usr/bin/python3 -c 'import grpc' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-grpcio is not installed";
  }
  const auto dir = temp_dir("grpc-templates");
  auto server = Subprocess::spawn(
      {python, std::string(HORDE_SOURCE_DIR) + "/tests/integration/grpc_echo.py"}, true);
  ASSERT_TRUE(server) << server.error().message;
  const auto port = wait_for_line(*server, "listening ");
  ASSERT_TRUE(port) << "grpc_echo.py did not start";
  std::string csv = "id,d\n";
  for (int i = 0; i < 300; ++i) csv += "k" + std::to_string(i) + "," + std::to_string(i % 7) + "\n";
  write_file(dir / "users.csv", csv);
  write_file(dir / "w.yaml",
             "target: grpc://127.0.0.1:" + std::to_string(std::stoi(*port)) +
                 "\n"
                 "data: {users: {file: users.csv, mode: unique}}\n"
                 "grpc:\n"
                 "  method: /horde.test.Echo/Say\n"
                 "  proto_files: [" HORDE_SOURCE_DIR
                 "/tests/grpc_target/echo.proto]\n"
                 "  message: {text: 'user {{users.id}}', delay_ms: '{{users.d}}'}\n"
                 "load: {connections: 2, streams_per_connection: 4, duration: 2s}\n");
  auto f = run_horde({"run", (dir / "w.yaml").string(), "--local-agents", "2", "--threads", "1",
                      "--out", (dir / "out").string(), "--no-live"});
  server->signal(SIGTERM);
  const auto seen_line = wait_for_line(*server, "{\"calls\"", std::chrono::seconds(10));
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_EQ(summary["totals"]["requests"], 300);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  ASSERT_TRUE(seen_line);
  const auto seen = nlohmann::json::parse("{\"calls\"" + *seen_line);
  EXPECT_EQ(seen["calls"], 300);
  ASSERT_EQ(seen["seen"].size(), 300u);
  for (int i = 0; i < 300; ++i) {
    const std::string key = "user k" + std::to_string(i) + " " + std::to_string(i % 7);
    EXPECT_EQ(seen["seen"].value(key, 0), 1) << key;
  }
}

}  // namespace templates_test
}  // namespace horde::testing
