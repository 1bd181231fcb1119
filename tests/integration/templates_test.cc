// Templates and data sets end to end against Debian's nginx: two agents share
// a 1,000-row CSV in mode unique; nginx's own log shows each id exactly once,
// from both agents ({{agent}} in a header), and the rows running out stops the
// load without failing the run (data_exhausted in summary.json); over HTTP/1.1
// and over HTTP/2 (h2c, several streams per connection).
#include <gtest/gtest.h>

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

}  // namespace templates_test
}  // namespace horde::testing
