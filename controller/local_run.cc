#include "controller/local_run.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <thread>

#include "common/process.h"
#include "common/security.h"
#include "controller/console.h"

namespace horde {

void AbortSwitch::arm(std::function<void(const std::string&)> fn) {
  std::lock_guard lock(mu_);
  fn_ = std::move(fn);
  if (!pending_.empty() && fn_) fn_(pending_);
}

void AbortSwitch::fire(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (fn_) {
    fn_(reason);
  } else {
    pending_ = reason;
  }
}

void AbortSwitch::disarm() {
  std::lock_guard lock(mu_);
  fn_ = nullptr;
}

namespace {

using SteadyClock = std::chrono::steady_clock;

// A child's lines (its log comes down the same pipe) reach the terminal whole,
// with its name in front, until the pipe ends when it exits.
std::thread prefix_lines(Subprocess* child, std::string prefix) {
  return std::thread([child, prefix = std::move(prefix)] {
    while (!child->at_eof()) {
      if (auto line = child->read_line(SteadyClock::now() + std::chrono::seconds(1))) {
        console::write_line(stderr, prefix + *line);
      }
    }
  });
}

// The built-in target: its lines are prefixed "[target] "; stopped, and its
// reader joined, however run_local returns.
class LocalTarget {
 public:
  LocalTarget() = default;
  LocalTarget(const LocalTarget&) = delete;
  LocalTarget& operator=(const LocalTarget&) = delete;
  ~LocalTarget() { stop(true); }

  // Starts `horde target` as a child and reads the URL of each instance.
  Result<std::vector<Url>> start(const BuiltinTarget& t, const std::string& log_level);
  void stop(bool hurry) {
    if (process_.pid() > 0 && process_.running()) {
      process_.signal(hurry ? SIGKILL : SIGTERM);
      if (!process_.wait_until(SteadyClock::now() + std::chrono::seconds(5))) {
        process_.signal(SIGKILL);
      }
    }
    if (reader_.joinable()) reader_.join();
  }

 private:
  Subprocess process_;
  std::thread reader_;
};

Result<std::vector<Url>> LocalTarget::start(const BuiltinTarget& t, const std::string& log_level) {
  auto child = Subprocess::spawn(
      {self_executable(), "--log-level", log_level, "target", "--listen", "127.0.0.1:0",
       "--instances", std::to_string(t.instances), "--workers", std::to_string(t.workers),
       "--service-time",
       std::to_string(
           std::chrono::duration_cast<std::chrono::microseconds>(t.service_time).count()) +
           "us",
       "--contention", fmt::format("{}", t.contention), "--crosstalk",
       fmt::format("{}", t.crosstalk), "--lock", fmt::format("{}", t.lock)},
      true, true);
  if (!child) return child.error();
  std::vector<Url> urls;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  const std::string marker = "listening on ";
  while (urls.size() < t.instances) {
    auto line = child->read_line(deadline);
    if (!line) return Error{"the built-in target did not start (see its log above)"};
    const auto at = line->find(marker);
    if (at == std::string::npos) {
      console::write_line(stderr, "[target] " + *line);
      continue;
    }
    auto url = parse_url(line->substr(at + marker.size()));
    if (!url) return Error{"built-in target printed a bad URL: " + url.error().message};
    urls.push_back(*url);
  }
  process_ = std::move(*child);
  reader_ = prefix_lines(&process_, "[target] ");
  return urls;
}

}  // namespace

uint32_t default_local_agents(const Workload& w) {
  // Searched or swept rates run open loop; an agents sweep's load is per agent.
  if (w.load.mode != LoadMode::kClosed || w.capacity || !w.sweep.rates.empty() ||
      !w.sweep.agents.empty()) {
    return kDefaultLocalAgents;
  }
  return std::clamp<uint32_t>(w.load.connections, 1, kDefaultLocalAgents);
}

int run_local(LocalRunOptions o, AbortSwitch* abort_switch) {
  LocalTarget target;
  Workload& w = o.controller.workload;
  if (w.targets.empty() && w.builtin_target) {
    auto urls = target.start(*w.builtin_target, o.log_level);
    if (!urls) {
      spdlog::error("{}", urls.error().message);
      return 3;
    }
    w.targets = *urls;
    spdlog::info("built-in target: {} instance(s), {} workers each, service time {} ms",
                 w.builtin_target->instances, w.builtin_target->workers,
                 w.builtin_target->service_time.count());
  }
  auto finalized = finalize_workload(w, o.source);
  if (!finalized) {
    spdlog::error("{}", finalized.error().message);
    return 2;
  }
  w = *finalized;
  if (o.local_agents == 0) {
    o.local_agents = default_local_agents(w);
    if (o.local_agents < kDefaultLocalAgents) {
      // Said on stdout, beside the results: the run differs from the documented default.
      std::printf(
          "%u connection%s: starting %u local agent%s instead of %u (--local-agents N to "
          "choose)\n",
          w.load.connections, w.load.connections == 1 ? "" : "s", o.local_agents,
          o.local_agents == 1 ? "" : "s", kDefaultLocalAgents);
      std::fflush(stdout);
    }
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned threads = o.threads ? o.threads : std::max(1u, cores / o.local_agents);
  o.controller.listen = "127.0.0.1:0";
  o.controller.expect_agents = o.local_agents;
  o.controller.join_timeout = std::chrono::seconds(30);
  // Local agents get a fresh token through the environment they inherit.
  o.controller.security.token = random_token();
  ::setenv("HORDE_TOKEN", o.controller.security.token.c_str(), 1);
  Controller controller(o.controller);
  auto port = controller.listen();
  if (!port) {
    spdlog::error("{}", port.error().message);
    return 3;
  }
  if (abort_switch) abort_switch->arm([&](const std::string& why) { controller.abort(why); });

  std::vector<Subprocess> agents;
  agents.reserve(o.local_agents);  // the readers hold pointers into it
  std::vector<std::thread> readers;
  const auto join_readers = [&] {
    for (auto& r : readers) r.join();
    readers.clear();
  };
  for (uint32_t i = 0; i < o.local_agents; ++i) {
    const std::string name = "local-" + std::to_string(i + 1);
    auto agent = Subprocess::spawn({self_executable(), "--log-level", o.log_level, "agent",
                                    "--controller", "127.0.0.1:" + std::to_string(*port), "--once",
                                    "--name", name, "--threads", std::to_string(threads)},
                                   true, true);
    if (!agent) {
      spdlog::error("{}", agent.error().message);
      if (abort_switch) abort_switch->disarm();
      for (auto& a : agents) a.signal(SIGKILL);
      join_readers();
      return 3;
    }
    agents.push_back(std::move(*agent));
    readers.push_back(prefix_lines(&agents.back(), "[" + name + "] "));
  }
  const int code = controller.run();
  if (abort_switch) abort_switch->disarm();

  // The results are on disk by now. Agents stop on the controller's word; a
  // second signal does not wait for them.
  const bool hurry = abort_switch && abort_switch->hurried();
  const auto deadline = SteadyClock::now() + std::chrono::seconds(hurry ? 0 : 10);
  for (auto& a : agents) {
    if (!a.wait_until(deadline)) {
      if (!hurry) spdlog::warn("local agent {} did not exit; killing it", a.pid());
      a.signal(SIGKILL);
    }
  }
  join_readers();  // every agent has exited or was killed: their pipes are at EOF
  target.stop(hurry);
  return code;
}

}  // namespace horde
