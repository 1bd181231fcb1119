// Every workload a user copies from examples/ validates as it is (the check
// `horde validate` makes), so a rule change cannot leave an example behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/workload.h"

namespace horde {
namespace examples_test {

TEST(Examples, EveryWorkloadValidates) {
  int seen = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(HORDE_SOURCE_DIR) + "/examples")) {
    const std::string path = e.path().string();
    if (!path.ends_with(".yaml") && !path.ends_with(".yml") && !path.ends_with(".json")) continue;
    ++seen;
    auto w = load_workload_file(path);
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto f = finalize_workload(std::move(*w), path);
    EXPECT_TRUE(f.ok()) << f.error().message;
  }
  EXPECT_GE(seen, 3);
}

}  // namespace examples_test
}  // namespace horde
