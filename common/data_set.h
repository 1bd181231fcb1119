// Data sets (`data:` in the workload): rows of named columns read from a CSV
// file with a header row (RFC 4180 quoting) or a JSONL file (one object a
// line), by the controller when the workload is loaded. Each agent gets its
// rows in its WorkloadSlice (controller/data_plan.h), so agents on other hosts
// need no files. The cells are one byte buffer with end offsets: compact to
// hold and to ship, and a cell is a string_view on the request path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace horde {

// cycle: each agent walks its own disjoint slice of the rows, round and round;
// random: uniform over all rows; unique: each row used at most once in the run.
enum class DataMode : uint8_t { kCycle, kRandom, kUnique };
const char* data_mode_name(DataMode m);  // "cycle", "random", "unique"
bool data_mode_from_name(std::string_view name, DataMode* out);

// Bounds: the bytes of every data set's values in a run, added up (each data
// file is refused above it too); sets; columns of one set.
inline constexpr size_t kMaxDataBytes = 64u << 20;
inline constexpr size_t kMaxDataSets = 64;
inline constexpr size_t kMaxDataColumns = 1'000;

struct DataSet {
  std::string name;
  std::string file;  // the path read (absolute); empty in a slice
  DataMode mode = DataMode::kCycle;
  std::vector<std::string> columns;
  std::string cells;           // every value, row after row
  std::vector<uint32_t> ends;  // cell i is cells[ends[i-1], ends[i]) (ends[-1] = 0)
  // JSONL: for each column, the 1-based line of the first row without it (0: every row has it).
  std::vector<size_t> first_missing;

  size_t rows() const { return columns.empty() ? 0 : ends.size() / columns.size(); }
  std::string_view cell(size_t row, size_t column) const {
    const size_t i = row * columns.size() + column;
    const uint32_t from = i == 0 ? 0 : ends[i - 1];
    return std::string_view(cells).substr(from, ends[i] - from);
  }
  // The longest value of `column`.
  size_t widest(size_t column) const;
  // Appends row `row` of `from` (same columns).
  void add_row(const DataSet& from, size_t row);
  bool operator==(const DataSet&) const = default;
};

// Where a column's values go: a path takes no spaces or control characters, a
// header value no CR, LF or NUL, a body anything; an integer field of a gRPC
// message a decimal integer (an optional '-' and 1 to 19 digits).
enum class FieldKind : uint8_t { kPath, kHeader, kBody, kInteger };
// Does `v` fit in a field of that kind?
bool fits_field(std::string_view v, FieldKind kind);
// The first row whose value of `column` does not fit, or rows() when all do.
size_t first_unfit_row(const DataSet& d, size_t column, FieldKind kind);

// `text` is the whole file; `what` names it in errors ("data.users (users.csv)").
// Errors say the line and what is wrong. A UTF-8 byte order mark is skipped;
// lines end in CRLF or LF; a file with no rows is an error.
Result<DataSet> read_csv(std::string_view text, const std::string& what);
// Each non-empty line one JSON object; strings are taken as they are, other
// values as their JSON text, null as empty. Columns: every key, in the order first seen.
Result<DataSet> read_jsonl(std::string_view text, const std::string& what);

}  // namespace horde
