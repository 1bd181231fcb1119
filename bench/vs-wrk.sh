#!/usr/bin/env bash
# Side-by-side: horde's load engine vs wrk against the same nginx, one core each.
# nginx (1 worker, `return 200`) is pinned to cpu 0; the generator (wrk, or the
# whole `horde run` process tree: controller + agent child) to cpu 1. For each
# connection count, rounds alternate wrk and horde. Measures requests/s and the
# generator's CPU (GNU time: user and system, waited-for children included) and
# prints CPU-seconds per million requests and the horde/wrk ratios. Each round
# also runs horde in open loop at OPEN_FRACTION (default 0.5) of that round's wrk
# rate with -c as the bound (`horde-open`; it connects on demand): the per-request
# cost of the open-loop path beside the closed one. OPEN_FRACTION=0 skips it.
# Installs nothing: needs nginx (nginx-light), wrk, GNU time (Debian package `time`),
# python3, taskset. Usage: bench/vs-wrk.sh [path/to/horde] (default build/horde).
# BACKEND_HEADER=X-Served-By: nginx names itself in that response header and
# horde attributes every response by it (workload `backend: {header: ...}`),
# to measure what per-backend accounting by header costs.
# BASELINE=path/to/other/horde: each round also runs that binary the same way
# (`horde-base`), and the last table gives horde/horde-base: today's build
# against another in one run, on the same nginx and cpu.
# CONNECTION_MAX_REQUESTS=N: each round also runs horde with
# `connection_max_requests: N` (`horde-maxreq`): what reconnecting costs.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

HORDE=${1:-${HORDE:-build/horde}}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
OPEN_FRACTION=${OPEN_FRACTION:-0.5}
CONNS=${CONNS:-"10 50 200"}
NGINX=${NGINX:-/usr/sbin/nginx}
require_tools "$NGINX" wrk /usr/bin/time taskset python3 "$HORDE"

WORK=$(mktemp -d /tmp/horde-vs-wrk.XXXXXX)
PORT=$(free_port)
BACKEND_HEADER=${BACKEND_HEADER:-}
[ -n "$BACKEND_HEADER" ] && NGINX_HTTP="add_header $BACKEND_HEADER nginx-1;"
start_nginx "$WORK" "$PORT" 0
URL="http://127.0.0.1:$PORT/"
echo "nginx pid $NGINX_PID on $URL (cpu 0); generators on cpu 1; ${DURATION}s runs, $ROUNDS rounds"

BASELINE=${BASELINE:-}
MAX_REQUESTS=${CONNECTION_MAX_REQUESTS:-}
[ -z "$BASELINE" ] || command -v "$BASELINE" >/dev/null || { echo "missing: $BASELINE" >&2; exit 2; }

# horde_round NAME BINARY EXTRA_LOAD_KEYS: one closed-loop run of $c connections
# (the workload file as `horde run --target URL -c N -d D` would make it, plus
# the backend header and EXTRA_LOAD_KEYS); appends its row to $RESULTS.
horde_round() {
  local name=$1 bin=$2 extra=$3
  rm -rf "$WORK/horde-out"
  {
    printf 'target: %s\n' "$URL"
    [ -n "$BACKEND_HEADER" ] && printf 'backend: {header: %s}\n' "$BACKEND_HEADER"
    printf 'load: {connections: %s, duration: %ss%s}\n' "$c" "$DURATION" "$extra"
  } >"$WORK/w.yaml"
  /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 "$bin" run "$WORK/w.yaml" \
    --local-agents 1 --threads 1 --no-live --out "$WORK/horde-out" \
    >"$WORK/horde.out" 2>&1 || { cat "$WORK/horde.out" >&2; exit 1; }
  read -r hu hs <"$WORK/time"
  read -r hrps hreq < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["throughput_rps"], t["requests"])' "$WORK/horde-out/summary.json")
  echo "$name $c $r $hrps $hreq $hu $hs" >>"$RESULTS"
  echo "c=$c round $r: $name $hrps rps (cpu ${hu}u ${hs}s)"
}

