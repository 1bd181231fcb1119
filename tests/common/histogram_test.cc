#include "common/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace horde {
namespace histogram_test {

// Truth computed another way: the exact sample of rank ceil(p/100 * n) (at
// least 1) in the sorted data, the same rank definition the histogram uses.
int64_t exact_percentile(std::vector<int64_t> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  double r = std::ceil(exact - exact * 1e-12);
  size_t rank = r < 1 ? 1 : static_cast<size_t>(r);
  rank = std::min(rank, sorted.size());
  return sorted[rank - 1];
}

int64_t clamped(int64_t v) { return std::clamp<int64_t>(v, 0, Histogram::kHighestUs); }

const double kPercentiles[] = {0,   0.1,     1,       10,   25,   50,    75,
                               90,  95,      99,      99.5, 99.9, 99.99, 99.999,
                               100, 33.3333, 66.6667, 12.5, 87.5, 99.95, 50.0001};

void expect_matches_exact(const std::vector<int64_t>& raw, const char* label) {
  SCOPED_TRACE(label);
  Histogram h;
  std::vector<int64_t> data;
  data.reserve(raw.size());
  for (int64_t v : raw) {
    h.record(v);
    data.push_back(clamped(v));
  }
  ASSERT_EQ(h.total_count(), data.size());
  EXPECT_EQ(h.min(), *std::min_element(data.begin(), data.end()));
  EXPECT_EQ(h.max(), *std::max_element(data.begin(), data.end()));
  for (double p : kPercentiles) {
    const int64_t want = exact_percentile(data, p);
    const int64_t got = h.value_at_percentile(p);
    // The histogram reports the top of the bucket, never below the true sample.
    EXPECT_GE(got, want) << "p" << p;
    EXPECT_LE(static_cast<double>(got - want), 0.001 * static_cast<double>(want))
        << "p" << p << " want " << want << " got " << got;
  }
  long double sum = 0;
  for (int64_t v : data) sum += v;
  const double exact_mean = static_cast<double>(sum / data.size());
  EXPECT_NEAR(h.mean(), exact_mean, 0.001 * exact_mean + 1e-9);
}

TEST(HistogramTest, LayoutMatchesHdrHistogram) {
  Histogram h;
  // (bucket_count + 1) * sub_bucket_half_count with 22 buckets and 1024 half count.
  EXPECT_EQ(h.bucket_count(), 23552u);
  EXPECT_EQ(Histogram::index_for(0), 0u);
  EXPECT_EQ(Histogram::index_for(1), 1u);
  EXPECT_EQ(Histogram::index_for(2047), 2047u);
  EXPECT_EQ(Histogram::index_for(2048), 2048u);
  EXPECT_EQ(Histogram::index_for(2049), 2048u);
  EXPECT_EQ(Histogram::index_for(4095), 3071u);
  EXPECT_EQ(Histogram::index_for(4096), 3072u);
  // 3.6e9 sits in bucket 21 at sub-bucket 3.6e9 >> 21 = 1716.
  EXPECT_EQ(Histogram::index_for(Histogram::kHighestUs), size_t(22 << 10) + 1716 - 1024);
  EXPECT_EQ(Histogram::lowest_equivalent(3072), 4096);
  EXPECT_EQ(Histogram::highest_equivalent(3072), 4099);
  EXPECT_EQ(Histogram::highest_equivalent(2047), 2047);
  EXPECT_LT(Histogram::index_for(Histogram::kHighestUs), h.bucket_count());
}

TEST(HistogramTest, IndexingAgreesWithHdrReferenceFormula) {
  // HdrHistogram's index computation written out the slow, obvious way.
  auto reference = [](int64_t v) -> size_t {
    int bucket = 0;
    while ((v >> bucket) >= 2048) ++bucket;
    const int64_t sub = v >> bucket;
    if (bucket == 0) return size_t(sub);
    return size_t((bucket + 1) << 10) + size_t(sub - 1024);
  };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const int64_t v = int64_t(rng() % uint64_t(Histogram::kHighestUs + 1));
    ASSERT_EQ(Histogram::index_for(v), reference(v)) << v;
  }
  for (int b = 0; b < 32; ++b) {
    for (int64_t d : {-1, 0, 1}) {
      const int64_t v = (int64_t{1} << b) + d;
      if (v < 0 || v > Histogram::kHighestUs) continue;
      ASSERT_EQ(Histogram::index_for(v), reference(v)) << v;
    }
  }
}

TEST(HistogramTest, BucketBoundariesAreConsistent) {
  Histogram h;
  const size_t last = Histogram::index_for(Histogram::kHighestUs);
  for (size_t i = 0; i <= last; ++i) {
    const int64_t lo = Histogram::lowest_equivalent(i);
    const int64_t hi = Histogram::highest_equivalent(i);
    ASSERT_LE(lo, hi) << i;
    ASSERT_EQ(Histogram::index_for(lo), i) << i;
    if (hi <= Histogram::kHighestUs) {
      ASSERT_EQ(Histogram::index_for(hi), i) << i;
    }
    if (i > 0) {
      ASSERT_EQ(Histogram::highest_equivalent(i - 1) + 1, lo) << i;
    }
    // Three significant digits: a bucket is at most 1/1024 of its lower edge wide.
    if (lo > 0) {
      ASSERT_LE(double(hi - lo), double(lo) / 1024.0) << i;
    }
  }
  // Every index of the array maps to a value range, even the unreachable tail.
  for (size_t i = last; i < h.bucket_count(); ++i) {
    ASSERT_EQ(Histogram::highest_equivalent(i - 1) + 1, Histogram::lowest_equivalent(i));
  }
}

