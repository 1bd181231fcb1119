// Child processes: `horde run` starts its built-in target and its local agents
// as children of one process tree, and the integration tests start real horde
// processes the same way. Standard output is captured line by line so a parent
// can wait for "listening on ..." lines; stderr is inherited (the log), or
// merged into the same pipe (`horde run` passes its local agents' lines on).
//
// Children never outlive their parent and never take its terminal's signals:
// each starts in its own process group (a Ctrl-C, or `timeout`'s group signal,
// reaches only the parent, which stops its children in order), and a horde
// child told its parent's pid (HORDE_PARENT_PID) asks the kernel for SIGKILL
// when that parent dies, even by SIGKILL (die_with_parent, PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace horde {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();  // kills (SIGKILL) and reaps a child still running
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] is the program path. capture_stdout: read it with read_line();
  // with merge_stderr the child's stderr (its log) comes down the same pipe.
  static Result<Subprocess> spawn(const std::vector<std::string>& argv, bool capture_stdout,
                                  bool merge_stderr = false);

  // Next stdout line (without '\n'), or nullopt at EOF or when the deadline passes.
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);
  // True once stdout reached EOF and every line of it was read.
  bool at_eof() const { return stdout_fd_ < 0 && buffer_.empty(); }
  // Everything left on stdout until EOF or the deadline.
  std::string read_all(std::chrono::steady_clock::time_point deadline);

  void signal(int sig);
  // Exit code (128 + signal for a signalled child), or nullopt if still running at the deadline.
  std::optional<int> wait_until(std::chrono::steady_clock::time_point deadline);
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> exit_code_;
};

// Path of the running executable (/proc/self/exe), to start horde children.
std::string self_executable();

// Called first thing in main(): when started by Subprocess::spawn (directly or
// through a wrapper such as `timeout`), this process is killed (SIGKILL) the
// moment its parent dies; if the spawner is already gone it exits at once (3). The kernel ties
// PR_SET_PDEATHSIG to the parent *thread* that spawned, so spawn children from a thread that lives
// as long as they should (horde spawns from main).
void die_with_parent();

}  // namespace horde
