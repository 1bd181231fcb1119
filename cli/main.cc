// horde: one binary, subcommands. This file parses flags, turns them into the
// libraries' typed options (validating each at the edge, exit code 2 with the
// flag named), and calls into the libraries. Nothing else. The subcommands
// that only read files (validate, compare, report) are in offline.cc.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "agent/session.h"
#include "cli/offline.h"
#include "common/load_validate.h"
#include "common/process.h"
#include "common/security.h"
#include "common/workload.h"
#include "controller/console.h"
#include "controller/controller.h"
#include "controller/local_run.h"
#include "controller/out_dir.h"
#include "horde_commit.h"  // generated: cmake/commit.cmake
#include "target/target.h"

namespace {

using namespace horde;

using cli::kBadInput;
using cli::usage_error;

// SIGINT/SIGTERM are taken by one thread (blocked everywhere else). The first
// flips `stopping` and fires the abort switch: the run ends with what was
// measured. A second (impatient users press twice; a terminal's Ctrl-C on a
// `timeout`-wrapped job arrives once from the terminal and once from timeout)
// only hurries: what is slow (waiting for agents to exit) is skipped, the
// results in memory still reach the disk. An agent has no results to keep: a
// second signal ends it at once.
struct Signals {
  std::atomic<bool> stopping{false};
  AbortSwitch abort;
  bool exit_on_second = false;
  std::thread thread;
  sigset_t set{};

  void start() {
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);  // used only to end this thread
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread = std::thread([this] {
      int sig = 0;
      for (;;) {
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR1) return;  // shutdown of this thread
        const bool again = stopping.exchange(true);
        if (!again) {
          abort.fire(sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
        } else if (exit_on_second) {
          std::_Exit(3);
        } else if (abort.hurry()) {
          std::fputs("horde: signal again: writing the results now, not waiting for agents\n",
                     stderr);
        }
      }
    });
  }
  ~Signals() {
    if (thread.joinable()) {
      pthread_kill(thread.native_handle(), SIGUSR1);
      thread.join();
    }
  }
};

