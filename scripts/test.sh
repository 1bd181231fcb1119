#!/usr/bin/env bash
# The whole test suite: dependencies, formatting check, the normal build with
# every unit and integration test, then an AddressSanitizer + UBSan build of
# the same tests. Exit code is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
JOBS=$(nproc)

echo "== format check" >&2
mapfile -t sources < <(git ls-files '*.cc' '*.h' 2>/dev/null || find . -name '*.cc' -o -name '*.h')
if [ ${#sources[@]} -gt 0 ]; then
  clang-format --dry-run -Werror "${sources[@]}"
fi

echo "== test-side node packages" >&2
for dir in tests/deploy tests/js; do
  [ -f "$dir/package-lock.json" ] && npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
done

echo "== build (RelWithDebInfo)" >&2
BUILD_DIR=build ./scripts/setup.sh
echo "== tests" >&2
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 300)

if [ "${HORDE_SKIP_TIDY:-}" != "1" ]; then
  echo "== clang-tidy (.clang-tidy checks, product folders)" >&2
  JOBS="$JOBS" ./scripts/tidy.sh build
fi

if [ "${HORDE_SKIP_SANITIZERS:-}" != "1" ]; then
  echo "== build (ASan + UBSan)" >&2
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHORDE_SANITIZE=ON \
    -DHORDE_BUILD_BENCH=OFF $([ "${CI:-}" = "true" ] && echo -DHORDE_WERROR=ON) >/dev/null
  ninja -C build-asan -j"$JOBS"
  echo "== tests under ASan + UBSan" >&2
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
  (cd build-asan && ctest --output-on-failure -j"$JOBS" --timeout 600)
fi
if [ "${HORDE_SKIP_FUZZ:-}" != "1" ]; then
  echo "== fuzzing (libFuzzer, bounded)" >&2
  ./scripts/fuzz.sh "${HORDE_FUZZ_SECONDS:-10}"
fi
echo "== all tests passed" >&2
