// Utilization beside throughput (issue 22), with real components from Debian on loopback:
// gunicorn instances (one sync worker each, the targets of an instances sweep) in a CPU cgroup
// with a quota of 0.4 cores, so "the machine is full" is true whatever else runs beside the
// test; prometheus-process-exporter and prometheus-node-exporter scraped directly by horde; and
// Debian's Prometheus server scraping process-exporter and horde's own /metrics, queried by
// horde (an observe: prometheus source) and by the test (horde's request count).
// - A CPU-bound app (2 ms of CPU, then 6 ms asleep, per request): the sweep names CPU as the
//   limit, and the observed cores agree within 10% with what the test reads from /proc.
// - A lock-bound app (every request holds one file lock for 4 ms, asleep): the capacity is flat
//   from 1 instance and the verdict says the CPU is not the limit.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>

#include "tests/integration/harness.h"

namespace horde::testing {
namespace utilization_test {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kGunicorn = "/usr/bin/gunicorn";
constexpr const char* kProcessExporter = "/usr/bin/prometheus-process-exporter";
constexpr const char* kNodeExporter = "/usr/bin/prometheus-node-exporter";
constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr double kQuotaCores = 0.4;

// A CPU cgroup with a CFS quota (cgroup v1's cpu controller, or v2's cpu.max); removed at the end.
class CpuCgroup {
 public:
  static std::optional<CpuCgroup> make(const std::string& name, double cores) {
    const auto quota = std::to_string(static_cast<long>(cores * 100'000));
    for (const fs::path& root : {fs::path("/sys/fs/cgroup/cpu"), fs::path("/sys/fs/cgroup")}) {
      std::error_code ec;
      const fs::path dir = root / name;
      fs::remove(dir, ec);
      if (!fs::create_directory(dir, ec)) continue;
      CpuCgroup g;
      g.dir_ = dir;
      const bool v1 = fs::exists(dir / "cpu.cfs_quota_us");
      const fs::path file = dir / (v1 ? "cpu.cfs_quota_us" : "cpu.max");
      std::ofstream(file) << (v1 ? quota : quota + " 100000") << std::flush;
      if (read_file(file).rfind(quota, 0) == 0) return g;
    }
    return std::nullopt;
  }
  CpuCgroup() = default;
  CpuCgroup(CpuCgroup&& o) noexcept : dir_(std::move(o.dir_)) { o.dir_.clear(); }
  CpuCgroup& operator=(CpuCgroup&& o) noexcept {
    std::swap(dir_, o.dir_);
    return *this;
  }
  ~CpuCgroup() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove(dir_, ec);  // empty once its processes are gone
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// K gunicorn instances of one app, each with one sync worker on its own port, started inside
// the cgroup (the shell joins it before exec, so the worker forks inside it too).
class Instances {
 public:
  Instances(const fs::path& dir, const CpuCgroup& group, const std::string& mode, int k)
      : dir_(dir) {
    write_file(dir / "app.py",
               "import fcntl, os, time\n"
               "MODE = os.environ['BURN_MODE']\n"
               "LOCK = os.environ['BURN_LOCK']\n"
               "def app(environ, start_response):\n"
               "    if MODE == 'cpu':\n"
               "        end = time.process_time() + 0.002\n"
               "        while time.process_time() < end:\n"
               "            pass\n"
               "        time.sleep(0.006)\n"
               "    else:\n"
               "        with open(LOCK, 'w') as f:\n"
               "            fcntl.flock(f, fcntl.LOCK_EX)\n"
               "            time.sleep(0.004)\n"
               "            fcntl.flock(f, fcntl.LOCK_UN)\n"
               "    start_response('200 OK', [('Content-Type', 'text/plain'),"
               " ('Content-Length', '3')])\n"
               "    return [b'ok\\n']\n");
    for (int i = 0; i < k; ++i) {
      const uint16_t port = free_port();
      const std::string cmd = "echo $$ > " + (group.dir() / "cgroup.procs").string() +
                              " && BURN_MODE=" + mode + " BURN_LOCK=" + (dir / "lock").string() +
                              " exec " + kGunicorn + " --workers 1 --worker-class sync --bind " +
                              "127.0.0.1:" + std::to_string(port) + " --chdir " + dir.string() +
                              " --log-level warning app:app";
      auto p = Subprocess::spawn({"/bin/sh", "-c", cmd}, false);
      if (!p) throw std::runtime_error(p.error().message);
      processes_.push_back(std::move(*p));
      ports_.push_back(port);
    }
    for (const uint16_t port : ports_) {
      const auto deadline = in(std::chrono::seconds(20));
      while (Clock::now() < deadline && http_get(port, "/") != "ok\n") {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  ~Instances() {
    for (auto& p : processes_) p.signal(SIGTERM);
    for (auto& p : processes_) p.wait_until(in(std::chrono::seconds(10)));
  }
  const std::vector<uint16_t>& ports() const { return ports_; }
  // The cmdline regex that picks these processes (their --chdir) for process-exporter.
  std::string cmdline_regex() const {
    // --chdir DIR: gunicorn's own argument, not in horde's or the exporter's command line.
    return "--chdir " + std::regex_replace(dir_.string(), std::regex(R"([.+])"), R"(\$&)");
  }

 private:
  fs::path dir_;
  std::vector<Subprocess> processes_;
  std::vector<uint16_t> ports_;
};

// CPU seconds (user + system) of every process in the cgroup, read from /proc/PID/stat.
double cpu_seconds(const CpuCgroup& group) {
  std::ifstream procs(group.dir() / "cgroup.procs");
  double ticks = 0;
  for (std::string pid; procs >> pid;) {
    const std::string stat = read_file("/proc/" + pid + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    for (int i = 3; i <= 13; ++i) fields >> f;  // fields 3..13 (state .. majflt)
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    ticks += utime + stime;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A started exporter or server that answers GET `ready_path` with a body.
Subprocess start_server(const std::vector<std::string>& argv, uint16_t port,
                        const std::string& ready_path) {
  auto p = Subprocess::spawn(argv, false);
  if (!p) throw std::runtime_error(p.error().message);
  const auto deadline = in(std::chrono::seconds(30));
  while (Clock::now() < deadline && http_get(port, ready_path).empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::move(*p);
}

struct Exporter {
  uint16_t port = 0;
  Subprocess process;
  ~Exporter() {
    process.signal(SIGTERM);
    process.wait_until(in(std::chrono::seconds(10)));
  }
};

std::unique_ptr<Exporter> process_exporter(const fs::path& dir, const Instances& inst) {
  auto e = std::make_unique<Exporter>();
  e->port = free_port();
  write_file(
      dir / "process-exporter.yaml",
      "process_names:\n  - name: burner\n    cmdline:\n      - '" + inst.cmdline_regex() + "'\n");
  e->process =
      start_server({kProcessExporter, "-config.path", (dir / "process-exporter.yaml").string(),
                    "-web.listen-address", "127.0.0.1:" + std::to_string(e->port), "-threads=false",
                    "-gather-smaps=false"},
                   e->port, "/metrics");
  return e;
}

std::string why_not() {
  for (const char* p : {kGunicorn, kProcessExporter, kNodeExporter, kPrometheus}) {
    if (!fs::exists(p)) return std::string(p) + " is not installed (scripts/deps.sh)";
  }
  if (::geteuid() != 0) return "needs root for a CPU cgroup";
  return "";
}

std::string targets_yaml(const Instances& inst) {
  std::string t;
  for (const uint16_t p : inst.ports()) {
    t += (t.empty() ? "" : ", ") + std::string("\"http://127.0.0.1:") + std::to_string(p) + "/\"";
  }
  return "[" + t + "]";
}

std::string sweep_workload(const Instances& inst, const std::string& observe) {
  return "name: utilization\n"
         "targets: " +
         targets_yaml(inst) +
         "\n"
         "load: {connections: 6, duration: 3s, warmup: 1s, interval: 500ms}\n"
         "sweep: {instances: [1, 2, 3], cores_available: " +
         fmt::format("{}", kQuotaCores) + ", min_efficiency: 0.9}\n" + observe;
}

std::string scrape_source(const std::string& name, uint16_t port, const std::string& metric,
                          const std::string& match) {
  return "  - {name: " + name + ", scrape: \"http://127.0.0.1:" + std::to_string(port) +
         "/metrics\", metric: " + metric + ", match: " + match + ", rate: true, unit: cores}\n";
}

class Utilization : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto why = why_not(); !why.empty()) GTEST_SKIP() << why;
    dir_ = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    group_ = CpuCgroup::make("horde-test-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                             kQuotaCores);
    if (!group_) GTEST_SKIP() << "no CPU cgroup with a quota can be made here";
  }
  fs::path dir_;
  std::optional<CpuCgroup> group_;
};

TEST_F(Utilization, ACpuBoundSweepNamesTheCpuAndAgreesWithProc) {
  Instances inst(dir_, *group_, "cpu", 3);
  auto pe = process_exporter(dir_, inst);
  Exporter node;
  node.port = free_port();
  node.process =
      start_server({kNodeExporter, "--web.listen-address=127.0.0.1:" + std::to_string(node.port),
                    "--collector.disable-defaults", "--collector.cpu"},
                   node.port, "/metrics");
  write_file(
      dir_ / "sweep.yaml",
      sweep_workload(inst, "observe:\n" +
                               scrape_source("burner_cpu", pe->port,
                                             "namedprocess_namegroup_cpu_seconds_total",
                                             "{groupname: burner}") +
                               scrape_source("machine_cpu", node.port, "node_cpu_seconds_total",
                                             "{mode: \"!idle\"}")));
  const double cpu_before = cpu_seconds(*group_);
  const auto t0 = Clock::now();
  const auto f = run_horde_merged({"run", (dir_ / "sweep.yaml").string(), "--local-agents", "1",
                                   "--out", (dir_ / "out").string(), "--no-live"},
                                  std::chrono::seconds(120));
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu_used = cpu_seconds(*group_) - cpu_before;
  // 3 instances give well under 1.5x one's capacity: the efficiency verdict fails (exit 1).
  ASSERT_EQ(f.code, 1) << f.out;
  const auto summary = read_json(dir_ / "out" / "summary.json");
  const auto& sc = summary["scalability"];
  ASSERT_EQ(sc["points"].size(), 3u) << f.out;
  EXPECT_EQ(sc["cpu"]["bound"], "cpu") << sc.dump(2);
  EXPECT_THAT(sc["verdict"].get<std::string>(), HasSubstr("Limited by CPU: 0.")) << f.out;
  EXPECT_THAT(sc["verdict"].get<std::string>(), HasSubstr("of 0.4 cores busy from")) << f.out;
  EXPECT_THAT(f.out, HasSubstr("Limited by CPU"));

  // Every measured second of the last step the instances had their quota: the observed mean
  // agrees within 10% with /proc over the step.
  const auto& last = sc["points"][2];
  const double observed = last["observed"]["burner_cpu"]["mean"];
  EXPECT_NEAR(observed, kQuotaCores, 0.1 * kQuotaCores) << last.dump(2);
  EXPECT_GT(last["requests_per_core_second"].get<double>(), 0);
  // Over the whole run (3 phases of 4 s with load, gaps between them idle): /proc's CPU
  // seconds and the observed phases' means x their load time agree within 10%.
  double observed_seconds = 0;
  for (const auto& p : sc["points"]) {
    observed_seconds += p["observed"]["burner_cpu"]["mean"].get<double>() * 4.0;
  }
  EXPECT_NEAR(observed_seconds, cpu_used, 0.1 * cpu_used)
      << "cpu from /proc " << cpu_used << " s in " << wall << " s";
  // The machine's busy CPU (node-exporter) holds at least the instances' own.
  EXPECT_GE(last["observed"]["machine_cpu"]["mean"].get<double>(), 0.9 * observed);
  const std::string html = read_file(dir_ / "out" / "report.html");
  EXPECT_THAT(html, HasSubstr("Busy cores vs instances"));
  EXPECT_THAT(html, HasSubstr("requests per core-second"));
}

TEST_F(Utilization, ALockBoundSweepSaysTheCpuIsNotTheLimit) {
  Instances inst(dir_, *group_, "lock", 3);
  auto pe = process_exporter(dir_, inst);
  write_file(dir_ / "sweep.yaml",
             sweep_workload(inst, "observe:\n" + scrape_source("burner_cpu", pe->port,
                                                               "namedprocess_namegroup_cpu_"
                                                               "seconds_total",
                                                               "{groupname: burner}")));
  const auto f = run_horde_merged({"run", (dir_ / "sweep.yaml").string(), "--local-agents", "1",
                                   "--out", (dir_ / "out").string(), "--no-live"},
                                  std::chrono::seconds(120));
  ASSERT_EQ(f.code, 1) << f.out;
  const auto summary = read_json(dir_ / "out" / "summary.json");
  const auto& sc = summary["scalability"];
  ASSERT_EQ(sc["points"].size(), 3u) << f.out;
  EXPECT_THAT(sc["shape"].get<std::string>(), ::testing::AnyOf("plateau", "retrograde"))
      << sc.dump(2);
  EXPECT_EQ(sc["cpu"]["bound"], "not_cpu") << sc.dump(2);
  EXPECT_THAT(sc["verdict"].get<std::string>(), HasSubstr("CPU is not the limit")) << f.out;
  // One lock held 4 ms a request: at most 250 requests/s however many instances.
  for (const auto& p : sc["points"]) EXPECT_LT(p["capacity_rps"].get<double>(), 260) << p;
}

TEST_F(Utilization, PrometheusScrapesHordeAndAnswersHordesQueries) {
  Instances inst(dir_, *group_, "cpu", 1);
  auto pe = process_exporter(dir_, inst);
  const uint16_t metrics = free_port();
  Exporter prom;
  prom.port = free_port();
  write_file(dir_ / "prometheus.yml",
             "global: {scrape_interval: 500ms, evaluation_interval: 1s}\n"
             "scrape_configs:\n"
             "  - job_name: process\n"
             "    static_configs: [{targets: ['127.0.0.1:" +
                 std::to_string(pe->port) +
                 "']}]\n"
                 "  - job_name: horde\n"
                 "    static_configs: [{targets: ['127.0.0.1:" +
                 std::to_string(metrics) + "']}]\n");
  prom.process = start_server(
      {kPrometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom.port), "--log.level=warn"},
      prom.port, "/-/ready");
  // Prometheus's discovery hands it the targets about 5 s after it starts: wait until it has
  // two scrapes of the instances' CPU (a rate needs two), as a user starts a run against a
  // Prometheus that has been up for a while.
  const auto scraped = in(std::chrono::seconds(30));
  while (Clock::now() < scraped &&
         http_get(prom.port,
                  "/api/v1/query?query=count_over_time(namedprocess_namegroup_cpu_seconds_total"
                  "%7Bgroupname%3D%22burner%22%2Cmode%3D%22user%22%7D%5B10s%5D)%3E%3D2")
                 .find("\"value\"") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  write_file(
      dir_ / "run.yaml",
      "name: prom\n"
      "target: http://127.0.0.1:" +
          std::to_string(inst.ports()[0]) +
          "/\n"
          "load: {connections: 2, duration: 4s, interval: 1s}\n"
          "observe:\n"
          "  - name: burner_cpu\n"
          "    prometheus: http://127.0.0.1:" +
          std::to_string(prom.port) +
          "\n"
          "    query: sum(rate(namedprocess_namegroup_cpu_seconds_total{groupname=\"burner\"}"
          "[2s]))\n"
          "    unit: cores\n");
  const auto f =
      run_horde_merged({"run", (dir_ / "run.yaml").string(), "--local-agents", "1", "--out",
                        (dir_ / "out").string(), "--no-live", "--metrics-listen",
                        "127.0.0.1:" + std::to_string(metrics), "--metrics-linger", "3s"},
                       std::chrono::seconds(60));
  ASSERT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir_ / "out" / "summary.json");
  const auto requests = summary["totals"]["requests"].get<uint64_t>();
  ASSERT_GT(requests, 0u);
  // Prometheus's own answer, through its HTTP API: the last value it scraped from horde.
  const std::string answer =
      http_get(prom.port, "/api/v1/query?query=max_over_time(horde_requests_total%5B5m%5D)");
  const auto j = nlohmann::json::parse(answer, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << answer;
  ASSERT_EQ(j["status"], "success") << answer;
  ASSERT_EQ(j["data"]["result"].size(), 1u) << answer;
  EXPECT_EQ(std::stoull(j["data"]["result"][0]["value"][1].get<std::string>()), requests) << answer;
  // And horde read the instances' CPU from Prometheus at each interval.
  const auto& observed = summary["totals"]["observed"]["burner_cpu"];
  ASSERT_GE(observed["samples"].get<int>(), 2) << observed << f.out;
  EXPECT_GT(observed["mean"].get<double>(), 0.05) << observed;
}

// Sources that fail in the three ways a real one does: nobody listening, an answer slower than
// the timeout (80% of the interval), and a body that is not the exposition format. The run goes
// on, their values are null (never 0), each is one warning, and the exit code is the run's own.
TEST(UtilizationSources, DownSlowAndGarbageAreWarningsAndNulls) {
  const auto dir = temp_dir("observe-failing");
  const uint16_t port = free_port();
  write_file(
      dir / "server.py",
      "import http.server, sys, time\n"
      "class H(http.server.BaseHTTPRequestHandler):\n"
      "    def do_GET(self):\n"
      "        if self.path.startswith('/slow'):\n"
      "            time.sleep(1.5)\n"
      "        body = b'cpu_seconds_total 1\\n' if self.path.startswith('/slow') else "
      "b'<html>not metrics</html>'\n"
      "        self.send_response(200)\n"
      "        self.send_header('Content-Length', str(len(body)))\n"
      "        self.end_headers()\n"
      "        self.wfile.write(body)\n"
      "    def log_message(self, *a):\n"
      "        pass\n"
      "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n");
  auto server = Subprocess::spawn(
      {"/usr/bin/python3", (dir / "server.py").string(), std::to_string(port)}, false);
  ASSERT_TRUE(server.ok());
  const auto up = in(std::chrono::seconds(10));
  while (Clock::now() < up && http_get(port, "/garbage").empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  write_file(dir / "w.yaml",
             "builtin_target: {instances: 1}\n"
             "load: {connections: 2, duration: 3s, interval: 1s}\n"
             "observe:\n"
             "  - {name: down, scrape: \"http://127.0.0.1:" +
                 std::to_string(free_port()) +
                 "/metrics\", metric: cpu_seconds_total, unit: cores}\n"
                 "  - {name: slow, scrape: \"" +
                 base +
                 "/slow\", metric: cpu_seconds_total, unit: cores}\n"
                 "  - {name: garbage, scrape: \"" +
                 base + "/garbage\", metric: cpu_seconds_total, unit: cores}\n");
  const auto f = run_horde_merged(
      {"run", (dir / "w.yaml").string(), "--out", (dir / "out").string(), "--no-live"});
  server->signal(SIGTERM);
  server->wait_until(in(std::chrono::seconds(5)));
  EXPECT_EQ(f.code, 0) << f.out;
  const auto summary = read_json(dir / "out" / "summary.json");
  EXPECT_GT(summary["totals"]["requests"].get<uint64_t>(), 0u);
  for (const char* name : {"down", "slow", "garbage"}) {
    const auto& o = summary["totals"]["observed"][name];
    EXPECT_EQ(o["samples"], 0) << name << ": " << o;
    EXPECT_TRUE(o["mean"].is_null()) << name << ": " << o;
    bool warned = false;
    for (const auto& w : summary["warnings"]) {
      warned = warned || w.get<std::string>().rfind(std::string("observe ") + name + ":", 0) == 0;
    }
    EXPECT_TRUE(warned) << name << ": " << summary["warnings"];
  }
  // The CSV has the columns, empty.
  EXPECT_THAT(read_file(dir / "out" / "intervals.csv"), HasSubstr(",down,slow,garbage\n"));
}

}  // namespace utilization_test
}  // namespace horde::testing
