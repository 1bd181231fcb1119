#!/usr/bin/env bash
# Installs horde's build, test and benchmark dependencies from Debian 12's
# packages. Idempotent: skips apt when everything is already there. Podman, runc,
# catatonit (kube play's pause process) and mmdebstrap (a Debian 12 base image without a
# registry) are for scripts/container-test.sh; python3-yaml for its kube play renderer.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang-format clang-tidy clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev libprotoc-dev protobuf-compiler
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libhttp-parser-dev libnghttp2-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx-light wrk nghttp2-client openssl procps iproute2 time chromium haproxy
  gunicorn python3-h2 python3-grpcio
  prometheus prometheus-node-exporter prometheus-process-exporter
  podman runc catatonit mmdebstrap python3-yaml
)
# Node.js runs the test-side checkers (hdr-histogram-js, kubernetes-models); take
# Debian's only when the machine has none.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
