// The subcommands that read files and start nothing (validate, compare,
// report): their flags and what each does. main.cc adds them to the app and
// runs the one chosen; they share its usage rule (exit 2, the flag named).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "controller/compare.h"

namespace horde::cli {

inline constexpr int kBadInput = 2;
// "horde: MESSAGE" on stderr; returns kBadInput.
int usage_error(const std::string& message);

class OfflineCommands {
 public:
  // Adds `report`, `compare` and `validate` (in that order, as --help lists them).
  void add(CLI::App& app);
  // After parsing: the exit code of the one chosen, or nullopt when none was.
  std::optional<int> run();

 private:
  CLI::App* report_ = nullptr;
  CLI::App* compare_ = nullptr;
  CLI::App* validate_ = nullptr;
  std::string report_dir_;
  std::string compare_a_, compare_b_, compare_tolerance_, compare_out_;
  CompareOptions compare_options_;
  std::string validate_file_;
};

}  // namespace horde::cli
