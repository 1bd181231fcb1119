#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over the product code: agent/ controller/
# common/ cli/ target/, with the build's compile_commands.json. Two jobs by
# default: CI has 2 cores.
#   scripts/tidy.sh [BUILD_DIR]   (default build; env JOBS)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
jobs="${JOBS:-2}"
if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "tidy: $build/compile_commands.json missing (configure with CMake first)" >&2
  exit 1
fi
# The generated headers (protobuf, the commit for --version) must exist before clang-tidy
# reads their includes.
ninja -C "$build" horde_proto horde_commit >/dev/null
start=$(date +%s)
mapfile -t files < <(git ls-files 'agent/*.cc' 'controller/*.cc' 'common/*.cc' 'cli/*.cc' 'target/*.cc')
status=0
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null >"$build/clang-tidy.log" || status=$?
grep -E ': (warning|error):' "$build/clang-tidy.log" || true
echo "clang-tidy: ${#files[@]} files in $(( $(date +%s) - start )) s, exit $status" >&2
exit $status
