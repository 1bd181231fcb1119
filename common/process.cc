#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

extern char** environ;

namespace horde {

namespace {
constexpr std::string_view kParentPidVar = "HORDE_PARENT_PID=";  // read by die_with_parent()
}  // namespace

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    this->~Subprocess();
    pid_ = other.pid_;
    stdout_fd_ = other.stdout_fd_;
    buffer_ = std::move(other.buffer_);
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
    other.stdout_fd_ = -1;
    other.exit_code_.reset();
  }
  return *this;
}

Result<Subprocess> Subprocess::spawn(const std::vector<std::string>& argv, bool capture_stdout,
                                     bool merge_stderr) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment as it is, plus this process's pid for die_with_parent().
  const std::string parent_var = std::string(kParentPidVar) + std::to_string(::getpid());
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e) {
    if (!std::string_view(*e).starts_with(kParentPidVar)) env.push_back(*e);
  }
  env.push_back(const_cast<char*>(parent_var.c_str()));
  env.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (capture_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return Error{std::string("pipe: ") + std::strerror(errno)};
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  }
  // The child starts with default signal handling and nothing blocked, whatever
  // the parent did for its own signal thread.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  // Its own process group: terminal and group signals reach only the parent.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), env.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) ::close(pipe_fds[1]);
  if (rc != 0) {
    if (capture_stdout) ::close(pipe_fds[0]);
    return Error{"cannot start " + argv[0] + ": " + std::strerror(rc)};
  }
  Subprocess p;
  p.pid_ = pid;
  p.stdout_fd_ = capture_stdout ? pipe_fds[0] : -1;
  return p;
}

std::optional<std::string> Subprocess::read_line(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{stdout_fd_, POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    char chunk[4096];
    const ssize_t got = ::read(stdout_fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      if (buffer_.empty()) return std::nullopt;
      std::string rest;
      rest.swap(buffer_);
      return rest;
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

std::string Subprocess::read_all(std::chrono::steady_clock::time_point deadline) {
  std::string out;
  while (auto line = read_line(deadline)) {
    out += *line;
    out += '\n';
  }
  return out;
}

void Subprocess::signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> Subprocess::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Subprocess::running() { return !wait_until(std::chrono::steady_clock::now()).has_value(); }

void die_with_parent() {
  const char* value = std::getenv("HORDE_PARENT_PID");
  if (!value) return;
  const pid_t parent = static_cast<pid_t>(std::atoll(value));
  ::unsetenv("HORDE_PARENT_PID");  // this process's own children get their own
  if (parent <= 1) return;
  // Tied to the process that forked this one: the spawner, or a wrapper it ran
  // (`timeout`, `nice`) that lives exactly as long as this process should.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before the line above: then nobody would signal us.
  if (::getppid() != parent && ::kill(parent, 0) != 0 && errno == ESRCH) std::_Exit(3);
}

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "horde";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace horde
