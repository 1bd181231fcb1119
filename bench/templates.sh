#!/usr/bin/env bash
# What templates cost on the request path: the same request, static and
# templated, side by side in one run, per protocol (PROTOCOLS, default http1):
#   http1  against nginx (1 worker, `return 200`):
#          static:    GET /users/17?ref=500 with X-Request-Id: 6f1c...  (fixed bytes)
#          templated: GET /users/{{users.id}}?ref={{random 1 1000}} with
#                     X-Request-Id: {{uuid}}, users.csv of 10,000 rows in mode cycle
#                     (a data row and two more substitutions per request)
#   h2     the same two requests over h2c (prior knowledge) against nginx's
#          `listen ... http2`, STREAMS streams per connection
#   grpc   unary horde.test.Echo/Say calls against horde_grpc_target
#          (tests/grpc_target), STREAMS streams per connection:
#          static:    {text: user17, delay_ms: 0}
#          templated: {text: "{{users.name}}", delay_ms: "{{users.delay}}"} from
#                     the same users.csv (a data row, a string and an integer
#                     field; the delay column is 0 in every row, or the target
#                     would sleep for it)
# and for http1 and h2 a second pair, what expect.body_contains costs:
#          page:      GET /page, a 1,024-byte body ending in "status=ok"
#          contains:  the same with expect: {body_contains: status=ok} (every
#                     body searched as it arrives)
# The target (nginx, or the gRPC target with all its threads) is pinned to cpu 0;
# the whole `horde run` process tree to cpu 1. Closed loop at CONNS connections.
# Each round runs every protocol's static and templated twins back to back, the
# order of the twins alternating from round to round. Prints requests/s and the
# generator's CPU-seconds per million requests (GNU time: user + system, children
# included), one row per (protocol, static|templated), and per protocol the
# templated/static CPU ratio over all rounds with the range of the per-round ratios
# (the noise).
# Installs nothing: needs nginx (nginx-light), GNU time, python3, taskset, and for
# grpc the horde_grpc_target binary (built with the tests: ninja horde_grpc_target).
# Usage: bench/templates.sh [path/to/horde] (default build/horde); env DURATION,
# ROUNDS, CONNS, STREAMS (h2 and grpc), PROTOCOLS ("http1 h2 grpc" for all),
# GRPC_TARGET (default: tests/horde_grpc_target beside the horde binary),
# CALLGRIND=1 (instructions per request instead, see below; SHORT, LONG seconds).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

HORDE=${1:-${HORDE:-build/horde}}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-50}
STREAMS=${STREAMS:-10}
PROTOCOLS=${PROTOCOLS:-http1}
NGINX=${NGINX:-/usr/sbin/nginx}
GRPC_TARGET=${GRPC_TARGET:-$(dirname "$HORDE")/tests/horde_grpc_target}
ECHO_PROTO=$(cd "$(dirname "$0")/.." && pwd)/tests/grpc_target/echo.proto
require_tools /usr/bin/time taskset python3 "$HORDE"
for p in $PROTOCOLS; do
  case $p in
    http1 | h2) require_tools "$NGINX" ;;
    grpc) require_tools "$GRPC_TARGET" ;;
    *) echo "PROTOCOLS: unknown protocol \"$p\"; expected http1, h2 or grpc" >&2; exit 2 ;;
  esac
done
[[ $PROTOCOLS == *grpc* ]] && { [ -r "$ECHO_PROTO" ] || { echo "missing: $ECHO_PROTO" >&2; exit 2; }; }

WORK=$(mktemp -d /tmp/horde-templates.XXXXXX)
PIDS=()
# start_nginx sets its own EXIT trap for one nginx; this one stops every target.
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# nginx_at DIR PORT: start_nginx on cpu 0, its pid added to PIDS, cleanup the EXIT trap again.
nginx_at() {
  if ! start_nginx "$1" "$2" 0; then
    PIDS+=("$NGINX_PID")
    trap cleanup EXIT
    exit 1
  fi
  PIDS+=("$NGINX_PID")
  trap cleanup EXIT
}

python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name,delay\n")
    for i in range(10000):
        f.write(f"{i},user{i},0\n")' "$WORK/users.csv"

# The /page body: 1,015 dots then the text body_contains looks for.
PAGE="$(printf '%*s' 1015 '' | tr ' ' .)status=ok"
PAGE_LOCATION="location = /page { return 200 \"$PAGE\"; }"

