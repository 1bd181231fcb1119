// report.html: one self-contained page (inline CSS and SVG, no JavaScript, no
// network) rendered from a results directory, so `horde report DIR` can redo it
// at any time from the files alone. Reads summary.json and intervals.csv, and
// when present intervals.jsonl (errors by class per interval) and latency.hlog.
// Shows the verdict and thresholds, totals, throughput / latency / errors over
// time with phase boundaries, the latency percentile spectrum, per request
// name (more than one) its p50/p99 over time and totals, per-agent requests
// and, for sweeps, capacity vs N with the USL fit and latency vs
// throughput. docs/report.md explains how to read each chart.
#pragma once

#include <string>

#include "common/result.h"

namespace horde {

// The page for the results in results_dir; an error names the file that is
// missing or malformed (summary.json is required, the rest is optional).
Result<std::string> render_report(const std::string& results_dir);

// The page's inline style sheet, shared with compare.html.
const char* report_css();

// render_report, written to results_dir/report.html.
Result<bool> write_report(const std::string& results_dir);

}  // namespace horde
