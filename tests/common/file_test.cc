// Result files are written whole or not at all (issue #14 item 9): on a full
// disk summary.json used to be left at 0 bytes. RLIMIT_FSIZE makes the write
// fail the way a full disk does, for this process only.
#include "common/file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace horde {
namespace file_test {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(AtomicFile, WritesTheWholeTextAndReplacesTheOldFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("horde-atomic-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "summary.json").string();
  ASSERT_TRUE(write_file_atomic(path, "old\n"));
  ASSERT_TRUE(write_file_atomic(path, "new\n"));
  EXPECT_EQ(slurp(path), "new\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);  // no temporary left behind
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, AFailedWriteLeavesThePreviousFileWhole) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("horde-atomic-full-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "summary.json").string();
  ASSERT_TRUE(write_file_atomic(path, "{\"run\": 1}\n"));

  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  rlimit small = old;
  small.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto written = write_file_atomic(path, std::string(4096, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("summary.json"), std::string::npos)
      << written.error().message;
  EXPECT_EQ(slurp(path), "{\"run\": 1}\n");  // the earlier file, whole
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

}  // namespace file_test
}  // namespace horde
