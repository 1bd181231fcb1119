#!/usr/bin/env bash
# Instructions per request of the agent process, counted by callgrind: repeatable whatever else
# the machine is doing, where CPU seconds on a shared 2-core box are not (docs/benchmarks.md,
# "Instructions per request"). For each variant (a static request; backend attribution by a
# response header; connection_max_requests 100) and each binary (BIN, and BASE when given),
# `horde run` with 1 local agent and 1 thread against nginx on 127.0.0.1 runs under callgrind for
# SHORT and LONG seconds; (Ir_long - Ir_short) / (requests_long - requests_short) leaves out the
# start-up. Userspace instructions only: the kernel's share (sockets, reconnects) is not in it.
#   bench/instructions.sh [BIN]   env: BASE=other-horde SHORT=2 LONG=6 PORT=18089
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/horde}")
base=${BASE:+$(realpath "$BASE")}
short=${SHORT:-2}
long=${LONG:-6}
port=${PORT:-18089}
dir=$(mktemp -d /tmp/horde-instructions.XXXXXX)
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$port; location / { add_header X-Served-By nginx-1; return 200 "ok\n"; } }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" &
trap 'kill "$(cat "$dir/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
sleep 1
target="target: http://127.0.0.1:$port/"
printf '%s\nload: {connections: 4}\n' "$target" >"$dir/static.yaml"
printf '%s\nload: {connections: 4}\nbackend: {header: X-Served-By}\n' "$target" >"$dir/header.yaml"
printf '%s\nload: {connections: 4, connection_max_requests: 100}\n' "$target" >"$dir/maxreq.yaml"

# Prints "instructions requests" of one run.
count() {
  local b=$1 w=$2 d=$3 out="$dir/run-$RANDOM"
  mkdir -p "$out/cg"
  timeout 300 valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$out/cg/cg.%p" "$b" run "$w" --local-agents 1 --threads 1 \
    --out "$out/results" --no-live -d "${d}s" >/dev/null 2>&1 || true
  [ -f "$out/results/summary.json" ] || return 0  # this binary refused the workload
  local ir req
  ir=$(grep -l "agent --controller" "$out"/cg/cg.* | xargs grep -h "^summary:" | awk '{print $2}')
  req=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['totals']['requests'])" \
    "$out/results/summary.json")
  echo "$ir $req"
}

per_request() {
  local a b
  read -r -a a <<<"$(count "$1" "$2" "$short")"
  read -r -a b <<<"$(count "$1" "$2" "$long")"
  if [ ${#a[@]} -lt 2 ] || [ ${#b[@]} -lt 2 ] || [ "${b[1]}" -le "${a[1]}" ]; then
    echo "- (the binary refused this workload)"
  else
    echo $(((b[0] - a[0]) / (b[1] - a[1])))
  fi
}

printf '%-8s %-10s %s\n' variant binary instructions/request
for v in static header maxreq; do
  for b in "$bin" ${base:+"$base"}; do
    name=$([ "$b" = "$bin" ] && echo BIN || echo BASE)
    printf '%-8s %-10s %s\n' "$v" "$name" "$(per_request "$b" "$dir/$v.yaml")"
  done
done
