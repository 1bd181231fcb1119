// Regression for a crash found by fuzz/workload_fuzz.cc: a workload with bytes
// that are not UTF-8 parsed, then summary.json's writer threw on them.
#include <gtest/gtest.h>

#include "common/workload.h"

namespace horde {
namespace workload_utf8_test {

TEST(WorkloadUtf8, InvalidUtf8IsAnErrorNamingTheByte) {
  const std::string text =
      "target: http://127.0.0.1:8080/\nrequests:\n  - {path: /, headers: {X: \"a\xfa\"}}\n";
  auto w = parse_workload(text, "w.yaml");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("UTF-8"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("w.yaml"), std::string::npos) << w.error().message;
}

TEST(WorkloadUtf8, RejectsOverlongSurrogateAndTruncatedSequences) {
  for (const std::string bad :
       {"name: \xc0\xaf\n", "name: \xed\xa0\x80\n", "name: \xe2\x82", "name: \xf4\x90\x80\x80\n"}) {
    EXPECT_FALSE(parse_workload("target: http://127.0.0.1/\n" + bad, "w.yaml")) << bad;
  }
}

TEST(WorkloadUtf8, AcceptsMultibyteTextAndItDumpsAsJson) {
  auto w = parse_workload(
      "name: caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x9a\x80\ntarget: http://127.0.0.1:8080/\n",
      "w.yaml");
  ASSERT_TRUE(w) << w.error().message;
  auto f = finalize_workload(*w, "w.yaml");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_NO_THROW((void)to_json(*f).dump());
}

}  // namespace workload_utf8_test
}  // namespace horde