TEST(HistogramTest, EmptyHistogram) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.total_count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.value_at_percentile(50), 0);
  EXPECT_EQ(h, Histogram());
}

TEST(HistogramTest, UniformRandom) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> d(1, 5'000'000);
  std::vector<int64_t> v(100000);
  for (auto& x : v) x = d(rng);
  expect_matches_exact(v, "uniform");
}

TEST(HistogramTest, LogUniformOneMicrosecondToOneHour) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> d(0, std::log(double(Histogram::kHighestUs)));
  std::vector<int64_t> v(100000);
  for (auto& x : v) x = int64_t(std::exp(d(rng)));
  expect_matches_exact(v, "log-uniform");
}

TEST(HistogramTest, Exponential) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> d(1.0 / 2500.0);  // mean 2.5 ms
  std::vector<int64_t> v(100000);
  for (auto& x : v) x = int64_t(d(rng));
  expect_matches_exact(v, "exponential");
}

TEST(HistogramTest, AdversarialData) {
  expect_matches_exact({12345}, "single sample");
  expect_matches_exact(std::vector<int64_t>(1000, 777777), "all one value");
  expect_matches_exact(std::vector<int64_t>(10, 0), "all zero");
  {
    std::vector<int64_t> v(999, 3);
    v.push_back(3'000'000'000);
    expect_matches_exact(v, "two far-apart values, one outlier");
  }
  {
    std::vector<int64_t> v;
    for (int i = 0; i < 500; ++i) v.push_back(10);
    for (int i = 0; i < 500; ++i) v.push_back(1'000'000'000);
    expect_matches_exact(v, "two far-apart values, even split");
  }
  {
    std::vector<int64_t> v;
    for (int b = 0; b < 32; ++b) {
      for (int64_t d : {-1, 0, 1}) v.push_back((int64_t{1} << b) + d);
    }
    expect_matches_exact(v, "every power-of-two boundary");
  }
  expect_matches_exact({0, -5, -1'000'000, 7}, "negative values record as 0");
  expect_matches_exact({Histogram::kHighestUs + 1, int64_t{1} << 40, INT64_MAX, 5},
                       "above one hour clamps");
  expect_matches_exact({INT64_MIN, INT64_MAX}, "extreme int64 values");
}

TEST(HistogramTest, ClampingIsVisibleInExtremes) {
  Histogram h;
  h.record(-42);
  h.record(Histogram::kHighestUs * 2);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), Histogram::kHighestUs);
  EXPECT_EQ(h.value_at_percentile(100), Histogram::kHighestUs);
  EXPECT_EQ(h.value_at_percentile(0), 0);
}

TEST(HistogramTest, PercentileNeverExceedsMaxOrRanksBelowOne) {
  Histogram h;
  h.record(10001);  // bucket [10000, 10007]
  EXPECT_EQ(h.value_at_percentile(100), 10001);
  EXPECT_EQ(h.value_at_percentile(0), 10001);
  EXPECT_EQ(h.value_at_percentile(-3), 10001);
  EXPECT_EQ(h.value_at_percentile(250), 10001);
  EXPECT_EQ(h.mean(), 10001);
}

TEST(HistogramTest, RankRoundingAtExactProducts) {
  // 99.9% of 1000 samples is rank 999 exactly, not 1000 (floating point gives
  // 999.0000000000001 for the naive product).
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.record(i);
  EXPECT_EQ(h.value_at_percentile(99.9), 999);
  EXPECT_EQ(h.value_at_percentile(50), 500);
  EXPECT_EQ(h.value_at_percentile(50.05), 501);
  EXPECT_EQ(h.value_at_percentile(0.1), 1);
  EXPECT_EQ(h.value_at_percentile(0.2), 2);
}

TEST(HistogramTest, RecordNCountsSamples) {
  Histogram a, b;
  a.record_n(5000, 3);
  a.record_n(9, 0);  // no samples: leaves extremes alone
  for (int i = 0; i < 3; ++i) b.record(5000);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.total_count(), 3u);
  EXPECT_EQ(a.min(), 5000);
}

