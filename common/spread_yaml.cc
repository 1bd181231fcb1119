// The top-level keys that say where the load lands: `resolve`, `dns_refresh`,
// `backend` and `spread_warning` (common/workload.h, SpreadSpec).
#include <yaml-cpp/yaml.h>

#include "common/text.h"
#include "common/workload_yaml.h"
#include "common/yaml_reader.h"

namespace horde {

using text::lower;
using text::parse_number;
using text::quote;
using text::trim;

bool read_spread_key(YamlReader& r, const std::string& key, const YAML::Node& v, SpreadSpec* s) {
  if (key == "resolve") {
    std::string text;
    if (!r.read_scalar(v, "resolve", "all or first", &text)) return false;
    const std::string how = lower(trim(text));
    if (how != "all" && how != "first") {
      return r.fail("resolve", "got " + quote(text) +
                                   "; expected all (every address of a name, connections round "
                                   "robin over them) or first (the first IPv4 address only)");
    }
    s->resolve_first = how == "first";
  } else if (key == "dns_refresh") {
    return r.read_millis(v, "dns_refresh", Millis(0), kMaxPhaseTime, true,
                         "a duration like 30s, or 0s to resolve only at each phase start",
                         &s->dns_refresh);
  } else if (key == "backend") {
    if (!v.IsMap() || v.size() != 1 || !v["header"]) {
      return r.fail("backend", "got " + yaml_describe(v) +
                                   "; expected {header: NAME}, the response header that names "
                                   "the instance (e.g. X-Served-By)");
    }
    if (!r.read_string(v["header"], "backend.header", &s->backend_header)) return false;
    if (!text::is_header_name(s->backend_header)) {
      return r.fail("backend.header", "got " + quote(s->backend_header) +
                                          "; expected a header name like X-Served-By");
    }
  } else if (key == "spread_warning") {
    double x = 0;
    if (!v.IsScalar() || !parse_number(v.Scalar(), &x) || x < 1 || x > 1000) {
      return r.fail("spread_warning", "got " + yaml_describe(v) +
                                          "; expected a number >= 1 (max share / mean share, "
                                          "e.g. 1.2)");
    }
    s->spread_warning = x;
  }
  return true;
}

}  // namespace horde