Result<std::chrono::milliseconds> flag_duration(const std::string& flag, const std::string& v) {
  auto d = parse_duration(v);
  if (!d) return Error{flag + ": " + d.error().message};
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

struct RunFlags {
  std::string file, target, duration, warmup, out;
  std::string metrics_linger;  // keep /metrics up this long after the results are written
  uint32_t connections = 0;
  uint32_t streams = 0;  // HTTP/2 and gRPC: streams per connection
  double rate = 0;
  unsigned threads = 0;
  uint32_t local_agents = 0;  // not given: 2, or fewer when there are fewer connections
  bool no_live = false;
  bool no_progress = false;    // plain lines even on a terminal
  bool overwrite = false;      // --out may hold an earlier run's results: replace them
  std::string metrics_listen;  // Prometheus /metrics endpoint
};

// Builds the workload from a file and/or flags; flags win over the file.
Result<Workload> workload_from(const RunFlags& f, std::string* source) {
  Workload w;
  *source = f.file.empty() ? "command line" : f.file;
  if (!f.file.empty()) {
    auto loaded = load_workload_file(f.file);
    if (!loaded) return loaded.error();
    w = *loaded;
  } else if (f.target.empty()) {
    return Error{
        "give a workload file or --target URL (e.g. horde run --target "
        "http://127.0.0.1:8080/ -c 64 -d 10s)"};
  } else {
    w.requests.push_back(RequestSpec{});
  }
  if (!f.target.empty()) {
    auto url = parse_url(f.target);
    if (!url) return Error{"--target: " + url.error().message};
    w.targets = {*url};
    w.builtin_target.reset();
  }
  if (f.streams) w.load.streams_per_connection = f.streams;
  if (f.rate < 0) return Error{"--rate: must be > 0 requests/s"};
  if (f.rate > 0) {
    make_open_loop(&w.load);  // a closed pool becomes the bound; nothing opened in advance
    w.load.rate = f.rate;
  }
  if (f.connections) {
    if (w.load.mode == LoadMode::kOpen) {
      // Open loop connects on demand: -c is the most connections, as wrk2's and hey's -c.
      w.load.max_connections = f.connections;
      w.load.connections = std::min(w.load.connections, f.connections);
    } else {
      w.load.connections = f.connections;
    }
  }
  if (!f.duration.empty()) {
    auto d = flag_duration("--duration", f.duration);
    if (!d) return d.error();
    if (d->count() <= 0) return Error{"--duration: must be > 0 (e.g. 10s)"};
    w.load.duration = *d;
  }
  if (!f.warmup.empty()) {
    auto d = flag_duration("--warmup", f.warmup);
    if (!d) return d.error();
    w.load.warmup = *d;
  }
  return finalize_workload(std::move(w), *source);
}

void add_security_flags(CLI::App* cmd, SecurityFlags* f) {
  cmd->add_option("--token-file", f->token_file,
                  "File holding the shared token (else $HORDE_TOKEN)");
  cmd->add_flag("--insecure-no-token", f->insecure_no_token,
                "Run without a token (anyone who can reach the port can join / give orders)");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate (TLS)");
  cmd->add_option("--tls-key", f->tls_key, "PEM private key for --tls-cert");
  cmd->add_option("--tls-ca", f->tls_ca,
                  "PEM CA: controller requires agent certs signed by it (mTLS); agent verifies "
                  "the controller with it");
}

void add_run_flags(CLI::App* cmd, RunFlags* f) {
  cmd->add_option("--target", f->target, "Target URL (overrides the file's targets)");
  cmd->add_option("-c,--connections", f->connections,
                  "Total connections over all agents (open loop: the most open at once)")
      ->check(CLI::Range(1u, 1'000'000u));
  cmd->add_option("-m,--streams", f->streams,
                  "HTTP/2 and gRPC: concurrent streams per connection (as h2load -m)")
      ->check(CLI::Range(1u, kMaxStreamsPerConnection));
  cmd->add_option("--rate", f->rate, "Open loop at this total rate (requests/s)");
  cmd->add_option("-d,--duration", f->duration,
                  "Measured duration, e.g. 30s (default: the file's load.duration, else 10s)");
  cmd->add_option("--warmup", f->warmup, "Warm-up before it, excluded from results");
  cmd->add_option("--out", f->out,
                  "Results directory (default results/<run-id>); must be empty or new");
  cmd->add_flag("--overwrite", f->overwrite,
                "--out may hold an earlier run's results: remove them first");
  cmd->add_flag("--no-live", f->no_live, "No live line per interval");
  cmd->add_flag("--no-progress", f->no_progress,
                "Print the live line as plain lines, never redrawn in place");
  cmd->add_option("--metrics-listen", f->metrics_listen,
                  "Serve Prometheus metrics on HOST:PORT (GET /metrics)");
  cmd->add_option("--metrics-linger", f->metrics_linger,
                  "Keep serving the final metrics this long after the results are written "
                  "(e.g. 5s), so a scraper's last scrape sees the whole run; a signal ends it");
}

}  // namespace