# workloads PROTOCOL TARGET: writes $WORK/PROTOCOL-static.yaml and -templated.yaml
# (and for http1 and h2 -page.yaml and -contains.yaml).
workloads() {
  local p=$1 target=$2 streams=""
  [ "$p" = http1 ] || streams=", streams_per_connection: $STREAMS"
  local load="load: {connections: $CONNS$streams, duration: ${DURATION}s}"
  if [ "$p" = grpc ]; then
    local grpc="grpc: {method: /horde.test.Echo/Say, proto_files: [$ECHO_PROTO],"
    printf '%s\n' "target: $target" "$load" "$grpc" \
      '  message: {text: user17, delay_ms: 0}}' >"$WORK/$p-static.yaml"
    printf '%s\n' "target: $target" "$load" "data: {users: {file: users.csv}}" "$grpc" \
      '  message: {text: "{{users.name}}", delay_ms: "{{users.delay}}"}}' \
      >"$WORK/$p-templated.yaml"
  else
    printf '%s\n' "target: $target" "$load" "requests:" \
      "  - path: /users/17?ref=500" \
      "    headers: {X-Request-Id: 6f1c2a4e-93b1-4d7c-8a55-0c2b9e7d1f30}" \
      >"$WORK/$p-static.yaml"
    printf '%s\n' "target: $target" "$load" "data: {users: {file: users.csv}}" "requests:" \
      "  - path: /users/{{users.id}}?ref={{random 1 1000}}" \
      '    headers: {X-Request-Id: "{{uuid}}"}' >"$WORK/$p-templated.yaml"
    printf '%s\n' "target: $target" "$load" "requests:" "  - path: /page" >"$WORK/$p-page.yaml"
    printf '%s\n' "target: $target" "$load" "requests:" "  - path: /page" \
      "    expect: {body_contains: status=ok}" >"$WORK/$p-contains.yaml"
  fi
}

for p in $PROTOCOLS; do
  case $p in
    http1)
      port=$(free_port)
      NGINX_SERVER="$PAGE_LOCATION" nginx_at "$WORK/http1" "$port"
      workloads http1 "http://127.0.0.1:$port/"
      echo "http1: nginx pid $NGINX_PID on http://127.0.0.1:$port/ (cpu 0)"
      ;;
    h2)
      port=$(free_port)
      NGINX_LISTEN="http2" NGINX_HTTP="http2_max_concurrent_streams 1000;" \
        NGINX_SERVER="$PAGE_LOCATION" nginx_at "$WORK/h2" "$port"
      workloads h2 "h2c://127.0.0.1:$port/"
      echo "h2: nginx pid $NGINX_PID on h2c://127.0.0.1:$port/ (cpu 0)"
      ;;
    grpc)
      taskset -c 0 "$GRPC_TARGET" --port 0 >"$WORK/grpc-target.out" 2>&1 &
      PIDS+=("$!")
      port=""
      for _ in $(seq 200); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/grpc-target.out")
        [ -n "$port" ] && break
        sleep 0.05
      done
      [ -n "$port" ] || { echo "$GRPC_TARGET did not start:" >&2; cat "$WORK/grpc-target.out" >&2; exit 1; }
      workloads grpc "grpc://127.0.0.1:$port"
      echo "grpc: $GRPC_TARGET pid ${PIDS[-1]} on grpc://127.0.0.1:$port (cpu 0)"
      ;;
  esac
done
echo "horde on cpu 1; ${DURATION}s runs, $ROUNDS rounds, $CONNS connections" \
  "($STREAMS streams each on h2 and grpc); protocols: $PROTOCOLS"

