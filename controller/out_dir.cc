#include "controller/out_dir.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace horde {

namespace fs = std::filesystem;

namespace {

// The files a run writes into its directory (temporary names end in .tmp-PID).
constexpr const char* kResultFiles[] = {"summary.json", "intervals.csv", "intervals.jsonl",
                                        "latency.hlog", "report.html"};

bool is_result_file(const std::string& name) {
  for (const char* f : kResultFiles) {
    if (name == f || name.starts_with(std::string(f) + ".tmp-")) return true;
  }
  return false;
}

Result<bool> make_directory(const std::string& flag, const std::string& dir) {
  // Walk up to the first component that exists: it must be a directory.
  for (fs::path p = fs::path(dir).lexically_normal(); !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        return Error{
            fmt::format("{} {}: {} is a file, not a directory; give a directory for the "
                        "results",
                        flag, dir, p.string())};
      }
      break;
    }
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Error{fmt::format("{} {}: cannot create the directory: {}", flag, dir, ec.message())};
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error{fmt::format("{} {}: cannot write there: {}", flag, dir, std::strerror(errno))};
  }
  return true;
}

}  // namespace

Result<bool> prepare_out_dir(const std::string& dir, bool overwrite) {
  if (auto made = make_directory("--out", dir); !made) return made;
  std::error_code ec;
  std::string first, earlier;  // the first entry; the first of an earlier run's files
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (first.empty()) first = name;
    if (is_result_file(name)) {
      if (earlier.empty()) earlier = name;
      if (overwrite) {
        std::error_code rm;
        fs::remove(entry.path(), rm);
        if (rm) {
          return Error{
              fmt::format("--out {}: --overwrite cannot remove {}: {}", dir, name, rm.message())};
        }
      }
    }
  }
  if (ec) return Error{fmt::format("--out {}: cannot list it: {}", dir, ec.message())};
  if (overwrite || first.empty()) return true;
  return Error{fmt::format(
      "--out {}: not empty (it holds {}); each run needs a results directory of its own: give a "
      "new --out, leave --out out (results/<run-id>), or add --overwrite to replace the results "
      "in it",
      dir, earlier.empty() ? first : earlier + " from an earlier run")};
}

Result<bool> prepare_results_parent(const std::string& parent) {
  return make_directory("results directory", parent);
}

}  // namespace horde
