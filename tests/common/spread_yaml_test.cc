// The workload keys of where the load lands: resolve, dns_refresh, backend,
// spread_warning and sweep.require_even_spread, read, checked, carried in the
// slice and written back by to_json.
#include <gtest/gtest.h>

#include "common/wire.h"
#include "common/workload.h"

namespace horde {
namespace spread_yaml_test {

Result<Workload> parse(const std::string& extra) {
  return parse_workload("target: http://svc.test:8080/\n" + extra, "w.yaml");
}

TEST(SpreadYaml, DefaultsAndEveryKey) {
  auto d = parse("");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE(d->spread.resolve_first);
  EXPECT_EQ(d->spread.dns_refresh, Millis(30'000));
  EXPECT_EQ(d->spread.backend_header, "");
  EXPECT_DOUBLE_EQ(d->spread.spread_warning, 1.2);
  EXPECT_TRUE(d->sweep.require_even_spread);

  auto w = parse(
      "resolve: first\ndns_refresh: 5s\nbackend: {header: X-Served-By}\nspread_warning: 1.5\n"
      "sweep: {instances: [1, 2], scale_command: 'true {instances}', require_even_spread: "
      "false}\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->spread.resolve_first);
  EXPECT_EQ(w->spread.dns_refresh, Millis(5'000));
  EXPECT_EQ(w->spread.backend_header, "X-Served-By");
  EXPECT_DOUBLE_EQ(w->spread.spread_warning, 1.5);
  EXPECT_FALSE(w->sweep.require_even_spread);
  // to_json writes it all back, and it parses to the same workload.
  auto f = finalize_workload(*w, "w.yaml");
  ASSERT_TRUE(f.ok()) << f.error().message;
  const auto j = to_json(*f);
  EXPECT_EQ(j["resolve"], "first");
  EXPECT_EQ(j["dns_refresh"], "5s");
  EXPECT_EQ(j["backend"]["header"], "X-Served-By");
  auto back = parse_workload(j.dump(), "back.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->spread, f->spread);
  EXPECT_EQ(back->sweep.require_even_spread, false);
  auto zero = parse("dns_refresh: 0s\n");
  ASSERT_TRUE(zero.ok()) << zero.error().message;
  EXPECT_EQ(zero->spread.dns_refresh, Millis(0));
}

TEST(SpreadYaml, ErrorsNameTheKey) {
  for (const auto& [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"resolve: some\n", "resolve:"},
           {"dns_refresh: soon\n", "dns_refresh:"},
           {"backend: X-Served-By\n", "backend:"},
           {"backend: {header: 'X Served'}\n", "backend.header:"},
           {"backend: {header: X, other: 1}\n", "backend:"},
           {"spread_warning: 0.5\n", "spread_warning:"},
           {"sweep: {instances: [1], scale_command: 'x {instances}', require_even_spread: 2}\n",
            "sweep.require_even_spread:"}}) {
    auto w = parse(yaml);
    ASSERT_FALSE(w.ok()) << yaml;
    EXPECT_NE(w.error().message.find(key), std::string::npos) << w.error().message;
  }
}

TEST(SpreadYaml, TheSliceCarriesIt) {
  WorkloadSlice s;
  s.targets = {parse_url("http://svc.test/").value()};
  s.requests = {RequestSpec{}};
  s.spread.resolve_first = true;
  s.spread.dns_refresh = Millis(7'000);
  s.spread.backend_header = "X-Pod";
  s.first_connection = 42;
  v1::WorkloadSlice wire;
  to_wire(s, &wire);
  auto back = from_wire(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->spread, s.spread);
  EXPECT_EQ(back->first_connection, 42u);
  wire.set_backend_header("bad header");
  EXPECT_FALSE(from_wire(wire).ok());
}

}  // namespace spread_yaml_test
}  // namespace horde