# CALLGRIND=1: instead of the CPU rounds, instructions per request of the agent
# process under callgrind (userspace only), as bench/instructions.sh counts them:
# (Ir_long - Ir_short) / (requests_long - requests_short) leaves out the start-up.
if [ "${CALLGRIND:-0}" = 1 ]; then
  require_tools valgrind
  # count WORKLOAD SECONDS: prints "instructions requests" of one run under callgrind.
  count() {
    local out="$WORK/cg-$RANDOM"
    mkdir -p "$out/cg"
    timeout 300 taskset -c 1 valgrind --tool=callgrind --trace-children=yes \
      --callgrind-out-file="$out/cg/cg.%p" "$HORDE" run "$1" --local-agents 1 --threads 1 \
      --out "$out/results" --no-live -d "${2}s" >/dev/null 2>&1 ||
      { echo "$1 failed under callgrind" >&2; exit 1; }
    local ir req
    ir=$(grep -l "agent --controller" "$out"/cg/cg.* | xargs grep -h "^summary:" | awk '{print $2}')
    req=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['totals']['requests'])" \
      "$out/results/summary.json")
    echo "$ir $req"
  }
  echo
  echo "| protocol | static instr/req | templated instr/req | templated/static |"
  echo "|---|---:|---:|---:|"
  for p in $PROTOCOLS; do
    per=()
    for kind in static templated; do  # (the page pair: the CPU rounds only)
      read -r -a a <<<"$(count "$WORK/$p-$kind.yaml" "${SHORT:-2}")"
      read -r -a b <<<"$(count "$WORK/$p-$kind.yaml" "${LONG:-6}")"
      [ "${b[1]}" -gt "${a[1]}" ] || { echo "$p $kind: no more requests in the long run" >&2; exit 1; }
      per+=($(((b[0] - a[0]) / (b[1] - a[1]))))
    done
    echo "| $p | ${per[0]} | ${per[1]} | $(python3 -c "print(f'{${per[1]} / ${per[0]}:.3f}')") |"
  done
  exit 0
fi

RESULTS="$WORK/results.txt"
: >"$RESULTS"
for r in $(seq "$ROUNDS"); do
  for p in $PROTOCOLS; do
    order="static templated"
    [ "$p" = grpc ] || order="$order page contains"
    # Each pair's twins swap places every other round.
    [ $((r % 2)) = 0 ] && order=$(echo "$order" | sed 's/static templated/templated static/; s/page contains/contains page/')
    for kind in $order; do
      rm -rf "$WORK/out"
      /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 "$HORDE" run "$WORK/$p-$kind.yaml" \
        --local-agents 1 --threads 1 --no-live --out "$WORK/out" >"$WORK/horde.out" 2>&1 ||
        { cat "$WORK/horde.out" >&2; exit 1; }
      read -r u s <"$WORK/time"
      read -r rps req errors < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["throughput_rps"], t["requests"], t["errors"])' "$WORK/out/summary.json")
      [ "$errors" = "0" ] || { echo "$p $kind: $errors errors" >&2; exit 1; }
      echo "$p $kind $r $rps $req $u $s" >>"$RESULTS"
      echo "round $r $p $kind: $rps rps (cpu ${u}u ${s}s)"
    done
  done
done

python3 - "$RESULTS" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
protocols = []
for line in open(sys.argv[1]):
    p, kind, r, rps, req, u, s = line.split()
    if p not in protocols:
        protocols.append(p)
    rows[(p, kind)].append((int(r), float(rps), float(req), float(u), float(s)))
def agg(xs):
    m = sum(x[2] for x in xs) / 1e6
    return sum(x[1] for x in xs) / len(xs), sum(x[3] for x in xs) / m, sum(x[4] for x in xs) / m
print()
print("| protocol | request | req/s | CPU-s/M req user | sys | total |")
print("|---|---|---:|---:|---:|---:|")
for p in protocols:
    for kind in ("static", "templated", "page", "contains"):
        if (p, kind) not in rows:
            continue
        rps, u, s = agg(rows[(p, kind)])
        print(f"| {p} | {kind} | {rps:,.0f} | {u:.2f} | {s:.2f} | {u + s:.2f} |")
for base, kind in (("static", "templated"), ("page", "contains")):
    if not any((p, kind) in rows for p in protocols):
        continue
    print()
    print(f"| protocol | {kind}/{base} CPU/req | user | sys | req/s | per-round CPU/req ratios |")
    print("|---|---:|---:|---:|---:|---|")
    for p in protocols:
        if (p, kind) not in rows:
            continue
        st, tp = agg(rows[(p, base)]), agg(rows[(p, kind)])
        per_round = []
        for r in sorted({x[0] for x in rows[(p, base)]}):
            a = agg([x for x in rows[(p, base)] if x[0] == r])
            b = agg([x for x in rows[(p, kind)] if x[0] == r])
            per_round.append((b[1] + b[2]) / (a[1] + a[2]))
        print(f"| {p} | {(tp[1] + tp[2]) / (st[1] + st[2]):.3f} | {tp[1] / st[1]:.3f} | "
              f"{tp[2] / st[2]:.3f} | {tp[0] / st[0]:.3f} | "
              f"{min(per_round):.3f} .. {max(per_round):.3f} |")
PY
