// Agents on separate hosts for real: scripts/netns-rehearsal.sh builds five
// network-namespace "hosts" on a private bridge (controller 10.77.0.10, agents
// .11-.13, targets .20 with the built-in target and nginx), runs a controller and
// three token-holding agents across them, and tears it all down. This test drives
// that script and checks the result against two outside truths: what the targets
// say they served, and nginx's access log, which must show all three agent
// addresses. Runs as root where `ip netns` works; skips with the reason otherwise.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace netns_test {

namespace fs = std::filesystem;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr uint64_t kConnections = 24;

std::string run_quiet(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Names of the network namespaces that start with `prefix`.
std::vector<std::string> namespaces_with(const std::string& prefix) {
  std::vector<std::string> names;
  std::istringstream list(run_quiet("ip netns list"));
  for (std::string line; std::getline(list, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(prefix + "-", 0) == 0) names.push_back(name);
  }
  return names;
}

// Whatever happens to the script (an assertion, a timeout, a crash of the
// script's own trap), every namespace of this run and every process in it goes.
class NetnsGuard {
 public:
  explicit NetnsGuard(std::string prefix) : prefix_(std::move(prefix)) {}
  ~NetnsGuard() {
    for (const auto& ns : namespaces_with(prefix_)) {
      std::istringstream pids(run_quiet("ip netns pids " + ns));
      for (std::string pid; pids >> pid;) ::kill(std::stoi(pid), SIGKILL);
      run_quiet("ip netns del " + ns);
    }
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  std::string prefix_;
};

// Empty when this machine can run the rehearsal, else why not.
std::string why_not_supported(const std::string& prefix) {
  if (::geteuid() != 0) return "needs root for network namespaces";
  if (!fs::exists(kNginx)) return "nginx-light is not installed";
  if (run_quiet("command -v ip").empty()) return "iproute2 (ip) is not installed";
  const std::string probe = prefix + "-probe";
  NetnsGuard guard(prefix);
  if (std::system(("ip netns add " + probe + " >/dev/null 2>&1").c_str()) != 0) {
    return "`ip netns add` does not work here (no CAP_SYS_ADMIN?)";
  }
  if (std::system(("ip -n " + probe + " link add br0 type bridge >/dev/null 2>&1").c_str()) != 0) {
    return "cannot create a bridge in a network namespace";
  }
  return "";
}

TEST(Netns, ThreeAgentsOnSeparateHostsCountWhatTheTargetsServed) {
  const std::string prefix = "hdt" + std::to_string(::getpid());
  if (const auto why = why_not_supported(prefix); !why.empty()) GTEST_SKIP() << why;

  const auto dir = temp_dir("netns");
  NetnsGuard guard(prefix);
  Finished run;
  {
    auto script = Subprocess::spawn(
        {"/bin/bash", std::string(HORDE_SOURCE_DIR) + "/scripts/netns-rehearsal.sh", "--horde",
         HORDE_BINARY, "--work", dir.string(), "--prefix", prefix, "--duration", "2s",
         "--connections", std::to_string(kConnections)},
        true);
    ASSERT_TRUE(script) << script.error().message;
    const auto deadline = in(std::chrono::seconds(120));
    run.out = script->read_all(deadline);
    run.code = script->wait_until(deadline).value_or(-1);
  }  // a script still running is killed here; the guard then removes its namespaces
  const std::string logs = run.out + "\ncontroller log:\n" + read_file(dir / "controller.log") +
                           "\nagent-1 log:\n" + read_file(dir / "agent-1.log");
  ASSERT_EQ(run.code, 0) << logs;
  EXPECT_TRUE(namespaces_with(prefix).empty()) << "the script left namespaces behind";

  // Per agent: three of them, each did work, and they add up to the total.
  const auto summary = read_json(dir / "out" / "summary.json");
  const uint64_t requests = summary["totals"]["requests"];
  EXPECT_GT(requests, 100u);
  EXPECT_EQ(summary["totals"]["errors"], 0);
  ASSERT_EQ(summary["agents"].size(), 3u) << summary["agents"].dump();
  uint64_t per_agent = 0;
  for (const auto& a : summary["agents"]) {
    EXPECT_GT(a["requests"].get<uint64_t>(), 0u) << a.dump();
    EXPECT_FALSE(a["lost"].get<bool>()) << a.dump();
    per_agent += a["requests"].get<uint64_t>();
  }
  EXPECT_EQ(per_agent, requests);

  // What the targets served: the built-in target's own count plus nginx's log lines.
  const auto stats = read_json(dir / "target-stats.json");
  const uint64_t served = stats["served"];
  std::istringstream log(read_file(dir / "nginx" / "access.log"));
  uint64_t logged = 0;
  std::set<std::string> sources;
  for (std::string line; std::getline(log, line);) {
    if (line.find("\"GET / ") == std::string::npos) continue;
    ++logged;
    sources.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_GT(served, 0u);
  EXPECT_GT(logged, 0u);
  // Only requests in flight at the stop (at most one per connection) may differ.
  EXPECT_LE(requests, served + logged);
  EXPECT_GE(requests + kConnections, served + logged);

  // Traffic really came from three hosts.
  EXPECT_EQ(sources, (std::set<std::string>{"10.77.0.11", "10.77.0.12", "10.77.0.13"}));
  std::printf(
      "netns: agents %s; total %llu; target served %llu + nginx logged %llu; sources",
      [&] {
        std::string s;
        for (const auto& a : summary["agents"]) {
          s += a.value("name", std::string("?")) + "=" +
               std::to_string(a["requests"].get<uint64_t>()) + " ";
        }
        return s;
      }()
          .c_str(),
      static_cast<unsigned long long>(requests), static_cast<unsigned long long>(served),
      static_cast<unsigned long long>(logged));
  for (const auto& s : sources) std::printf(" %s", s.c_str());
  std::printf("\n");
  fs::remove_all(dir);
}

}  // namespace netns_test
}  // namespace horde::testing
