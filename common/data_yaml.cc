// `data:` - the data sets, read from their files here at the edge (relative to
// the workload file), and the check of every request template against them
// (check_templates, from finalize_workload once the protocol is known).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "common/template.h"
#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

namespace horde {

namespace {

using text::quote;

const std::initializer_list<const char*> kDataKeys = {"file", "mode"};

bool is_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// The file's bytes, at most kMaxDataBytes + 1 of them (the reader refuses more).
Result<std::string> slurp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Error{"cannot read " + quote(path) + ": " + std::strerror(errno)};
  std::string out;
  char buf[65536];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= kMaxDataBytes) {
    out.append(buf, got);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Error{"cannot read " + quote(path)};
  return out;
}

bool read_one(YamlReader& r, const std::string& name, const YAML::Node& n, const std::string& p,
              DataSet* d) {
  const std::string expected = "a map like {file: users.csv, mode: cycle}";
  if (!n.IsMap()) return r.fail(p, "got " + yaml_describe(n) + "; expected " + expected);
  if (!r.check_keys(n, p, kDataKeys)) return false;
  if (!n["file"]) {
    return r.fail(p + ".file", "missing; expected the path of a .csv or .jsonl file");
  }
  std::string file;
  DataMode mode = DataMode::kCycle;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (key == "file") {
      if (!r.read_string(kv.second, p + ".file", &file)) return false;
    } else if (key == "mode") {
      std::string m;
      if (!r.read_scalar(kv.second, p + ".mode", "cycle, random or unique", &m)) return false;
      if (!data_mode_from_name(text::lower(text::trim(m)), &mode)) {
        return r.fail(p + ".mode", "got " + quote(m) + "; expected cycle, random or unique");
      }
    }
  }
  const bool csv = file.ends_with(".csv");
  if (!csv && !file.ends_with(".jsonl")) {
    return r.fail(p + ".file", "got " + quote(file) +
                                   "; expected a .csv file (with a header row) or a .jsonl file "
                                   "(one JSON object a line)");
  }
  std::filesystem::path path(file);
  if (path.is_relative()) {
    const size_t slash = r.source().find_last_of('/');
    if (slash != std::string::npos) path = r.source().substr(0, slash + 1) + file;
  }
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  if (!ec) path = absolute.lexically_normal();
  auto bytes = slurp(path.string());
  if (!bytes) return r.fail(p + ".file", bytes.error().message);
  const std::string what = quote(path.string());
  auto set = csv ? read_csv(*bytes, what) : read_jsonl(*bytes, what);
  if (!set) return r.fail(p + ".file", set.error().message);
  *d = std::move(*set);
  d->name = name;
  d->file = path.string();
  d->mode = mode;
  return true;
}

}  // namespace

bool read_data_yaml(YamlReader& r, const YAML::Node& n, std::vector<DataSet>* out) {
  if (!n.IsMap()) {
    return r.fail("data", "got " + yaml_describe(n) +
                              "; expected a map of data set names to {file: F, mode: M}, like "
                              "{users: {file: users.csv}}");
  }
  if (n.size() > kMaxDataSets) {
    return r.fail("data", "got " + std::to_string(n.size()) + " data sets; expected at most " +
                              std::to_string(kMaxDataSets));
  }
  size_t total = 0;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      return r.fail("data", "got " + yaml_describe(kv.first) + " as a name; expected a string");
    }
    const std::string name = kv.first.Scalar();
    const std::string p = yaml_child("data", name);
    if (!is_name(name)) {
      return r.fail(p, "invalid data set name " + quote(name) +
                           "; expected 1 to 64 letters, digits, _ or - (it is used as "
                           "{{NAME.COLUMN}})");
    }
    for (const DataSet& d : *out) {
      if (d.name == name) return r.fail(p, "given twice; name each data set once");
    }
    DataSet d;
    if (!read_one(r, name, kv.second, p, &d)) return false;
    total += d.cells.size();
    if (total > kMaxDataBytes) {
      return r.fail(p, "the data sets' values add up to more than " +
                           std::to_string(kMaxDataBytes >> 20) +
                           " MiB (every agent holds its rows); use smaller files");
    }
    out->push_back(std::move(d));
  }
  // By name, as summary.json's workload lists them (so it reads back the same).
  std::sort(out->begin(), out->end(),
            [](const DataSet& a, const DataSet& b) { return a.name < b.name; });
  return true;
}

