// Tests for the shared terminal (issue 17 item 5): a log line written while the
// live line is on screen clears it first and draws it again after, and lines
// written from several threads at once never split each other.
#include "controller/console.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace horde {
namespace console_test {

struct Memstream {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  std::string text() {
    std::fflush(f);
    return std::string(buf, size);
  }
  ~Memstream() {
    std::fclose(f);
    std::free(buf);
  }
};

TEST(Console, ALogLineClearsTheLiveLineAndDrawsItAgain) {
  Memstream live, log;
  console::draw_live(live.f, "phase 1 [##........] 2.0/10.0s");
  console::write_line(log.f, "2026-12-01T19:05:48.954 warn controller says stop");
  console::end_live();
  const std::string l = "phase 1 [##........] 2.0/10.0s";
  EXPECT_EQ(live.text(), "\r" + l + "\r" + std::string(l.size(), ' ') + "\r" + l + "\n");
  EXPECT_EQ(log.text(), "2026-12-01T19:05:48.954 warn controller says stop\n");
  // No live line: the log line alone.
  Memstream log2;
  console::write_line(log2.f, "x");
  EXPECT_EQ(log2.text(), "x\n");
}

TEST(Console, LinesFromManyThreadsStayWhole) {
  Memstream log;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        console::write_line(log.f, "[local-" + std::to_string(t) + "] line " + std::to_string(i) +
                                       " " + std::string(300, 'a' + t));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream in(log.text());
  size_t n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    ASSERT_GE(line.size(), 300u);
    const char c = line[7];  // "[local-N]", then the thread's own letter at the end
    EXPECT_EQ(line.back(), 'a' + (c - '0')) << line;
    EXPECT_EQ(line.find_first_not_of(line.back(), line.size() - 300), std::string::npos) << line;
  }
  EXPECT_EQ(n, 800u);
}

}  // namespace console_test
}  // namespace horde
