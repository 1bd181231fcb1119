// Security with real processes: agent-side limits (an assignment aimed outside
// --allow-target or above --max-connections is refused before any traffic, and
// the controller's summary says why) and TLS / mutual TLS on the session
// channel with certificates made by the `openssl` CLI (a trusted agent runs;
// one with a certificate from another CA never gets work).
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace security_test {

uint64_t served(const std::string& url) {
  auto j = nlohmann::json::parse(http_get(port_of_url(url), "/__stats"), nullptr, false);
  return j.is_discarded() ? 0 : j.value("served", uint64_t{0});
}

struct Rig {
  std::filesystem::path dir;
  Subprocess target;
  std::string url;
  Subprocess controller;
  std::string address;
};

Rig start_run(const std::string& name, uint32_t connections, const std::string& join_timeout,
              const std::vector<std::string>& extra) {
  Rig r;
  r.dir = temp_dir(name);
  r.target = start_horde(
      {"target", "--listen", "127.0.0.1:0", "--workers", "16", "--service-time", "1ms"});
  r.url = wait_for_line(r.target, "listening on ").value_or("");
  write_file(r.dir / "w.yaml", "target: " + r.url + "\nload: {connections: " +
                                   std::to_string(connections) + ", duration: 2s}\n");
  std::vector<std::string> flags = {"--expect-agents", "1",     "--join-timeout",
                                    join_timeout,      "--out", (r.dir / "out").string(),
                                    "--no-live"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  auto controller = start_controller(r.dir / "w.yaml", flags);
  r.controller = std::move(controller.process);
  r.address = controller.address;
  return r;
}

// Runs one agent with `flags` against a fresh controller; returns the summary's agent entry.
nlohmann::json refused_agent(const std::string& name, uint32_t connections,
                             const std::vector<std::string>& flags, uint64_t* traffic) {
  Rig r = start_run(name, connections, "20s", {"--insecure-no-token"});
  EXPECT_FALSE(r.address.empty());
  std::vector<std::string> args = {
      "agent", "--controller",       r.address, "--once", "--name", "limited", "--threads",
      "1",     "--insecure-no-token"};
  args.insert(args.end(), flags.begin(), flags.end());
  Subprocess agent = start_horde(args);
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  agent.signal(SIGTERM);
  agent.wait_until(in(std::chrono::seconds(10)));
  *traffic = served(r.url);
  const auto summary = read_json(r.dir / "out" / "summary.json");
  EXPECT_EQ(summary["agents"].size(), 1u);
  return summary["agents"].empty() ? nlohmann::json{} : summary["agents"][0];
}

TEST(AgentLimits, TargetOutsideAllowListIsRefusedWithoutTraffic) {
  uint64_t traffic = 1;
  const auto a =
      refused_agent("allow", 2, {"--allow-target", "10.0.0.0/8,example.internal"}, &traffic);
  EXPECT_TRUE(a.value("lost", false));
  const std::string why = a.value("lost_reason", "");
  EXPECT_NE(why.find("--allow-target"), std::string::npos) << why;
  EXPECT_NE(why.find("127.0.0.1"), std::string::npos) << why;
  EXPECT_EQ(a.value("requests", uint64_t{1}), 0u);
  EXPECT_EQ(traffic, 0u);  // the target saw nothing
}

TEST(AgentLimits, TooManyConnectionsIsRefusedWithoutTraffic) {
  uint64_t traffic = 1;
  const auto a = refused_agent("maxconn", 8, {"--max-connections", "2"}, &traffic);
  EXPECT_TRUE(a.value("lost", false));
  const std::string why = a.value("lost_reason", "");
  EXPECT_NE(why.find("8 connections"), std::string::npos) << why;
  EXPECT_NE(why.find("--max-connections"), std::string::npos) << why;
  EXPECT_EQ(traffic, 0u);
}

TEST(AgentLimits, AssignmentWithinLimitsRuns) {
  Rig r = start_run("withinlimits", 2, "20s", {"--insecure-no-token"});
  ASSERT_FALSE(r.address.empty());
  Subprocess agent = start_horde({"agent", "--controller", r.address, "--once", "--threads", "1",
                                  "--insecure-no-token", "--allow-target", "127.0.0.0/8,::1",
                                  "--max-connections", "2"});
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  EXPECT_EQ(agent.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  EXPECT_GT(served(r.url), 0u);
}

TEST(AgentLimits, BadAllowListIsAUsageError) {
  auto f = run_horde({"agent", "--controller", "127.0.0.1:1", "--insecure-no-token",
                      "--allow-target", "10.0.0.0/40"});
  EXPECT_EQ(f.code, 2);
}

// A CA, a controller certificate for 127.0.0.1/localhost, a client certificate
// signed by the CA, and a second CA with its own client certificate.
class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(temp_dir("tls"));
    const std::string d = dir_->string();
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto sh = [&](const std::string& cmd) {
      const std::string full = "cd " + d + " && " + cmd + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(full.c_str()), 0) << cmd;
    };
    write_file(*dir_ / "server.ext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    write_file(*dir_ / "client.ext", "extendedKeyUsage=clientAuth\n");
    for (const std::string ca : {"ca", "rogue-ca"}) {
      sh("openssl req -x509 " + key + " -keyout " + ca + ".key -out " + ca +
         ".crt -days 2 -subj /CN=" + ca);
    }
    auto issue = [&](const std::string& name, const std::string& ca, const std::string& ext) {
      sh("openssl req " + key + " -keyout " + name + ".key -out " + name +
         ".csr -subj /CN=" + name);
      sh("openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
         ".key -CAcreateserial -days 2 -out " + name + ".crt -extfile " + ext);
    };
    issue("server", "ca", "server.ext");
    issue("client", "ca", "client.ext");
    issue("rogue", "rogue-ca", "client.ext");
    write_file(*dir_ / "token", "tls-test-token\n");
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string path(const std::string& file) { return (*dir_ / file).string(); }

  Rig controller(const std::string& name, const std::string& join_timeout) {
    return start_run(name, 2, join_timeout,
                     {"--token-file", path("token"), "--tls-cert", path("server.crt"), "--tls-key",
                      path("server.key"), "--tls-ca", path("ca.crt")});
  }

  std::vector<std::string> agent_args(const Rig& r, const std::string& client) {
    return {"agent",     "--controller",        r.address,     "--once",      "--threads",
            "1",         "--token-file",        path("token"), "--tls-cert",  path(client + ".crt"),
            "--tls-key", path(client + ".key"), "--tls-ca",    path("ca.crt")};
  }

  static std::filesystem::path* dir_;
};

std::filesystem::path* Tls::dir_ = nullptr;

TEST_F(Tls, MutualTlsAgentWithTrustedCertificateCompletesARun) {
  Rig r = controller("tls-ok", "20s");
  ASSERT_FALSE(r.address.empty());
  auto args = agent_args(r, "client");
  Subprocess agent = start_horde(args);
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  EXPECT_EQ(agent.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  const auto summary = read_json(r.dir / "out" / "summary.json");
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
}

TEST_F(Tls, ServerNameOverrideVerifiesTheCertificateByName) {
  Rig r = controller("tls-name", "20s");
  ASSERT_FALSE(r.address.empty());
  auto args = agent_args(r, "client");
  args.push_back("--tls-server-name");
  args.push_back("localhost");
  Subprocess agent = start_horde(args);
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
  EXPECT_EQ(agent.wait_until(in(std::chrono::seconds(10))).value_or(-1), 0);
}

TEST_F(Tls, AgentRefusesAControllerWhoseCertificateDoesNotCarryTheName) {
  Rig r = controller("tls-badname", "4s");
  ASSERT_FALSE(r.address.empty());
  auto args = agent_args(r, "client");
  args.push_back("--tls-server-name");
  args.push_back("controller.elsewhere");
  Subprocess agent = start_horde(args);
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  EXPECT_EQ(served(r.url), 0u);
  agent.signal(SIGTERM);
  agent.wait_until(in(std::chrono::seconds(10)));
}

TEST_F(Tls, AgentWithCertificateFromAnotherCaNeverGetsWork) {
  Rig r = controller("tls-rogue", "4s");
  ASSERT_FALSE(r.address.empty());
  auto args = agent_args(r, "rogue");
  Subprocess agent = start_horde(args);
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  EXPECT_EQ(served(r.url), 0u);
  agent.signal(SIGTERM);
  agent.wait_until(in(std::chrono::seconds(10)));
}

TEST_F(Tls, PlaintextAgentIsNotServedByATlsController) {
  Rig r = controller("tls-plain", "4s");
  ASSERT_FALSE(r.address.empty());
  Subprocess agent = start_horde({"agent", "--controller", r.address, "--once", "--threads", "1",
                                  "--token-file", path("token")});
  r.controller.read_all(in(std::chrono::seconds(30)));
  EXPECT_EQ(r.controller.wait_until(in(std::chrono::seconds(10))).value_or(-1), 3);
  EXPECT_EQ(served(r.url), 0u);
  agent.signal(SIGTERM);
  agent.wait_until(in(std::chrono::seconds(10)));
}

}  // namespace security_test
}  // namespace horde::testing
