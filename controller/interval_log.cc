#include "controller/interval_log.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/text.h"
#include "common/wire.h"
#include "controller/phase_accumulator.h"

namespace horde {

namespace {

std::string to_json_text(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

}  // namespace

IntervalLog::~IntervalLog() {
  if (file_) std::fclose(file_);
}

Result<bool> IntervalLog::open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) return Error{path + ": cannot open for writing"};
  return true;
}

void IntervalLog::append(const IntervalRow& row, const Histogram& latency,
                         const std::string& run_id, const Backends& backends, const ByName& names) {
  if (!file_) return;
  v1::Counters counters;
  to_wire(row.counters, &counters);
  v1::SparseHistogram hist;
  to_wire(latency, &hist);
  const nlohmann::json head = {{"run_id", run_id},
                               {"phase", row.phase},
                               {"interval", row.interval},
                               {"time_s", row.time_s},
                               {"warmup", row.warmup},
                               {"agents", row.agents},
                               {"duration_s", row.duration_s},
                               {"merged_unix_us", row.merged_unix_us}};
  std::string line = text::dump_json(head);
  line.pop_back();  // splice the protobuf JSON objects into the same line
  line += ",\"counters\":" + to_json_text(counters) + ",\"latency\":" + to_json_text(hist);
  if (!backends.empty()) {
    v1::Report only_backends;  // the wire form of the list, as protobuf JSON
    to_wire(backends, only_backends.mutable_backends());
    line += ",\"backends\":" + to_json_text(only_backends);
  }
  if (!names.empty()) {
    v1::Report only_names;
    to_wire(names, only_names.mutable_names());
    line += ",\"names\":" + to_json_text(only_names);
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

Result<std::vector<LoggedInterval>> read_interval_log(const std::string& path,
                                                      std::string* run_id) {
  std::vector<LoggedInterval> out;
  auto read =
      scan_interval_log(path, run_id, [&](LoggedInterval& li) { out.push_back(std::move(li)); });
  if (!read) return read.error();
  return out;
}

Result<size_t> scan_interval_log(const std::string& path, std::string* run_id,
                                 const std::function<void(LoggedInterval&)>& fn) {
  std::ifstream f(path);
  if (!f) return Error{path + ": cannot read"};
  size_t count = 0;
  // One line read ahead: only the last line may be torn.
  std::string line, next;
  size_t number = 0;
  const auto next_line = [&](std::string* into) {
    while (std::getline(f, *into)) {
      ++number;
      if (!into->empty()) return true;
    }
    return false;
  };
  bool have = next_line(&line);
  while (have) {
    const size_t line_number = number;
    const bool more = next_line(&next);
    const auto where = fmt::format("{}:{}", path, line_number);
    auto j = nlohmann::json::parse(line, nullptr, false);
    line.swap(next);
    have = more;
    if (j.is_discarded()) {
      if (!more) break;  // torn last line
      return Error{where + ": not JSON"};
    }
    try {
      LoggedInterval li;
      li.row.phase = j.at("phase").get<uint32_t>();
      li.row.interval = j.at("interval").get<uint32_t>();
      li.row.time_s = j.at("time_s").get<double>();
      li.row.warmup = j.at("warmup").get<bool>();
      li.row.agents = j.at("agents").get<uint32_t>();
      li.row.duration_s = j.at("duration_s").get<double>();
      if (run_id) *run_id = j.at("run_id").get<std::string>();
      v1::Counters c;
      v1::SparseHistogram h;
      if (!google::protobuf::util::JsonStringToMessage(j.at("counters").dump(), &c).ok() ||
          !google::protobuf::util::JsonStringToMessage(j.at("latency").dump(), &h).ok()) {
        return Error{where + ": counters/latency do not match the horde.v1 schema"};
      }
      auto counters = from_wire(c);
      if (!counters) return Error{where + ": " + counters.error().message};
      auto latency = from_wire(h);
      if (!latency) return Error{where + ": " + latency.error().message};
      li.row.counters = std::move(*counters);
      li.latency = std::move(*latency);
      if (j.contains("backends")) {
        v1::Report b;
        if (!google::protobuf::util::JsonStringToMessage(j.at("backends").dump(), &b).ok()) {
          return Error{where + ": backends do not match the horde.v1 schema"};
        }
        auto backends = from_wire(b.backends());
        if (!backends) return Error{where + ": " + backends.error().message};
        li.backends = std::move(*backends);
      }
      if (j.contains("names")) {
        v1::Report n;
        if (!google::protobuf::util::JsonStringToMessage(j.at("names").dump(), &n).ok()) {
          return Error{where + ": names do not match the horde.v1 schema"};
        }
        auto names = from_wire(n.names());
        if (!names) return Error{where + ": " + names.error().message};
        li.names = std::move(*names);
      }
      li.row.p50_us = li.latency.value_at_percentile(50);
      li.row.p99_us = li.latency.value_at_percentile(99);
      li.row.max_us = li.latency.max();
      fn(li);
      ++count;
    } catch (const nlohmann::json::exception& e) {
      return Error{where + ": " + e.what()};
    }
  }
  return count;
}

RunResult rebuild_from_intervals(const std::vector<LoggedInterval>& intervals,
                                 const std::string& run_id) {
  RunResult r;
  r.run_id = run_id;
  r.aborted = true;
  r.incomplete = true;
  r.abort_reason =
      "incomplete: rebuilt from intervals.jsonl (the controller ended before writing "
      "summary.json)";
  // The same accumulator as the live run: the rebuilt phase reads as the live one would have.
  std::map<uint32_t, PhaseAccumulator> phases;
  for (const auto& li : intervals) {
    auto it = phases.find(li.row.phase);
    if (it == phases.end()) {
      it = phases
               .try_emplace(li.row.phase, li.row.phase, fmt::format("phase{}", li.row.phase),
                            std::nullopt)
               .first;
    }
    it->second.add(li.row, li.latency, li.backends, li.names);
  }
  // No plan in the log: the measured time is what the logged intervals saw.
  for (auto& [index, p] : phases) r.phases.push_back(p.finish(std::nullopt, r.aborted));
  return r;
}

Result<bool> ensure_summary(const std::string& dir) {
  namespace fs = std::filesystem;
  const auto summary = fs::path(dir) / "summary.json";
  if (fs::exists(summary)) {
    std::ifstream f(summary);
    std::stringstream text;
    text << f.rdbuf();
    if (f && !nlohmann::json::parse(text.str(), nullptr, false).is_discarded()) return false;
    // Unreadable (a 0-byte file from a full disk, a torn write): kept aside, rebuilt below.
    std::error_code ec;
    fs::rename(summary, fs::path(dir) / "summary.json.unreadable", ec);
  }
  const auto log = (fs::path(dir) / "intervals.jsonl").string();
  if (!fs::exists(log)) {
    return Error{dir +
                 ": neither summary.json nor intervals.jsonl; is this a horde results directory?"};
  }
  std::string run_id;
  auto intervals = read_interval_log(log, &run_id);
  if (!intervals) return intervals.error();
  auto written = write_results(rebuild_from_intervals(*intervals, run_id), dir);
  if (!written) return written.error();
  return true;
}

}  // namespace horde
