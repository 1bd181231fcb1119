#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/template.h"
#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

// `requests:` - method, path, headers, body and weight of each request, with
// the checks that keep them one well-formed HTTP request line and header block.

namespace horde {

namespace {

using text::has_space_or_control;
using text::join;
using text::lower;
using text::quote;
using text::trim;
using text::upper;

const std::initializer_list<const char*> kRequestKeys = {"name", "method", "path",  "headers",
                                                         "body", "weight", "expect"};
constexpr size_t kMaxNameBytes = 100;
const std::initializer_list<const char*> kMethods = {"GET",   "POST", "PUT",    "DELETE",
                                                     "PATCH", "HEAD", "OPTIONS"};
constexpr uint32_t kMaxWeight = 1'000'000;

bool read_headers(YamlReader& r, const YAML::Node& n, const std::string& path, RequestSpec* spec) {
  if (!n.IsMap()) {
    return r.fail(path, "got " + yaml_describe(n) +
                            "; expected a map of header names to values, "
                            "like {Accept: application/json}");
  }
  std::vector<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      return r.fail(path,
                    "got " + yaml_describe(kv.first) + " as a header name; expected a string");
    }
    const std::string name = kv.first.Scalar();
    const std::string p = yaml_child(path, name);
    if (name.find_first_of("\r\n") != std::string::npos) {
      return r.fail(path + "." + quote(name),
                    "header name contains CR or LF; expected a single-line header name");
    }
    const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    });
    if (!token) {
      return r.fail(p, "invalid header name " + quote(name) +
                           "; expected letters, digits and !#$%&'*+-.^_`|~");
    }
    const std::string lname = lower(name);
    if (std::find(seen.begin(), seen.end(), lname) != seen.end()) {
      return r.fail(p, "given twice; give each header once");
    }
    seen.push_back(lname);
    if (lname == "host") {
      return r.fail(p, "set by the engine from the target URL; remove it");
    }
    if (lname == "content-length") {
      return r.fail(p, "set by the engine from the body; remove it");
    }
    if (lname == "transfer-encoding") {
      return r.fail(p, "not supported; the engine sends bodies with Content-Length, remove it");
    }
    std::string value;
    if (!r.read_scalar(kv.second, p, "a string value", &value)) return false;
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return r.fail(p, "value contains CR, LF or NUL; expected a single-line value");
    }
    spec->headers.emplace_back(name, std::move(value));
  }
  return true;
}

// `expect.status: [200, 404, 2xx]`: codes 100..599 or classes 1xx..5xx,
// expanded into the sorted list of codes that count as a success.
bool read_expect_status(YamlReader& r, const YAML::Node& st, const std::string& p,
                        RequestSpec* spec) {
  std::vector<YAML::Node> items;
  if (st.IsSequence()) {
    for (const auto& item : st) items.push_back(item);
  } else {
    items.push_back(st);
  }
  if (items.empty()) return r.fail(p, "an empty list; expected at least one code, like [200]");
  std::vector<uint16_t> codes;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string ip = st.IsSequence() ? yaml_item(p, i) : p;
    std::string v;
    if (!r.read_scalar(items[i], ip, "a status code like 200 or a class like 2xx", &v))
      return false;
    v = lower(trim(v));
    if (v.size() == 3 && v[0] >= '1' && v[0] <= '5' && v.substr(1) == "xx") {
      const auto first = static_cast<uint16_t>((v[0] - '0') * 100);
      for (uint16_t c = first; c < first + 100; ++c) codes.push_back(c);
      continue;
    }
    const bool digits = v.size() == 3 && std::all_of(v.begin(), v.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
    const int code = digits ? std::stoi(v) : 0;
    if (code < 100 || code > 599) {
      return r.fail(ip,
                    "got " + quote(v) + "; expected a status code 100..599 or a class 1xx..5xx");
    }
    codes.push_back(static_cast<uint16_t>(code));
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  spec->expect_status = std::move(codes);
  return true;
}

// `expect: {status: [200, 404, 2xx], body_contains: TEXT}`: either or both.
bool read_expect(YamlReader& r, const YAML::Node& n, const std::string& path, RequestSpec* spec) {
  const std::string form =
      "a map like {status: [200, 404]} (codes, or classes like 2xx) and/or {body_contains: ok}";
  if (!n.IsMap() || n.size() == 0) {
    return r.fail(path, "got " + yaml_describe(n) + "; expected " + form);
  }
  if (!r.check_keys(n, path, {"status", "body_contains"})) return false;
  if (const YAML::Node& st = n["status"]) {
    if (!read_expect_status(r, st, yaml_child(path, "status"), spec)) return false;
  }
  if (const YAML::Node& b = n["body_contains"]) {
    const std::string p = yaml_child(path, "body_contains");
    const std::string expected =
        fmt::format("the text a good response's body contains (1 to {} bytes)", kMaxBodyContains);
    if (!r.read_scalar(b, p, expected, &spec->expect_body)) return false;
    if (spec->expect_body.empty() || spec->expect_body.size() > kMaxBodyContains) {
      return r.fail(p,
                    fmt::format("got {} bytes; expected {}", spec->expect_body.size(), expected));
    }
  }
  return true;
}

}  // namespace

