// `horde run`: the embedded default. Starts the built-in target when the
// workload asks for it, a controller on loopback and N agents as child
// processes that speak the same gRPC protocol as distributed agents, runs, and
// tears everything down. One process tree, no setup.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "controller/controller.h"

namespace horde {

// Lets a signal thread abort whatever run is current (set once it exists), and
// on a second signal hurry its end: nothing slow, but the results still written.
class AbortSwitch {
 public:
  void arm(std::function<void(const std::string&)> fn);
  void fire(const std::string& reason);
  void disarm();
  // Returns true the first time (so the caller says so once).
  bool hurry() { return !hurried_.exchange(true); }
  bool hurried() const { return hurried_; }

 private:
  std::mutex mu_;
  std::function<void(const std::string&)> fn_;
  std::string pending_;  // a signal that came before arm()
  std::atomic<bool> hurried_{false};
};

inline constexpr uint32_t kDefaultLocalAgents = 2;

// The agents `horde run` starts for `w` when --local-agents was not given.
uint32_t default_local_agents(const Workload& w);

struct LocalRunOptions {
  ControllerOptions controller;  // workload, out_dir, live; listen/expect_agents are set here
  std::string source;            // workload file name, for messages
  // 0: not given: kDefaultLocalAgents, but never more than a closed loop's
  // connections (each agent needs one; `-c 1` runs one agent, and says so).
  uint32_t local_agents = 0;
  unsigned threads = 0;  // per agent; 0: cores / agents (at least 1)
  // The agents log at this level; their lines reach this process's stderr
  // whole, prefixed "[local-1] " (console.h), never split by the live line.
  std::string log_level = "warn";
};

int run_local(LocalRunOptions options, AbortSwitch* abort_switch);

}  // namespace horde