RESULTS="$WORK/results.txt"
: >"$RESULTS"
for c in $CONNS; do
  for r in $(seq "$ROUNDS"); do
    # wrk
    /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 wrk -t1 -c"$c" -d"${DURATION}s" "$URL" \
      >"$WORK/wrk.out" 2>&1
    read -r wu ws <"$WORK/time"
    wreq=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    wrps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
    echo "wrk $c $r $wrps $wreq $wu $ws" >>"$RESULTS"
    echo "c=$c round $r: wrk $wrps rps (cpu ${wu}u ${ws}s)"
    # horde: controller + agent child, all on cpu 1
    horde_round horde "$HORDE" ""
    [ -n "$BASELINE" ] && horde_round horde-base "$BASELINE" ""
    [ -n "$MAX_REQUESTS" ] && horde_round horde-maxreq "$HORDE" \
      ", connection_max_requests: $MAX_REQUESTS"
    if [ "$OPEN_FRACTION" != "0" ]; then
      rate=$(python3 -c "print(round(float('$wrps') * float('$OPEN_FRACTION')))")
      rm -rf "$WORK/horde-out"
      /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 "$HORDE" run --target "$URL" \
        --rate "$rate" -c "$c" -d "${DURATION}s" --local-agents 1 --threads 1 --no-live \
        --out "$WORK/horde-out" >"$WORK/horde.out" 2>&1 || { cat "$WORK/horde.out" >&2; exit 1; }
      read -r ou os <"$WORK/time"
      read -r orps oreq < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["throughput_rps"], t["requests"])' "$WORK/horde-out/summary.json")
      echo "horde-open $c $r $orps $oreq $ou $os" >>"$RESULTS"
      echo "c=$c round $r: horde open loop at $rate rps: $orps rps (cpu ${ou}u ${os}s)"
    fi
  done
done

python3 - "$RESULTS" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, c, r, rps, req, u, s = line.split()
    rows[(tool, int(c))].append((float(rps), float(req), float(u), float(s)))
def agg(tool, c):
    xs = rows[(tool, c)]
    rps = sum(x[0] for x in xs) / len(xs)
    req = sum(x[1] for x in xs)
    u = sum(x[2] for x in xs); s = sum(x[3] for x in xs)
    m = req / 1e6
    return rps, u / m, s / m, (u + s) / m
print()
print("| conns | tool | req/s | CPU-s/M req user | sys | total |")
print("|---:|---|---:|---:|---:|---:|")
ratios = []
for c in sorted({k[1] for k in rows}):
    w = agg("wrk", c)
    for name in ("wrk", "horde", "horde-base", "horde-maxreq", "horde-open"):
        if (name, c) not in rows:
            continue
        v = agg(name, c)
        print(f"| {c} | {name} | {v[0]:,.0f} | {v[1]:.2f} | {v[2]:.2f} | {v[3]:.2f} |")
        if name != "wrk":
            ratios.append((c, name, v[0] / w[0], v[1] / w[1], v[2] / w[2], v[3] / w[3]))
print()
print("| conns | horde run | horde/wrk req/s | CPU/req user | sys | total |")
print("|---:|---|---:|---:|---:|---:|")
for c, name, a, b, d, e in ratios:
    print(f"| {c} | {name} | {a:.2f} | {b:.2f} | {d:.2f} | {e:.2f} |")
base = [c for c in sorted({k[1] for k in rows}) if ("horde-base", c) in rows]
if base:
    print()
    print("| conns | run | vs horde-base: req/s | CPU/req user | sys | total |")
    print("|---:|---|---:|---:|---:|---:|")
    for c in base:
        b = agg("horde-base", c)
        for name in ("horde", "horde-maxreq"):
            if (name, c) in rows:
                v = agg(name, c)
                print(f"| {c} | {name} | {v[0] / b[0]:.2f} | {v[1] / b[1]:.2f} | {v[2] / b[2]:.2f} "
                      f"| {v[3] / b[3]:.2f} |")
PY
