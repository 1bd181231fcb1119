#!/usr/bin/env bash
# Side-by-side: horde's HTTP/2 engine vs h2load (nghttp2-client) against the same
# nginx with http2 (h2c, prior knowledge), one core each. nginx (1 worker,
# `return 200`) is pinned to cpu 0; the generator (h2load, or the whole `horde run`
# process tree: controller + agent child) to cpu 1. For each "connections x
# streams" pair, rounds alternate h2load and horde, both closed loop with the
# same connections and concurrent streams per connection. Measures requests/s and
# the generator's CPU (GNU time: user and system, waited-for children included)
# and prints CPU-seconds per million requests and the horde/h2load ratios.
# Installs nothing: needs nginx (nginx-light), h2load (nghttp2-client), GNU time
# (Debian package `time`), python3, taskset.
# Usage: bench/vs-h2load.sh [path/to/horde] (default build/horde).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

HORDE=${1:-${HORDE:-build/horde}}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
PAIRS=${PAIRS:-"10x10 50x10 10x100"}  # connections x streams per connection
NGINX=${NGINX:-/usr/sbin/nginx}
require_tools "$NGINX" h2load /usr/bin/time taskset python3 "$HORDE"

WORK=$(mktemp -d /tmp/horde-vs-h2load.XXXXXX)
PORT=$(free_port)
NGINX_LISTEN="http2" NGINX_HTTP="http2_max_concurrent_streams 1000;" start_nginx "$WORK" "$PORT" 0
echo "nginx pid $NGINX_PID on h2c://127.0.0.1:$PORT/ (cpu 0); generators on cpu 1;" \
  "${DURATION}s runs, $ROUNDS rounds"

RESULTS="$WORK/results.txt"
: >"$RESULTS"
for pair in $PAIRS; do
  c=${pair%x*}
  m=${pair#*x}
  cat >"$WORK/workload.yaml" <<YAML
name: vs-h2load
target: h2c://127.0.0.1:$PORT/
load:
  connections: $c
  streams_per_connection: $m
  duration: ${DURATION}s
YAML
  for r in $(seq "$ROUNDS"); do
    # h2load: -D runs for a duration; -t1 one thread, like horde's one agent thread
    /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 h2load -t1 -c"$c" -m"$m" \
      -D"$DURATION" "http://127.0.0.1:$PORT/" >"$WORK/h2load.out" 2>&1
    read -r gu gs <"$WORK/time"
    greq=$(awk '/^requests:/ {print $6}' "$WORK/h2load.out")  # done
    grps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$WORK/h2load.out")
    echo "h2load $pair $r $grps $greq $gu $gs" >>"$RESULTS"
    # horde: controller + agent child, all on cpu 1
    rm -rf "$WORK/horde-out"
    /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 "$HORDE" run "$WORK/workload.yaml" \
      --local-agents 1 --threads 1 --no-live --out "$WORK/horde-out" \
      >"$WORK/horde.out" 2>&1 || { cat "$WORK/horde.out" >&2; exit 1; }
    read -r hu hs <"$WORK/time"
    read -r hrps hreq < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["throughput_rps"], t["requests"])' "$WORK/horde-out/summary.json")
    echo "horde $pair $r $hrps $hreq $hu $hs" >>"$RESULTS"
    echo "${pair}: round $r: h2load $grps rps (cpu ${gu}u ${gs}s)  horde $hrps rps" \
      "(cpu ${hu}u ${hs}s)"
  done
done

python3 - "$RESULTS" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    tool, pair, r, rps, req, u, s = line.split()
    if pair not in order:
        order.append(pair)
    rows[(tool, pair)].append((float(rps), float(req), float(u), float(s)))
def agg(tool, pair):
    xs = rows[(tool, pair)]
    rps = sum(x[0] for x in xs) / len(xs)
    req = sum(x[1] for x in xs)
    u = sum(x[2] for x in xs); s = sum(x[3] for x in xs)
    m = req / 1e6
    return rps, u / m, s / m, (u + s) / m
print()
print("| conns x streams | tool | req/s | CPU-s/M req user | sys | total |")
print("|---|---|---:|---:|---:|---:|")
ratios = []
for pair in order:
    g = agg("h2load", pair); h = agg("horde", pair)
    for name, v in (("h2load", g), ("horde", h)):
        print(f"| {pair} | {name} | {v[0]:,.0f} | {v[1]:.2f} | {v[2]:.2f} | {v[3]:.2f} |")
    ratios.append((pair, h[0] / g[0], h[1] / g[1], h[2] / g[2], h[3] / g[3]))
print()
print("| conns x streams | horde/h2load req/s | CPU/req user | sys | total |")
print("|---|---:|---:|---:|---:|")
for pair, a, b, d, e in ratios:
    print(f"| {pair} | {a:.2f} | {b:.2f} | {d:.2f} | {e:.2f} |")
PY
