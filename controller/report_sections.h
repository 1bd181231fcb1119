// The sections of report.html, each rendered from the loaded results (see
// report_data.h) into an HTML fragment with its charts; report_html.cc puts
// them in order inside one page. Every value from the files is escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/report_data.h"
#include "controller/svg_chart.h"

namespace horde {

// Workload, run id, targets, aborted/incomplete banner, pass/fail, thresholds, warnings.
std::string header_section(const ReportInput& in);
// One row per phase plus the totals.
std::string totals_section(const nlohmann::json& summary);
// Where each phase starts on the run timeline, named, for the charts over time.
std::vector<ChartMarker> phase_markers(const ReportInput& in);
// Throughput, latency (p50/p99/max) and errors per interval, phases marked.
std::string over_time_section(const ReportInput& in);
// Latency by percentile per phase and overall, on a 1/(1-p) axis.
std::string spectrum_section(const nlohmann::json& summary);
// Requests per agent.
std::string agents_section(const nlohmann::json& summary);
// p99 vs achieved throughput (report_capacity.cc): a curve per capacity search
// (per instance count) from its steps; else one point per phase labelled by
// offered rate, joined only for a rates sweep (one target under rising load).
std::string latency_throughput_chart(const nlohmann::json& summary);
// summary["capacity"] (report_capacity.cc): per search its verdict banner, the
// bracket and every step; "" without a search.
bool has_capacity(const nlohmann::json& summary);
std::string capacity_section(const nlohmann::json& summary);
// summary["scalability"]: verdict, capacity vs N with ideal line and USL curve, points
// table, latency vs throughput.
std::string scalability_section(const nlohmann::json& summary);

}  // namespace horde
