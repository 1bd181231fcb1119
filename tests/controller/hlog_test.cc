// Tests for latency.hlog: V2 compressed encode/decode round trips, rejection of
// damaged input, the log header and line format, and a cross-check against an
// independent reader (hdr-histogram-js's HistogramLogReader, run with node).
#include "controller/hlog.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace horde {
namespace hlog_test {

Histogram random_histogram(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(2000.0 + 500.0 * double(seed % 7)), 1.2);
  Histogram h;
  for (size_t i = 0; i < n; ++i) h.record(static_cast<int64_t>(dist(rng)));
  if (seed % 3 == 0) h.record_n(Histogram::kHighestUs, 3);  // the top of the range
  if (seed % 4 == 0) h.record_n(0, uint64_t{1} << 40);      // a count needing many bytes
  return h;
}

// The encoding carries counts only: the decoded extremes are bucket edges.
Histogram with_exact_extremes(Histogram decoded, const Histogram& original) {
  decoded.merge_extremes(original.min(), original.max());
  return decoded;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("horde_hlog_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(Hlog, RoundTripsRandomHistograms) {
  for (uint64_t seed = 0; seed < 24; ++seed) {
    const Histogram h = random_histogram(seed, seed * 997);
    const std::string text = encode_compressed_base64(h);
    auto back = decode_compressed_base64(text);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->total_count(), h.total_count());
    EXPECT_TRUE(with_exact_extremes(*back, h) == h) << "seed " << seed;
    // Decoded extremes are the edges of the first and last non-empty buckets.
    if (!h.empty()) {
      EXPECT_EQ(back->min(), Histogram::lowest_equivalent(Histogram::index_for(h.min())));
      EXPECT_EQ(back->max(), std::min(Histogram::highest_equivalent(Histogram::index_for(h.max())),
                                      Histogram::kHighestUs));
    }
  }
}

TEST(Hlog, KnownEncodingHeader) {
  Histogram h;
  h.record(1000);
  const std::string text = encode_compressed_base64(h);
  // 0x1c849314 as the first 4 bytes in base64 starts with "HISTF".
  EXPECT_EQ(text.rfind("HISTF", 0), 0u) << text;
}

TEST(Hlog, RejectsDamagedInput) {
  Histogram h;
  for (int i = 1; i < 5000; i += 7) h.record(i);
  const std::string good = encode_compressed_base64(h);
  EXPECT_FALSE(decode_compressed_base64("").ok());
  EXPECT_FALSE(decode_compressed_base64("abc").ok());
  EXPECT_FALSE(decode_compressed_base64("!!!!").ok());
  EXPECT_FALSE(decode_compressed_base64("AAAAAAAAAAAA").ok());                   // wrong cookie
  EXPECT_FALSE(decode_compressed_base64(good.substr(0, good.size() - 8)).ok());  // truncated
  std::string flipped = good;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';  // corrupt the zlib stream
  EXPECT_FALSE(decode_compressed_base64(flipped).ok());
}

TEST(Hlog, WritesHeaderAndLinesAndReadsThemBack) {
  const std::string path = temp_path("rw.hlog");
  auto w = HlogWriter::open(path, 1700000000.25);
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::vector<Histogram> hs = {random_histogram(5, 1000), Histogram(), random_histogram(6, 300)};
  for (size_t i = 0; i < hs.size(); ++i) {
    ASSERT_TRUE(w->append(double(i), 1.0, hs[i]).ok());
  }
  EXPECT_FALSE(w->append(3, 1, hs[0], "bad tag").ok());
  ASSERT_TRUE(w->append(3, 1, hs[0], "phase-2").ok());
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  EXPECT_EQ(text.rfind("#[Histogram log format version 1.3]\n"
                       "#[StartTime: 1700000000.250 (seconds since epoch), Tue Nov 14 22:13:20 UTC "
                       "2023]\n#[BaseTime: 1700000000.250 (seconds since epoch)]\n",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                      "\"Interval_Compressed_Histogram\"\n"),
            std::string::npos);
  EXPECT_NE(text.find(fmt::format("\n0.000,1.000,{:.3f},HISTF", double(hs[0].max()) / 1000.0)),
            std::string::npos);
  EXPECT_NE(text.find("\n1.000,1.000,0.000,HISTF"), std::string::npos);  // an empty interval
  EXPECT_NE(text.find("\nTag=phase-2,3.000,1.000,"), std::string::npos);

  auto back = read_hlog(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const Histogram& want = hs[i % 3];
    EXPECT_DOUBLE_EQ((*back)[i].first, double(i));
    EXPECT_EQ((*back)[i].second.max(), want.max());  // exact, from Interval_Max
    EXPECT_TRUE(with_exact_extremes((*back)[i].second, want) == want);
  }
  std::filesystem::remove(path);
}

TEST(Hlog, ReadRejectsBadLines) {
  const std::string path = temp_path("bad.hlog");
  std::ofstream(path) << "#[Histogram log format version 1.3]\n0.000,1.000,2.000,notbase64\n";
  auto r = read_hlog(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(":2:"), std::string::npos) << r.error().message;
  std::ofstream(path) << "1.0,2.0\n";
  EXPECT_FALSE(read_hlog(path).ok());
  std::filesystem::remove(path);
  EXPECT_FALSE(read_hlog(path).ok());
}

// hdr-histogram-js reads our log: counts must agree exactly, percentiles
// within one bucket (it reports bucket edges, we cap at the exact max).
TEST(Hlog, HdrHistogramJsReadsOurLog) {
  const std::string js_dir = std::string(HORDE_SOURCE_DIR) + "/tests/js";
  if (std::system("node --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node is not installed; install nodejs to run the hdr-histogram-js cross-check";
  }
  if (!std::filesystem::exists(js_dir + "/node_modules/hdr-histogram-js")) {
    GTEST_SKIP() << "run `npm ci --prefix " << js_dir
                 << "` to install hdr-histogram-js for this cross-check";
  }
  const std::string path = temp_path("js.hlog");
  std::vector<Histogram> hs;
  {
    auto w = HlogWriter::open(path, 1700000000.0);
    ASSERT_TRUE(w.ok());
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      hs.push_back(random_histogram(seed, 20000 * seed));
      ASSERT_TRUE(w->append(double(seed - 1), 1.0, hs.back()).ok());
    }
  }
  const std::string cmd = "node " + js_dir + "/check_hlog.js " + path;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(pipe), 0) << out;
  const auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j.size(), hs.size());
  auto same_bucket = [](int64_t theirs, int64_t ours) {
    const size_t a = Histogram::index_for(theirs), b = Histogram::index_for(ours);
    return a == b || a == b + 1 || b == a + 1;
  };
  for (size_t i = 0; i < hs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_DOUBLE_EQ(j[i]["start_s"].get<double>(), 1700000000.0 + double(i));
    EXPECT_EQ(j[i]["total_count"].get<uint64_t>(), hs[i].total_count());
    for (const auto& [key, p] : {std::pair{"p50", 50.0}, std::pair{"p99", 99.0}}) {
      const auto theirs = j[i][key].get<int64_t>();
      const int64_t ours = hs[i].value_at_percentile(p);
      EXPECT_TRUE(same_bucket(theirs, ours)) << key << " js " << theirs << " horde " << ours;
    }
    EXPECT_TRUE(same_bucket(j[i]["max"].get<int64_t>(), hs[i].max()));
  }
  std::filesystem::remove(path);
}

}  // namespace hlog_test
}  // namespace horde
