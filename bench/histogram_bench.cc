// Micro-benchmarks for the latency histogram: recording is on every request's
// path (budget: well under 20 ns), adding is what the controller does per
// agent per interval.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "common/histogram.h"

namespace {

// Realistic latencies: log-normal around ~3 ms with a long tail, precomputed so
// the benchmark measures recording, not the random number generator.
std::vector<int64_t> latencies(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(8.0, 1.2);
  std::vector<int64_t> out(n);
  for (auto& v : out) v = static_cast<int64_t>(d(rng));
  return out;
}

void BM_Record(benchmark::State& state) {
  const std::vector<int64_t> values = latencies(1 << 16, 1);
  horde::Histogram h;
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i]);
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(h.total_count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record);

void BM_IndexFor(benchmark::State& state) {
  const std::vector<int64_t> values = latencies(1 << 16, 2);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(horde::Histogram::index_for(values[i]));
    i = (i + 1) & (values.size() - 1);
  }
}
BENCHMARK(BM_IndexFor);

// One interval's delta from an agent (sparse: a few thousand samples) added
// into the controller's running total.
void BM_Add(benchmark::State& state) {
  horde::Histogram total, delta;
  for (int64_t v : latencies(static_cast<size_t>(state.range(0)), 3)) delta.record(v);
  for (auto _ : state) {
    total.add(delta);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Add)->Arg(100)->Arg(100000);

void BM_ValueAtPercentile(benchmark::State& state) {
  horde::Histogram h;
  for (int64_t v : latencies(100000, 4)) h.record(v);
  for (auto _ : state) benchmark::DoNotOptimize(h.value_at_percentile(99.9));
}
BENCHMARK(BM_ValueAtPercentile);

}  // namespace

BENCHMARK_MAIN();
