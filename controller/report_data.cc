#include "controller/report_data.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "controller/hlog.h"

namespace horde {

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  // Every field, the empty ones too (an observed source without a value ends a row with ',').
  std::vector<std::string> out(1);
  for (const char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

constexpr size_t kFixedColumns = 11;  // phase .. max_ms, as intervals_csv writes them

Result<std::vector<ReportInterval>> read_intervals_csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<ReportInterval> rows;
  if (!in) return rows;  // optional: a run that died early may have none
  std::string line;
  if (!std::getline(in, line)) return rows;
  const auto header = split_csv(line);
  auto col = [&](const char* name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const int c_phase = col("phase"), c_interval = col("interval"), c_time = col("time_s");
  if (c_phase < 0 || c_interval < 0 || c_time < 0) {
    return Error{path + ": header lacks the phase, interval and time_s columns"};
  }
  for (size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto f = split_csv(line);
    auto get = [&](int c, double fallback) {
      if (c < 0 || static_cast<size_t>(c) >= f.size()) return fallback;
      char* end = nullptr;
      const double v = std::strtod(f[c].c_str(), &end);
      return end != f[c].c_str() && std::isfinite(v) ? v : fallback;
    };
    if (f.size() != header.size()) {
      return Error{
          fmt::format("{}:{}: expected {} fields, got {}", path, number, header.size(), f.size())};
    }
    ReportInterval r;
    r.phase = static_cast<uint32_t>(get(c_phase, 0));
    r.interval = static_cast<uint32_t>(get(c_interval, 0));
    r.time_s = get(c_time, 0);
    r.warmup = get(col("warmup"), 0) != 0;
    r.agents = get(col("agents"), 0);
    r.requests = get(col("requests"), 0);
    r.errors = get(col("errors"), 0);
    r.rps = get(col("rps"), NAN);
    r.p50_ms = get(col("p50_ms"), NAN);
    r.p99_ms = get(col("p99_ms"), NAN);
    r.max_ms = get(col("max_ms"), NAN);
    // Columns after the fixed ones are `observe:` sources; an empty field is no value (NaN).
    for (size_t c = kFixedColumns; c < header.size(); ++c) {
      r.observed[header[c]] = get(static_cast<int>(c), NAN);
    }
    rows.push_back(r);
  }
  return rows;
}

// intervals.jsonl holds protobuf's JSON mapping (uint64 as strings).
double as_number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return std::strtod(v.get<std::string>().c_str(), nullptr);
  return 0;
}

bool read_error_classes(const std::string& path, std::vector<ReportInterval>& rows) {
  std::ifstream in(path);
  if (!in) return false;
  std::map<std::pair<uint32_t, uint32_t>, std::map<std::string, double>> by_interval;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;  // a torn last line
    auto& classes = by_interval[{static_cast<uint32_t>(json_number(j, "phase")),
                                 static_cast<uint32_t>(json_number(j, "interval"))}];
    const auto counters = j.find("counters");
    if (counters == j.end() || !counters->is_object()) continue;
    for (const char* key : {"errorsByClass", "errors_by_class"}) {
      const auto list = counters->find(key);
      if (list == counters->end() || !list->is_array()) continue;
      for (const auto& e : *list) {
        if (!e.is_object()) continue;
        std::string name = json_string(e, "errorClass");
        if (name.empty()) name = json_string(e, "error_class");
        if (!name.empty() && e.contains("count")) classes[name] += as_number(e["count"]);
      }
    }
  }
  if (by_interval.empty()) return false;
  for (auto& r : rows) {
    const auto it = by_interval.find({r.phase, r.interval});
    if (it != by_interval.end()) r.errors_by_class = it->second;
  }
  return true;
}

// One timeline across phases: each phase starts where the previous one ended;
// an interval is placed at its end. The interval length is the step of time_s.
void place_on_timeline(ReportInput& in) {
  double offset = 0;
  size_t i = 0;
  while (i < in.intervals.size()) {
    size_t j = i;
    while (j < in.intervals.size() && in.intervals[j].phase == in.intervals[i].phase) ++j;
    double step = 1;
    for (size_t k = i + 1; k < j; ++k) {
      const double d = in.intervals[k].time_s - in.intervals[k - 1].time_s;
      if (d > 0) {
        step = d;
        break;
      }
    }
    const double first = in.intervals[i].time_s;
    in.phase_starts.emplace_back(in.intervals[i].phase, offset);
    for (size_t k = i; k < j; ++k) {
      in.intervals[k].run_time_s = offset + in.intervals[k].time_s - first + step;
    }
    offset = in.intervals[j - 1].run_time_s;
    i = j;
  }
}

}  // namespace

double json_number(const nlohmann::json& j, const char* key, double fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<ReportInput> load_report_input(const std::string& results_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(results_dir);
  ReportInput in;
  const std::string summary_path = (dir / "summary.json").string();
  std::ifstream f(summary_path);
  if (!f) return Error{summary_path + ": cannot open (is this a horde results directory?)"};
  in.summary = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!in.summary.is_object()) return Error{summary_path + ": not a JSON object"};
  auto rows = read_intervals_csv((dir / "intervals.csv").string());
  if (!rows) return rows.error();
  in.intervals = std::move(*rows);
  in.have_error_classes = read_error_classes((dir / "intervals.jsonl").string(), in.intervals);
  place_on_timeline(in);
  const std::string hlog_path = (dir / "latency.hlog").string();
  if (fs::exists(hlog_path)) {
    auto log = read_hlog(hlog_path);
    if (log) {
      in.hlog_intervals = log->size();
      for (const auto& [start, h] : *log) in.hlog_samples += h.total_count();
    } else {
      in.hlog_error = log.error().message;
    }
  }
  return in;
}

}  // namespace horde
