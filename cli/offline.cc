#include "cli/offline.h"

#include <cstdio>

#include "common/text.h"
#include "common/tolerance.h"
#include "common/workload.h"
#include "controller/interval_log.h"
#include "controller/report_html.h"

namespace horde::cli {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "horde: %s\n", message.c_str());
  return kBadInput;
}

void OfflineCommands::add(CLI::App& app) {
  report_ = app.add_subcommand("report", "Re-render report.html from a results directory");
  report_->footer(
      "Examples:\n"
      "  horde report results/20261201-190542-1a2b\n"
      "  horde report results/today   (a killed controller: rebuilds summary.json first)");
  report_->add_option("dir", report_dir_, "Results directory (results/<run-id>)")->required();

  compare_ = app.add_subcommand(
      "compare", "Is the candidate run worse than the baseline beyond noise? (exit 1: yes)");
  compare_->add_option("baseline", compare_a_, "Baseline results directory")->required();
  compare_->add_option("candidate", compare_b_, "Candidate results directory")->required();
  compare_->add_option("--tolerance", compare_tolerance_,
                       "Per metric, e.g. p99=10%,throughput=5%,error_rate=0.1 (points)");
  compare_->add_option("--alpha", compare_options_.alpha, "Significance level (default 0.01)")
      ->check(CLI::Range(1e-6, 0.2));
  compare_->add_option("--out", compare_out_, "Write compare.json and compare.html here");
  compare_->add_flag("--allow-incomplete", compare_options_.allow_incomplete,
                     "Compare a run that was aborted or did not finish");
  compare_->add_option("--seed", compare_options_.seed, "Bootstrap seed (default 1)");

  validate_ = app.add_subcommand("validate", "Check a workload file");
  validate_->footer(
      "Examples:\n"
      "  horde validate workload.yaml\n"
      "  horde validate examples/capacity.yaml > resolved.json");
  validate_->add_option("workload", validate_file_, "Workload file")->required();
}

std::optional<int> OfflineCommands::run() {
  if (*validate_) {
    auto w = load_workload_file(validate_file_);
    if (w) w = finalize_workload(*w, validate_file_);
    if (!w) {
      std::fprintf(stderr, "%s\n", w.error().message.c_str());
      return kBadInput;
    }
    std::printf("%s: ok\n%s\n", validate_file_.c_str(), text::dump_json(to_json(*w), 2).c_str());
    return 0;
  }

  if (*compare_) {
    auto t = parse_tolerance_list(compare_tolerance_, default_tolerances());
    if (!t) return usage_error("--tolerance: " + t.error().message);
    compare_options_.tolerance = *t;
    auto c = compare_dirs(compare_a_, compare_b_, compare_options_);
    if (!c) return usage_error(c.error().message);
    std::printf("%s", comparison_text(*c).c_str());
    if (!compare_out_.empty()) {
      if (auto w = write_comparison(*c, compare_out_); !w) return usage_error(w.error().message);
      std::printf("comparison: %s/compare.json, %s/compare.html\n", compare_out_.c_str(),
                  compare_out_.c_str());
    }
    return c->exit_code();
  }

  if (*report_) {
    auto rebuilt = ensure_summary(report_dir_);
    if (!rebuilt) return usage_error(rebuilt.error().message);
    if (*rebuilt) {
      std::printf(
          "summary.json was missing or unreadable: rebuilt from intervals.jsonl, marked "
          "incomplete\n");
    }
    auto written = write_report(report_dir_);
    if (!written) return usage_error(written.error().message);
    std::printf("%s/report.html\n", report_dir_.c_str());
    return 0;
  }
  return std::nullopt;
}

}  // namespace horde::cli