namespace {

// One field's template: parsed, bound to the data sets, and the values it may
// take checked against where it goes (a path takes no spaces or control
// characters, a header value no CR, LF or NUL).
Result<bool> check_field(const Workload& w, const std::string& src, const std::string& field,
                         const std::string& value, FieldKind kind,
                         const std::vector<DataColumns>& columns,
                         TemplateSyntax syntax = TemplateSyntax::kRequest) {
  if (!has_template(value)) return true;
  auto t = parse_template(value, syntax);
  if (!t) return Error{src + ": " + field + ": " + t.error().message};
  if (!fits_field(t->text, kind)) {
    return Error{src + ": " + field + ": got " + quote(value) +
                 (kind == FieldKind::kPath
                      ? " with spaces or control characters outside {{ }}; expected a "
                        "percent-encoded path like /search?q=a%20b"
                      : " with CR, LF or NUL; expected a single-line value")};
  }
  if (t->is_static()) return true;
  if (auto ok = bind_template(*t, columns); !ok) {
    return Error{src + ": " + field + ": " + ok.error().message};
  }
  const std::vector<bool> integer = integer_pieces(*t);
  for (size_t i = 0; i < t->pieces.size(); ++i) {
    const TemplatePiece& piece = t->pieces[i];
    if (piece.fn != TemplateFn::kData) continue;
    const DataSet& d = w.data[piece.set_index];
    const std::string slot = quote(fmt::format("{{{{{}.{}}}}}", piece.set, piece.column));
    if (const size_t line = d.first_missing[piece.column_index]; line != 0) {
      return Error{
          fmt::format("{}: {}: {}: line {} of {} has no {}; every row must have every "
                      "column a template uses",
                      src, field, slot, line, quote(d.file), quote(piece.column))};
    }
    const FieldKind where = integer[i] ? FieldKind::kInteger : kind;
    if (const size_t row = first_unfit_row(d, piece.column_index, where); row < d.rows()) {
      return Error{fmt::format(
          "{}: {}: {}: row {} of {} has {}{}", src, field, slot, row + 1, quote(d.file),
          quote(std::string(d.cell(row, piece.column_index))),
          where == FieldKind::kPath
              ? ", with spaces or control characters; a path needs them percent-encoded (a%20b)"
          : where == FieldKind::kInteger
              ? ", not an integer; an integer field of the message takes a decimal integer"
              : ", with CR, LF or NUL; a header value is one line")};
    }
  }
  return true;
}

}  // namespace

Result<bool> check_templates(const Workload& w, const std::string& src) {
  std::vector<DataColumns> columns;
  for (const DataSet& d : w.data) columns.push_back({d.name, d.columns});
  if (w.protocol == Protocol::kGrpc) {
    // The one request is the call: its message (made in protobuf syntax by
    // common/grpc_template.cc, so only its data values are checked here) and
    // its metadata.
    const RequestSpec& r = w.requests.front();
    if (auto ok = check_field(w, src, "grpc.message", r.body, FieldKind::kBody, columns,
                              TemplateSyntax::kProtobuf);
        !ok) {
      return ok;
    }
    for (const auto& [name, value] : r.headers) {
      if (auto ok = check_field(w, src, yaml_child("grpc.metadata", name), value,
                                FieldKind::kHeader, columns);
          !ok) {
        return ok;
      }
    }
  }
  for (size_t i = 0; w.protocol != Protocol::kGrpc && i < w.requests.size(); ++i) {
    const RequestSpec& r = w.requests[i];
    const std::string p = yaml_item("requests", i);
    if (auto ok = check_field(w, src, p + ".path", r.path, FieldKind::kPath, columns); !ok) {
      return ok;
    }
    for (const auto& [name, value] : r.headers) {
      if (auto ok = check_field(w, src, yaml_child(p + ".headers", name), value, FieldKind::kHeader,
                                columns);
          !ok) {
        return ok;
      }
    }
    if (auto ok = check_field(w, src, p + ".body", r.body, FieldKind::kBody, columns); !ok) {
      return ok;
    }
  }
  for (size_t i = 0; i < w.data.size(); ++i) {
    const DataSet& d = w.data[i];
    if (d.mode == DataMode::kUnique && (!w.sweep.agents.empty() || !w.sweep.rates.empty() ||
                                        !w.sweep.instances.empty() || w.capacity)) {
      return Error{src + ": data." + d.name +
                   ".mode: unique with a sweep or capacity search (several phases) is not "
                   "supported yet; use mode cycle or random, or run one phase"};
    }
  }
  return true;
}

}  // namespace horde