TEST(HistogramTest, MergingRandomPartsEqualsWhole) {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> logd(0, std::log(double(Histogram::kHighestUs)));
  for (int k = 2; k <= 8; ++k) {
    SCOPED_TRACE(k);
    std::vector<int64_t> sample(20000 + k * 1000);
    for (auto& x : sample) x = int64_t(std::exp(logd(rng))) - 2;  // a few negatives too
    Histogram whole;
    for (int64_t v : sample) whole.record(v);
    // Arbitrary split: each sample goes to a random part.
    std::vector<Histogram> parts(static_cast<size_t>(k));
    std::uniform_int_distribution<int> pick(0, k - 1);
    for (int64_t v : sample) parts[size_t(pick(rng))].record(v);
    Histogram merged;
    for (const auto& p : parts) merged.add(p);
    EXPECT_EQ(merged, whole);
    EXPECT_EQ(merged.value_at_percentile(99.9), whole.value_at_percentile(99.9));
  }
}

TEST(HistogramTest, MergingCleanSplitIsOperatorEqual) {
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> expd(1.0 / 40000.0);
  for (int k = 2; k <= 8; ++k) {
    SCOPED_TRACE(k);
    std::vector<int64_t> sample(30000);
    for (auto& x : sample) x = int64_t(expd(rng));
    sample[123] = Histogram::kHighestUs + 99;  // clamped outlier
    sample[456] = -7;                          // clamped to 0
    Histogram whole;
    for (int64_t v : sample) whole.record(v);

    // Random contiguous cut points, so parts have arbitrary (possibly zero) sizes.
    std::vector<size_t> cuts{0, sample.size()};
    std::uniform_int_distribution<size_t> pos(0, sample.size());
    for (int i = 0; i < k - 1; ++i) cuts.push_back(pos(rng));
    std::sort(cuts.begin(), cuts.end());
    Histogram merged;
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      Histogram part;
      for (size_t i = cuts[c]; i < cuts[c + 1]; ++i) part.record(sample[i]);
      merged.add(part);
    }
    EXPECT_EQ(merged, whole);
    EXPECT_EQ(merged.value_at_percentile(99), whole.value_at_percentile(99));
    EXPECT_EQ(merged.mean(), whole.mean());
  }
}

TEST(HistogramTest, AddIsCommutativeAndEmptyIsIdentity) {
  Histogram a, b, empty;
  a.record(10);
  a.record(1'000'000);
  b.record(3);
  Histogram ab = a, ba = b;
  ab.add(b);
  ba.add(a);
  EXPECT_EQ(ab, ba);
  Histogram a2 = a;
  a2.add(empty);
  EXPECT_EQ(a2, a);
  Histogram e2;
  e2.add(a);
  EXPECT_EQ(e2, a);
  EXPECT_EQ(ab.min(), 3);
  EXPECT_EQ(ab.max(), 1'000'000);
}

TEST(HistogramTest, ResetEmptiesEverything) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.record(i * 997);
  h.reset();
  EXPECT_EQ(h, Histogram());
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  h.record(42);
  EXPECT_EQ(h.min(), 42);
  EXPECT_EQ(h.max(), 42);
}

TEST(HistogramTest, AddAtBoundsAndDecodeRoundTrip) {
  Histogram h;
  EXPECT_FALSE(h.add_at(h.bucket_count(), 1));
  EXPECT_FALSE(h.add_at(size_t(-1), 1));
  EXPECT_TRUE(h.empty());
  EXPECT_TRUE(h.add_at(h.bucket_count() - 1, 1));
  EXPECT_TRUE(h.add_at(0, 0));
  EXPECT_EQ(h.total_count(), 1u);
  // Without exact extremes the bucket edges bound them, capped at one hour.
  EXPECT_LE(h.max(), Histogram::kHighestUs);

  // Decoding bucket by bucket, then setting the exact extremes, gives back
  // exactly the original (what the wire codec does).
  std::mt19937_64 rng(6);
  std::lognormal_distribution<double> d(8, 2);
  Histogram original;
  for (int i = 0; i < 50000; ++i) original.record(int64_t(d(rng)));
  Histogram decoded;
  for (size_t i = 0; i < original.bucket_count(); ++i) {
    if (original.count_at(i) != 0) {
      ASSERT_TRUE(decoded.add_at(i, original.count_at(i)));
    }
  }
  EXPECT_LE(decoded.min(), original.min());
  EXPECT_GE(decoded.max(), original.max());
  decoded.merge_extremes(original.min(), original.max());
  EXPECT_EQ(decoded, original);

  Histogram empty;
  empty.merge_extremes(5, 10);  // keeps the empty extremes
  EXPECT_EQ(empty, Histogram());
}

TEST(HistogramTest, EqualityLooksAtExtremes) {
  Histogram a, b;
  a.record(10000);  // same bucket as 10001
  b.record(10001);
  EXPECT_EQ(Histogram::index_for(10000), Histogram::index_for(10001));
  EXPECT_FALSE(a == b);
}

TEST(HistogramTest, MeanOfBucketMidpointsIsClose) {
  Histogram h;
  h.record(1'000'000);
  h.record(3'000'000);
  EXPECT_NEAR(h.mean(), 2'000'000, 2'000);
  Histogram small;
  for (int i = 0; i <= 100; ++i) small.record(i);
  EXPECT_DOUBLE_EQ(small.mean(), 50.0);  // single-unit buckets below 2048 are exact
}

}  // namespace histogram_test
}  // namespace horde
