#include "common/data_set.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/text.h"

namespace horde {

namespace {

using text::quote;

std::string_view skip_bom(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

Error at_line(const std::string& what, size_t line, const std::string& message) {
  return Error{what + ": line " + std::to_string(line) + ": " + message};
}

// RFC 4180 records: fields split by commas, records by CRLF or LF, a field in
// double quotes may hold commas, line breaks and "" (one quote). Calls
// `record(line, fields)` for each non-blank record; stops at its error.
template <typename OnRecord>
Result<bool> csv_records(std::string_view s, const std::string& what, OnRecord record) {
  std::vector<std::string> fields;
  std::string field;
  size_t line = 1;
  size_t record_line = 1;
  size_t i = 0;
  bool blank = true;  // nothing in this record yet
  auto end_record = [&]() -> Result<bool> {
    fields.push_back(std::move(field));
    field.clear();
    Result<bool> ok = true;
    if (!(blank && fields.size() == 1)) ok = record(record_line, fields);
    fields.clear();
    blank = true;
    record_line = line;
    return ok;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' && field.empty() && (blank || s[i - 1] == ',')) {
      blank = false;
      // A quoted field, to its closing quote.
      ++i;
      for (;;) {
        if (i >= s.size()) {
          return at_line(what, record_line,
                         "a quoted field is not closed; end it with \" (write \"\" for a quote "
                         "inside it)");
        }
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (s[i] == '\n') ++line;
        field += s[i++];
      }
      if (i < s.size() && s[i] != ',' && s[i] != '\n' &&
          !(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) {
        return at_line(what, line,
                       "text after a quoted field's closing quote; expected a comma or the end "
                       "of the line (write \"\" for a quote inside a quoted field)");
      }
      continue;
    }
    if (c == ',') {
      blank = false;
      fields.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (c == '\n' || (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      ++line;
      if (auto ok = end_record(); !ok) return ok.error();
      continue;
    }
    if (c == '"') {
      return at_line(what, line,
                     "a quote inside an unquoted field; quote the whole field and double the "
                     "quote (\"a \"\"b\"\"\")");
    }
    blank = false;
    field += c;
    ++i;
  }
  if (!blank || !field.empty()) {
    if (auto ok = end_record(); !ok) return ok.error();
  }
  return true;
}

void add_cell(DataSet& d, std::string_view v) {
  d.cells.append(v);
  d.ends.push_back(static_cast<uint32_t>(d.cells.size()));
}

Result<bool> check_columns(const DataSet& d, const std::string& what, size_t line) {
  if (d.columns.size() > kMaxDataColumns) {
    return at_line(what, line,
                   "more than " + std::to_string(kMaxDataColumns) + " columns; use fewer");
  }
  return true;
}

Result<bool> check_size(std::string_view text, const std::string& what) {
  if (text.size() > kMaxDataBytes) {
    return Error{what + ": " + std::to_string(text.size()) +
                 " bytes; a data file may hold at most " + std::to_string(kMaxDataBytes >> 20) +
                 " MiB (and all data sets together too)"};
  }
  return true;
}

}  // namespace

const char* data_mode_name(DataMode m) {
  switch (m) {
    case DataMode::kCycle:
      return "cycle";
    case DataMode::kRandom:
      return "random";
    case DataMode::kUnique:
      return "unique";
  }
  return "cycle";
}

bool data_mode_from_name(std::string_view name, DataMode* out) {
  for (DataMode m : {DataMode::kCycle, DataMode::kRandom, DataMode::kUnique}) {
    if (name == data_mode_name(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

bool fits_field(std::string_view v, FieldKind kind) {
  switch (kind) {
    case FieldKind::kPath:
      return !text::has_space_or_control(v);
    case FieldKind::kHeader:
      return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
    case FieldKind::kBody:
      break;
    case FieldKind::kInteger: {
      if (!v.empty() && v.front() == '-') v.remove_prefix(1);
      return !v.empty() && v.size() <= 19 &&
             std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    }
  }
  return true;
}

size_t first_unfit_row(const DataSet& d, size_t column, FieldKind kind) {
  if (kind == FieldKind::kBody) return d.rows();
  for (size_t r = 0; r < d.rows(); ++r) {
    if (!fits_field(d.cell(r, column), kind)) return r;
  }
  return d.rows();
}

size_t DataSet::widest(size_t column) const {
  size_t most = 0;
  for (size_t r = 0; r < rows(); ++r) most = std::max(most, cell(r, column).size());
  return most;
}

void DataSet::add_row(const DataSet& from, size_t row) {
  for (size_t c = 0; c < columns.size(); ++c) add_cell(*this, from.cell(row, c));
}

Result<DataSet> read_csv(std::string_view text, const std::string& what) {
  if (auto ok = check_size(text, what); !ok) return ok.error();
  text = skip_bom(text);
  DataSet d;
  bool header = true;
  auto ok = csv_records(text, what, [&](size_t line, const std::vector<std::string>& fields) {
    if (header) {
      header = false;
      for (const auto& name : fields) {
        if (name.empty()) {
          return Result<bool>(at_line(what, line,
                                      "column " + std::to_string(d.columns.size() + 1) +
                                          " of the header row has no name; the first row names "
                                          "the columns"));
        }
        if (std::find(d.columns.begin(), d.columns.end(), name) != d.columns.end()) {
          return Result<bool>(at_line(what, line, "column " + quote(name) + " named twice"));
        }
        d.columns.push_back(name);
      }
      return check_columns(d, what, line);
    }
    if (fields.size() != d.columns.size()) {
      return Result<bool>(at_line(what, line,
                                  "has " + std::to_string(fields.size()) +
                                      " fields; the header "
                                      "row has " +
                                      std::to_string(d.columns.size()) +
                                      " columns (quote a value that holds a comma)"));
    }
    for (const auto& f : fields) add_cell(d, f);
    return Result<bool>(true);
  });
  if (!ok) return ok.error();
  if (d.columns.empty()) {
    return Error{what + ": empty; expected a header row naming the columns, then one row per line"};
  }
  if (d.rows() == 0) return Error{what + ": a header row but no rows; add at least one row"};
  d.first_missing.assign(d.columns.size(), 0);
  return d;
}

Result<DataSet> read_jsonl(std::string_view text, const std::string& what) {
  if (auto ok = check_size(text, what); !ok) return ok.error();
  text = skip_bom(text);
  DataSet d;
  // Rows are kept as their values per column until every key is known.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> present;
  size_t line = 0;
  size_t at = 0;
  while (at <= text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view s = text.substr(at, nl - at);
    at = nl + 1;
    ++line;
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    if (text::trim(s).empty()) {
      if (nl == text.size()) break;
      continue;
    }
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(s, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return at_line(what, line, "expected one JSON object per line, like {\"id\": 1}");
    }
    std::vector<std::string> values(d.columns.size());
    std::vector<bool> has(d.columns.size(), false);
    for (auto it = j.begin(); it != j.end(); ++it) {
      auto col = std::find(d.columns.begin(), d.columns.end(), it.key());
      size_t c = static_cast<size_t>(col - d.columns.begin());
      if (col == d.columns.end()) {
        d.columns.push_back(it.key());
        if (auto ok = check_columns(d, what, line); !ok) return ok.error();
        values.emplace_back();
        has.push_back(false);
      }
      const auto& v = it.value();
      values[c] = v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
      has[c] = true;
    }
    rows.push_back(std::move(values));
    present.push_back(std::move(has));
    if (nl == text.size()) break;
  }
  if (rows.empty()) return Error{what + ": no rows; expected one JSON object per line"};
  d.first_missing.assign(d.columns.size(), 0);
  // The lines of the rows, for first_missing: count again (blank lines are skipped).
  std::vector<size_t> row_line;
  {
    size_t ln = 0;
    size_t pos = 0;
    while (pos <= text.size() && row_line.size() < rows.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      ++ln;
      std::string_view s = text.substr(pos, nl - pos);
      if (!text::trim(s).empty()) row_line.push_back(ln);
      pos = nl + 1;
    }
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < d.columns.size(); ++c) {
      const bool has = c < present[r].size() && present[r][c];
      if (!has && d.first_missing[c] == 0) d.first_missing[c] = row_line[r];
      add_cell(d, c < rows[r].size() ? std::string_view(rows[r][c]) : std::string_view());
    }
  }
  return d;
}

}  // namespace horde
