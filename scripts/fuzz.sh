#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) in a separate clang build with
# ASan + UBSan and runs each for a bounded time on a copy of its seed corpus
# (tests/fuzz_corpus/<target>/). Exits non-zero when a fuzzer finds a crash;
# the reproducer is left in the build dir's fuzz-out/<target>/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; env BUILD_DIR, JOBS)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"
targets=(response_parser_fuzz workload_fuzz report_fuzz exposition_fuzz template_fuzz json_capture_fuzz
  cookie_jar_fuzz)

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DHORDE_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
    -DHORDE_BUILD_TESTS=OFF -DHORDE_BUILD_BENCH=OFF >/dev/null
fi
start=$(date +%s)
ninja -C "$build" -j"$jobs" "${targets[@]}"
echo "fuzz build: $(( $(date +%s) - start )) s"

status=0
for t in "${targets[@]}"; do
  name="${t%_fuzz}"
  corpus="$build/fuzz-corpus/$name"
  out="$build/fuzz-out/$name"
  mkdir -p "$corpus" "$out"
  cp -n tests/fuzz_corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "== $t: ${seconds} s"
  # -rss_limit_mb guards the 2-core CI box; -timeout catches hangs (a slow input is a bug too).
  if ! (cd "$out" && "../../$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "../../fuzz-corpus/$name" 2>"$t.log"); then
    echo "$t: CRASH (see $out/$t.log and the crash-* file there)"
    tail -n 40 "$out/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$t.log" | sed "s/^/  /"
  fi
done
exit $status
