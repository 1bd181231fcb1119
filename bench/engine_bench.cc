// Micro-benchmarks of the engine's per-request pieces (response parsing,
// weighted request choice) and, with --url, a closed- or open-loop load run of
// the whole engine that prints requests/s, for side-by-side runs against wrk:
//   engine_bench --url=http://127.0.0.1:8080/ --connections=50 --threads=1 --seconds=5
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "agent/engine.h"
#include "agent/request_table.h"
#include "agent/response_parser.h"

namespace {

void BM_ParseResponse(benchmark::State& state) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\n"
      "Date: Tue, 01 Jan 2030 00:00:00 GMT\r\nContent-Length: 13\r\n\r\nHello, world!";
  horde::ResponseParser parser;
  for (auto _ : state) {
    auto step = parser.feed(response.data(), response.size());
    benchmark::DoNotOptimize(step);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * response.size()));
}
BENCHMARK(BM_ParseResponse);

void BM_PickWeighted(benchmark::State& state) {
  horde::Url url;
  url.host = "127.0.0.1";
  url.port = 8080;
  std::vector<horde::RequestSpec> specs(4);
  for (size_t i = 0; i < specs.size(); ++i) specs[i].weight = static_cast<uint32_t>(i + 1);
  horde::RequestTable table(url, specs);
  horde::FastRandom rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(&table.pick(rng));
}
BENCHMARK(BM_PickWeighted);

const char* flag(int argc, char** argv, const char* name) {
  const size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  }
  return nullptr;
}

int load_run(int argc, char** argv) {
  auto url = horde::parse_url(flag(argc, argv, "--url"));
  if (!url) {
    std::fprintf(stderr, "%s\n", url.error().message.c_str());
    return 2;
  }
  auto number = [&](const char* name, double fallback) {
    const char* v = flag(argc, argv, name);
    return v ? std::stod(v) : fallback;
  };
  horde::EngineOptions o;
  o.slice.targets = {*url};
  o.slice.requests = {horde::RequestSpec{}};
  o.slice.load.connections = static_cast<uint32_t>(number("--connections", 50));
  o.slice.load.duration = horde::Millis(static_cast<int64_t>(number("--seconds", 5) * 1000));
  o.slice.load.rate = number("--rate", 0);
  o.slice.load.mode = o.slice.load.rate > 0 ? horde::LoadMode::kOpen : horde::LoadMode::kClosed;
  o.threads = static_cast<unsigned>(number("--threads", 1));
  o.start = std::chrono::system_clock::now() + std::chrono::milliseconds(200);
  horde::Engine engine(o, [](horde::IntervalReport r) {
    std::printf("interval %u: %lu requests, %lu errors, cpu %.2fs\n", r.interval,
                static_cast<unsigned long>(r.counters.requests),
                static_cast<unsigned long>(r.counters.errors), r.counters.cpu_seconds);
  });
  const horde::Counters total = engine.run();
  const double seconds = o.slice.load.duration.count() / 1000.0;
  std::printf("requests %lu errors %lu  %.0f requests/s  cpu %.2fs  late %lu\n",
              static_cast<unsigned long>(total.requests), static_cast<unsigned long>(total.errors),
              total.requests / seconds, total.cpu_seconds, static_cast<unsigned long>(total.late));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (flag(argc, argv, "--url")) return load_run(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
