// Latency histogram with HdrHistogram's log-linear bucket layout: 3 significant
// decimal digits over 1 us .. 1 h, values in microseconds. Recording is a few
// integer operations and one increment (no allocation, no lock); one histogram
// per thread, merged off the hot path by adding counts, so merged percentiles are
// exact to the layout's precision. Plain copyable value with equality.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace horde {

class Histogram {
 public:
  static constexpr int64_t kLowestUs = 1;
  static constexpr int64_t kHighestUs = 3'600'000'000;  // one hour
  static constexpr int kSignificantDigits = 3;

  Histogram();

  // Values below 0 record as 0, above kHighestUs as kHighestUs.
  void record(int64_t value_us) noexcept { record_n(value_us, 1); }
  void record_n(int64_t value_us, uint64_t n) noexcept;

  void add(const Histogram& other);
  void reset();

  uint64_t total_count() const { return total_; }
  bool empty() const { return total_ == 0; }
  // Exact recorded extremes (not bucket edges); 0 when empty.
  int64_t min() const;
  int64_t max() const;
  double mean() const;
  // HdrHistogram semantics: the highest value equivalent to the bucket holding
  // the sample of rank ceil(p/100 * count) (at least 1), capped at max(). 0 when empty.
  int64_t value_at_percentile(double percentile) const;

  // Bucket access for encoding and merging.
  size_t bucket_count() const { return counts_.size(); }
  uint64_t count_at(size_t index) const { return counts_[index]; }
  // Adds n samples to bucket `index`; false when the index is out of range.
  bool add_at(size_t index, uint64_t n);
  // Sets the exact extremes after bucket-wise decoding (keeps them if empty).
  void merge_extremes(int64_t min_us, int64_t max_us);
  static size_t index_for(int64_t value_us) noexcept;
  static int64_t lowest_equivalent(size_t index);
  static int64_t highest_equivalent(size_t index);

  friend bool operator==(const Histogram& a, const Histogram& b);

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
};

}  // namespace horde
