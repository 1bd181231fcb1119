#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace horde {

namespace {

// HdrHistogram's layout for lowest discernible value 1, highest trackable value
// kHighestUs and 3 significant digits. These must stay bit-for-bit identical to
// HdrHistogram's own derivation, because interval logs (.hlog) are written from
// our counts array and decoded by HdrHistogram readers with that layout.
//   largest value with single-unit resolution = 2 * 10^3 = 2000
//   sub_bucket_count_magnitude = ceil(log2(2000)) = 11
constexpr int kUnitMagnitude = 0;  // floor(log2(kLowestUs))
constexpr int kSubBucketCountMagnitude = 11;
constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
constexpr int64_t kSubBucketCount = int64_t{1} << kSubBucketCountMagnitude;  // 2048
constexpr int64_t kSubBucketHalfCount = kSubBucketCount / 2;                 // 1024
constexpr uint64_t kSubBucketMask = uint64_t(kSubBucketCount - 1) << kUnitMagnitude;

// hdr_histogram.c: buckets_needed_to_cover_value().
constexpr int buckets_needed_to_cover(int64_t value) {
  int64_t smallest_untrackable = kSubBucketCount << kUnitMagnitude;
  int buckets = 1;
  while (smallest_untrackable <= value) {
    if (smallest_untrackable > INT64_MAX / 2) return buckets + 1;
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return buckets;
}

constexpr int kBucketCount = buckets_needed_to_cover(Histogram::kHighestUs);   // 22
constexpr size_t kCountsLen = size_t(kBucketCount + 1) * kSubBucketHalfCount;  // 23552
static_assert(kBucketCount == 22);
static_assert(kCountsLen == 23552);

constexpr int64_t clamp_value(int64_t v) {
  return std::clamp<int64_t>(v, 0, Histogram::kHighestUs);
}

struct BucketPos {
  int bucket;
  int64_t sub_bucket;
};

// Inverse of the counts index (hdr_histogram.c: hdr_value_at_index()).
constexpr BucketPos position_of(size_t index) {
  int bucket = int(index >> kSubBucketHalfCountMagnitude) - 1;
  int64_t sub = int64_t(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return {bucket, sub};
}

}  // namespace

Histogram::Histogram() : counts_(kCountsLen, 0) {}

size_t Histogram::index_for(int64_t value_us) noexcept {
  // Clamping compiles to conditional moves; the rest is one clz and shifts.
  const uint64_t v = uint64_t(clamp_value(value_us));
  const int pow2_ceiling = 64 - std::countl_zero(v | kSubBucketMask);
  const int bucket = pow2_ceiling - kUnitMagnitude - (kSubBucketHalfCountMagnitude + 1);
  const uint64_t sub = v >> (bucket + kUnitMagnitude);
  return (size_t(bucket + 1) << kSubBucketHalfCountMagnitude) + sub - kSubBucketHalfCount;
}

int64_t Histogram::lowest_equivalent(size_t index) {
  const BucketPos p = position_of(index);
  return p.sub_bucket << (p.bucket + kUnitMagnitude);
}

int64_t Histogram::highest_equivalent(size_t index) {
  // A sub-bucket index from position_of() is always < kSubBucketCount, so the
  // equivalent range is 2^bucket without HdrHistogram's bucket adjustment.
  const BucketPos p = position_of(index);
  return lowest_equivalent(index) + (int64_t{1} << (p.bucket + kUnitMagnitude)) - 1;
}

void Histogram::record_n(int64_t value_us, uint64_t n) noexcept {
  if (n == 0) return;  // keeps min/max untouched, so equality stays about samples
  const int64_t v = clamp_value(value_us);
  counts_[index_for(v)] += n;
  total_ += n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::add(const Histogram& other) {
  if (other.total_ == 0) return;
  // Both sides have the same fixed length; this loop vectorizes.
  uint64_t* dst = counts_.data();
  const uint64_t* src = other.counts_.data();
  for (size_t i = 0; i < kCountsLen; ++i) dst[i] += src[i];
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = INT64_MAX;
  max_ = 0;
}

int64_t Histogram::min() const { return total_ == 0 ? 0 : min_; }

int64_t Histogram::max() const { return total_ == 0 ? 0 : max_; }

double Histogram::mean() const {
  // HdrHistogram's estimate: every sample sits at the middle of its bucket. The
  // counts are all that survive the wire, so computing the mean from them keeps
  // an agent's mean and the controller's mean of the same samples identical.
  if (total_ == 0) return 0;
  long double sum = 0;
  for (size_t i = 0; i < kCountsLen; ++i) {
    if (counts_[i] == 0) continue;
    const BucketPos p = position_of(i);
    const int64_t median = lowest_equivalent(i) + ((int64_t{1} << p.bucket) >> 1);
    sum += static_cast<long double>(median) * static_cast<long double>(counts_[i]);
  }
  const double m = static_cast<double>(sum / static_cast<long double>(total_));
  // A mean can never leave [min, max]; clamping makes single-valued data exact.
  return std::clamp(m, static_cast<double>(min_), static_cast<double>(max_));
}

int64_t Histogram::value_at_percentile(double percentile) const {
  if (total_ == 0) return 0;
  if (!(percentile >= 0)) percentile = 0;  // also maps NaN to 0
  percentile = std::min(percentile, 100.0);
  // rank = ceil(p/100 * total). The tiny relative slack stops a product such as
  // 99.9/100 * 1000 = 999.0000000000001 from rounding up to the next sample.
  const double exact = percentile / 100.0 * static_cast<double>(total_);
  double rank_fp = std::ceil(exact - exact * 1e-12);
  uint64_t rank = rank_fp < 1 ? 1 : static_cast<uint64_t>(rank_fp);
  rank = std::min(rank, total_);

  uint64_t seen = 0;
  for (size_t i = 0; i < kCountsLen; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(i), max_);
  }
  return max_;  // unreachable while total_ equals the sum of counts
}

bool Histogram::add_at(size_t index, uint64_t n) {
  if (index >= kCountsLen) return false;
  if (n == 0) return true;
  counts_[index] += n;
  total_ += n;
  // Until merge_extremes() supplies the exact values, the bucket edges are the
  // best bounds we know; they keep the histogram self-consistent meanwhile.
  min_ = std::min(min_, std::min(lowest_equivalent(index), kHighestUs));
  max_ = std::max(max_, std::min(highest_equivalent(index), kHighestUs));
  return true;
}

void Histogram::merge_extremes(int64_t min_us, int64_t max_us) {
  if (total_ == 0) return;
  min_ = clamp_value(min_us);
  max_ = clamp_value(max_us);
}

bool operator==(const Histogram& a, const Histogram& b) {
  return a.total_ == b.total_ && a.min_ == b.min_ && a.max_ == b.max_ && a.counts_ == b.counts_;
}

}  // namespace horde