bool read_requests_yaml(YamlReader& r, const YAML::Node& n, Workload* w) {
  const std::string expected_item = "a map like {method: GET, path: /items, weight: 1}";
  if (!n.IsSequence() || n.size() == 0) {
    return r.fail("requests",
                  "got " + (n.IsSequence() ? std::string("an empty list") : yaml_describe(n)) +
                      "; expected a list of " + expected_item +
                      " (leave requests out for one GET of the target URL)");
  }
  if (n.size() > kMaxRequests) {
    return r.fail("requests", "got " + std::to_string(n.size()) + " requests; expected at most " +
                                  std::to_string(kMaxRequests) +
                                  " (every agent holds each one); give fewer requests");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string path = yaml_item("requests", i);
    const YAML::Node& req = n[i];
    if (!req.IsMap())
      return r.fail(path, "got " + yaml_describe(req) + "; expected " + expected_item);
    if (!r.check_keys(req, path, kRequestKeys)) return false;
    RequestSpec spec;
    for (const auto& kv : req) {
      const std::string key = kv.first.Scalar();
      const std::string p = yaml_child(path, key);
      if (key == "method") {
        std::string m;
        if (!r.read_scalar(kv.second, p, "one of " + join(kMethods), &m)) return false;
        spec.method = upper(trim(m));
        if (std::none_of(kMethods.begin(), kMethods.end(),
                         [&](const char* a) { return spec.method == a; })) {
          return r.fail(p, "got " + quote(m) + "; expected one of " + join(kMethods));
        }
      } else if (key == "path") {
        const std::string expected = "a path starting with '/', like /items?id=1";
        if (!r.read_scalar(kv.second, p, expected, &spec.path)) return false;
        // "" is the default (the target URL's own path), so to_json output parses back.
        if (!spec.path.empty() && spec.path.front() != '/') {
          return r.fail(p, "got " + quote(spec.path) + "; expected " + expected);
        }
        // A template's literal text is checked with its slots (check_templates).
        if (!has_template(spec.path) && has_space_or_control(spec.path)) {
          return r.fail(p, "got " + quote(spec.path) +
                               " with spaces or control characters; expected a percent-encoded "
                               "path like /search?q=a%20b");
        }
      } else if (key == "headers") {
        if (!read_headers(r, kv.second, p, &spec)) return false;
      } else if (key == "body") {
        if (!r.read_scalar(kv.second, p, "a string (quote JSON bodies: body: '{\"a\": 1}')",
                           &spec.body)) {
          return false;
        }
      } else if (key == "weight") {
        if (!r.read_uint(kv.second, p, 1, kMaxWeight, &spec.weight)) return false;
      } else if (key == "name") {
        const std::string expected = "a name like login (1 to 100 characters, one line)";
        if (!r.read_scalar(kv.second, p, expected, &spec.name)) return false;
        spec.name = std::string(trim(spec.name));
        if (spec.name.empty() || spec.name.size() > kMaxNameBytes ||
            std::any_of(spec.name.begin(), spec.name.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
          return r.fail(p, "got " + quote(spec.name) + "; expected " + expected);
        }
      } else if (key == "expect") {
        if (!read_expect(r, kv.second, p, &spec)) return false;
      }
    }
    if (spec.method == "HEAD" && !spec.expect_body.empty()) {
      return r.fail(yaml_child(yaml_child(path, "expect"), "body_contains"),
                    "a response to HEAD has no body; expected no body_contains on a HEAD request");
    }
    w->requests.push_back(std::move(spec));
  }
  return true;
}

}  // namespace horde
