#include "common/yaml_reader.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/text.h"

namespace horde {

static_assert(kMaxWorkloadBytes == 64 << 20, "the message below says 64 MiB");

using text::edit_distance;
using text::join;
using text::lower;
using text::parse_uint;
using text::quote;
using text::trim;

std::string yaml_describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    default:
      return "nothing";
  }
}

std::string yaml_child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string yaml_item(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool YamlReader::fail_with(Error e) {
  error_ = std::move(e);
  return false;
}

bool YamlReader::charge(const std::string& path, size_t bytes) {
  expanded_ += bytes;
  if (expanded_ <= kMaxWorkloadBytes) return true;
  return fail(path,
              "the workload grows past 64 MiB once YAML aliases are expanded (each use of an "
              "*alias counts its anchor's value again); expected a smaller workload: fewer "
              "aliases of large values, or a smaller value here");
}

bool YamlReader::fail(const std::string& path, const std::string& what) {
  error_ = Error{source_ + ": " + path + ": " + what};
  return false;
}

bool YamlReader::check_keys(const YAML::Node& map, const std::string& path,
                            std::initializer_list<const char*> allowed) {
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      return fail(path.empty() ? "top level" : path,
                  "got " + yaml_describe(kv.first) + " as a key; expected keys " + join(allowed));
    }
    const std::string key = kv.first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return fail(yaml_child(path, key), "given twice; give each key once");
    }
    seen.push_back(key);
    if (std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      continue;
    }
    std::string what = "unknown key;";
    size_t best = 3;
    const char* suggestion = nullptr;
    for (const char* a : allowed) {
      const size_t d = edit_distance(key, a);
      if (d < best) {
        best = d;
        suggestion = a;
      }
    }
    if (suggestion != nullptr) what += std::string(" did you mean \"") + suggestion + "\"?";
    what += " allowed keys: " + join(allowed);
    return fail(yaml_child(path, key), what);
  }
  return true;
}

bool YamlReader::read_scalar(const YAML::Node& n, const std::string& path,
                             const std::string& expected, std::string* out) {
  if (!n.IsScalar()) return fail(path, "got " + yaml_describe(n) + "; expected " + expected);
  // Plus what the workload holds for the value itself (a string, a vector entry).
  if (!charge(path, n.Scalar().size() + kValueCost)) return false;
  *out = n.Scalar();
  return true;
}

bool YamlReader::read_string(const YAML::Node& n, const std::string& path, std::string* out) {
  return read_scalar(n, path, "a string", out);
}

bool YamlReader::read_uint(const YAML::Node& n, const std::string& path, uint32_t lo, uint32_t hi,
                           uint32_t* out) {
  const std::string expected =
      "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  std::string s;
  if (!read_scalar(n, path, expected, &s)) return false;
  uint64_t v = 0;
  if (!parse_uint(trim(s), &v) || v < lo || v > hi) {
    return fail(path, "got " + quote(s) + "; expected " + expected);
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool YamlReader::read_millis(const YAML::Node& n, const std::string& path, Millis lo, Millis hi,
                             bool lo_inclusive, const std::string& expected, Millis* out) {
  std::string s;
  if (!read_scalar(n, path, expected, &s)) return false;
  auto d = parse_duration(s);
  if (!d) return fail(path, d.error().message);
  if (d->count() % 1000 != 0) {
    return fail(path, "got " + quote(s) + "; expected a whole number of milliseconds");
  }
  const Millis ms = std::chrono::duration_cast<Millis>(*d);
  if (ms < lo || (!lo_inclusive && ms == lo) || ms > hi) {
    return fail(path, "got " + quote(s) + "; expected " + expected);
  }
  *out = ms;
  return true;
}

bool YamlReader::read_url(const YAML::Node& n, const std::string& path, Url* out) {
  std::string s;
  if (!read_scalar(n, path, std::string("a URL string like ") + kUrlForm, &s)) return false;
  auto url = parse_url(s);
  if (!url) return fail(path, url.error().message);
  *out = std::move(url).value();
  return true;
}

bool YamlReader::read_bool(const YAML::Node& n, const std::string& path, bool* out) {
  std::string s;
  if (!read_scalar(n, path, "true or false", &s)) return false;
  const std::string b = lower(trim(s));
  if (b == "true" || b == "yes" || b == "on") {
    *out = true;
  } else if (b == "false" || b == "no" || b == "off") {
    *out = false;
  } else {
    return fail(path, "got " + quote(s) + "; expected true or false");
  }
  return true;
}

}  // namespace horde
