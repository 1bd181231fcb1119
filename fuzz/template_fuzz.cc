// libFuzzer target for the template parser and the data set readers: the
// first byte picks what the rest is (a request template, a CSV file or a JSONL
// file). Any input must give a template or data set or a clear error, never a
// crash, hang or exception; a template that parses and binds is also compiled
// and rendered against a small data set, and a data set that reads is
// rendered through a template of its first column.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/request_template.h"
#include "common/data_set.h"
#include "common/template.h"

namespace {

horde::DataSet small_set() {
  auto d = horde::read_csv("id,name\n1,ann\n\"2\",\"b, c\"\n", "fuzz.csv");
  horde::DataSet out = std::move(*d);
  out.name = "users";
  return out;
}

void render(const horde::DataSet& set, const std::string& path) {
  horde::WorkloadSlice s;
  s.targets = {horde::parse_url("http://127.0.0.1:9/").value()};
  s.data = {set};
  s.agent_name = "fuzz";
  horde::TemplateData data(s);
  horde::RequestSpec spec;
  spec.method = "POST";
  spec.path = "/x";
  spec.body = path;
  horde::RequestTemplate t(s.targets[0], spec, data);
  horde::RenderState state(data, 0, 1, 1);
  std::string out;
  for (int i = 0; i < 3; ++i) {
    if (!t.render(state, out)) break;
    if (out.size() > t.max_size()) __builtin_trap();  // the reserved bound holds
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto t = horde::parse_template(text);
      if (!t) return 0;
      const horde::DataSet set = small_set();
      if (!horde::bind_template(*t, {{set.name, set.columns}})) return 0;
      if (!t->is_static()) render(set, text);
      return 0;
    }
    case 1:
    case 2: {
      auto d = data[0] % 3 == 1 ? horde::read_csv(text, "fuzz") : horde::read_jsonl(text, "fuzz");
      if (!d) return 0;
      d->name = "d";
      if (d->cells.size() != (d->ends.empty() ? 0 : d->ends.back())) __builtin_trap();
      if (d->columns.empty()) return 0;  // e.g. JSONL of empty objects: no column to name
      const std::string path = "{{d." + d->columns[0] + "}}";
      auto t = horde::parse_template(path);  // a column named like no template can take
      if (!t || !horde::bind_template(*t, {{d->name, d->columns}})) return 0;
      render(*d, path);
      return 0;
    }
  }
  return 0;
}