int main(int argc, char** argv) {
  die_with_parent();  // a local agent or built-in target never outlives `horde run`
  // Named `horde` in help and errors, whatever path it was started by.
  CLI::App app{"horde: distributed HTTP load generation that answers how your service scales",
               "horde"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  horde run --target http://127.0.0.1:8080/ -c 64 -d 30s\n"
      "  horde run examples/capacity-search.yaml -v\n"
      "Each subcommand's --help gives its flags and defaults.");
  app.set_version_flag("--version", HORDE_VERSION " (commit " HORDE_COMMIT ")");
  // Accepted before or after the subcommand (fallthrough): `horde run -v w.yaml`.
  app.fallthrough();
  std::string log_level;  // empty: `horde run` warn (quiet), the other subcommands info
  int verbose = 0;
  bool quiet = false;
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, off (default: warn for run, else info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("-v,--verbose", verbose, "More log lines: -v info, -vv debug");
  app.add_flag("-q,--quiet", quiet, "Errors only in the log (results and the live line stay)");

  RunFlags run;
  auto* run_cmd = app.add_subcommand("run", "Run a workload here: controller + local agents");
  run_cmd->footer(
      "Examples:\n"
      "  horde run --target http://127.0.0.1:8080/ -c 64 -d 30s\n"
      "  horde run workload.yaml --out results/today -v");
  run_cmd->add_option("workload", run.file, "Workload file (YAML or JSON)");
  add_run_flags(run_cmd, &run);
  run_cmd->add_option("-t,--threads", run.threads, "Load threads per agent (default cores/agents)")
      ->check(CLI::Range(1u, 4096u));
  run_cmd
      ->add_option("--local-agents", run.local_agents,
                   "Agent processes to start (default 2; 1 with -c 1 in closed loop)")
      ->check(CLI::Range(1u, 256u));

  RunFlags ctl;
  std::string listen = "0.0.0.0:7400", join_timeout = "60s";
  uint32_t expect_agents = 1;
  auto* ctl_cmd = app.add_subcommand("controller", "Run a workload on agents that dial in");
  ctl_cmd->footer(
      "Examples:\n"
      "  horde controller workload.yaml --expect-agents 4 --token-file token\n"
      "  horde controller workload.yaml --listen 10.0.0.5:7400 --join-timeout 5m "
      "--token-file token");
  ctl_cmd->add_option("workload", ctl.file, "Workload file (YAML or JSON)")->required();
  add_run_flags(ctl_cmd, &ctl);
  ctl_cmd->add_option("--listen", listen, "Address for agents to dial (HOST:PORT)")
      ->capture_default_str();
  ctl_cmd->add_option("--expect-agents", expect_agents, "Agents to wait for before starting")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  ctl_cmd->add_option("--join-timeout", join_timeout, "How long to wait for them")
      ->capture_default_str();
  SecurityFlags ctl_security;
  add_security_flags(ctl_cmd, &ctl_security);

  AgentOptions agent;
  auto* agent_cmd = app.add_subcommand("agent", "Dial a controller and generate its load");
  agent_cmd->footer(
      "Examples:\n"
      "  horde agent --controller 10.0.0.5:7400 --token-file token\n"
      "  horde agent --controller ctl:7400 --token-file token --allow-target 10.0.0.0/8 "
      "--max-rate 50000");
  agent_cmd->add_option("--controller", agent.controller, "Controller address HOST:PORT")
      ->required();
  agent_cmd->add_option("--name", agent.name, "Agent name (default host-pid)");
  agent_cmd->add_option("-t,--threads", agent.threads, "Load threads (default: cores)")
      ->check(CLI::Range(1u, 4096u));
  agent_cmd->add_flag("--once", agent.once, "Exit after one run");
  SecurityFlags agent_security;
  add_security_flags(agent_cmd, &agent_security);
  agent_cmd->add_option("--tls-server-name", agent.tls_server_name,
                        "Name to verify in the controller's certificate (default: the host in "
                        "--controller)");
  std::string allow_target;
  agent_cmd
      ->add_option("--max-rate", agent.limits.max_rate,
                   "Refuse assignments above this many requests/s (and closed loop)")
      ->check(CLI::PositiveNumber);
  agent_cmd
      ->add_option("--max-connections", agent.limits.max_connections,
                   "Refuse assignments with more connections than this")
      ->check(CLI::Range(1u, 1'000'000u));
  agent_cmd->add_option("--allow-target", allow_target,
                        "Only these targets: comma-separated CIDRs and host names, e.g. "
                        "127.0.0.0/8,example.internal");

  TargetOptions target;
  std::string target_listen = "127.0.0.1:8080", service_time = "5ms";
  auto* target_cmd = app.add_subcommand("target", "Built-in sample service with known capacity");
  target_cmd->footer(
      "Examples:\n"
      "  horde target --listen 127.0.0.1:8080 --instances 4 --service-time 10ms\n"
      "  horde target --instances 8 --workers 4 --contention 0.1 --crosstalk 0.001");
  target_cmd->add_option("--listen", target_listen, "HOST:PORT of instance 0 (instance i: PORT+i)")
      ->capture_default_str();
  // The same bound as a workload's builtin_target.instances (docs/workload.md, docs/target.md).
  target_cmd->add_option("--instances", target.instances, "Instances (ports)")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  target_cmd->add_option("--workers", target.workers, "Workers per instance")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  target_cmd->add_option("--service-time", service_time, "Time a request holds a worker")
      ->capture_default_str();
  target_cmd->add_option("--threads", target.threads, "Server threads")
      ->check(CLI::Range(1u, 256u));
  // Ranges are checked by ValidateTargetOptions, whose message names the flag.
  target_cmd->add_option("--contention", target.contention,
                         "Formula (Amdahl sigma): fraction of service time on a resource shared "
                         "round-robin by all instances");
  target_cmd->add_option("--lock", target.lock,
                         "One FIFO lock shared by all instances, held for this fraction of each "
                         "request's service time");
  target_cmd->add_option("--crosstalk", target.crosstalk,
                         "One update per other active instance over a shared FIFO channel, each "
                         "holding it for this many service times");

  cli::OfflineCommands offline;
  offline.add(app);

  if (argc <= 1) {  // no arguments: the help, as kubectl does; still a usage error
    std::fputs(app.help().c_str(), stderr);
    return kBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kBadInput;
  }

  if (log_level.empty()) {
    log_level = quiet          ? "error"
                : verbose >= 2 ? "debug"
                : verbose == 1 ? "info"
                : *run_cmd     ? "warn"
                               : "info";
  }
  // Every log line goes through the console, which keeps it off the live line.
  auto stderr_log = std::make_shared<spdlog::logger>("horde", console::stderr_sink());
  spdlog::set_default_logger(stderr_log);
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  if (const auto code = offline.run()) return *code;

  if (*target_cmd) {
    const auto colon = target_listen.rfind(':');
    if (colon == std::string::npos) return usage_error("--listen: expected HOST:PORT");
    target.host = target_listen.substr(0, colon);
    try {
      const int port = std::stoi(target_listen.substr(colon + 1));
      if (port < 0 || port > 65535) throw std::out_of_range("port");
      target.port = static_cast<uint16_t>(port);
    } catch (const std::exception&) {
      return usage_error("--listen: port must be 0..65535, got " + target_listen);
    }
    auto st = parse_duration(service_time);
    if (!st) return usage_error("--service-time: " + st.error().message);
    target.service_time = *st;
    return run_target(target);  // serves until SIGINT/SIGTERM, handled by the target
  }

  Signals signals;
  signals.exit_on_second = static_cast<bool>(*agent_cmd);
  signals.start();

  if (*agent_cmd) {
    auto security = load_security(agent_security, "agent");
    if (!security) return usage_error(security.error().message);
    agent.security = *security;
    if (!allow_target.empty()) {
      auto allow = TargetAllowList::parse(allow_target);
      if (!allow) return usage_error(allow.error().message);
      agent.limits.allow = std::move(*allow);
    }
    return run_agent(agent, &signals.stopping);
  }

  RunFlags& f = *run_cmd ? run : ctl;
  std::string source;
  auto w = workload_from(f, &source);
  if (!w) return usage_error(w.error().message);
  // A gate that cannot read its baseline fails before the run, not after it.
  if (w->baseline &&
      !std::filesystem::exists(std::filesystem::path(w->baseline->dir) / "summary.json")) {
    return usage_error(source + ": baseline.dir: " + w->baseline->dir +
                       ": no summary.json there; expected the results directory of a finished "
                       "horde run");
  }
  // Before any agent or target starts: a results directory that cannot take this run's results.
  if (auto out =
          f.out.empty() ? prepare_results_parent("results") : prepare_out_dir(f.out, f.overwrite);
      !out) {
    return usage_error(out.error().message);
  }
  ControllerOptions co;
  co.workload = std::move(*w);
  co.out_dir = f.out;
  co.live = !f.no_live;
  co.progress_in_place = !f.no_progress;
  co.metrics_listen = f.metrics_listen;
  if (!f.metrics_linger.empty()) {
    auto d = flag_duration("--metrics-linger", f.metrics_linger);
    if (!d) return usage_error(d.error().message);
    if (d->count() < 0 || *d > std::chrono::hours(1)) {
      return usage_error("--metrics-linger: must be 0 .. 1h (e.g. 5s)");
    }
    if (f.metrics_listen.empty()) {
      return usage_error("--metrics-linger: needs --metrics-listen HOST:PORT");
    }
    co.metrics_linger = *d;
  }

  if (*ctl_cmd && co.workload.targets.empty()) {
    return usage_error(source +
                       ": builtin_target: only `horde run` starts the built-in target; "
                       "give `target:` (or --target) for a distributed run");
  }
  if (*run_cmd) {
    LocalRunOptions lo;
    lo.controller = std::move(co);
    lo.source = source;
    lo.local_agents = run.local_agents;
    lo.threads = run.threads;
    lo.log_level = log_level;
    return run_local(std::move(lo), &signals.abort);
  }

  auto jt = flag_duration("--join-timeout", join_timeout);
  if (!jt) return usage_error(jt.error().message);
  auto security = load_security(ctl_security, "controller");
  if (!security) return usage_error(security.error().message);
  co.security = *security;
  co.listen = listen;
  co.expect_agents = expect_agents;
  co.join_timeout = *jt;
  Controller controller(co);
  auto port = controller.listen();
  if (!port) return usage_error(port.error().message);
  std::printf("controller listening on %s (port %d), waiting for %u agent(s)\n", listen.c_str(),
              *port, expect_agents);
  std::fflush(stdout);
  signals.abort.arm([&](const std::string& why) { controller.abort(why); });
  const int code = controller.run();
  signals.abort.disarm();
  return code;
}
