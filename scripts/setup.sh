#!/usr/bin/env bash
# Fresh Debian 12 -> ./build/horde: installs dependencies from apt, configures
# and builds (Release with debug info, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
EXTRA=()
[ "${CI:-}" = "true" ] && EXTRA+=(-DHORDE_WERROR=ON)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${EXTRA[@]}" "$@" >/dev/null
ninja -C "$BUILD_DIR" -j"$(nproc)"
echo "built $BUILD_DIR/horde" >&2
