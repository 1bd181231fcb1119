#!/usr/bin/env bash
# What templates cost on the request path: the same request, static and
# templated, side by side in one run against the same nginx. nginx (1 worker,
# `return 200`) is pinned to cpu 0; the whole `horde run` process tree to cpu 1.
# Rounds alternate the two workloads, closed loop at CONNS connections:
#   static:     GET /users/17?ref=500 with X-Request-Id: 6f1c...  (fixed bytes)
#   templated:  GET /users/{{users.id}}?ref={{random 1 1000}} with
#               X-Request-Id: {{uuid}}, users.csv of 10,000 rows in mode cycle
#               (a data row and two more substitutions per request)
# Prints requests/s and the generator's CPU-seconds per million requests (GNU
# time: user + system, children included) and the templated/static ratio.
# Installs nothing: needs nginx (nginx-light), GNU time, python3, taskset.
# Usage: bench/templates.sh [path/to/horde] (default build/horde); env DURATION,
# ROUNDS, CONNS.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

HORDE=${1:-${HORDE:-build/horde}}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-50}
NGINX=${NGINX:-/usr/sbin/nginx}
require_tools "$NGINX" /usr/bin/time taskset python3 "$HORDE"

WORK=$(mktemp -d /tmp/horde-templates.XXXXXX)
PORT=$(free_port)
start_nginx "$WORK" "$PORT" 0
URL="http://127.0.0.1:$PORT/"
echo "nginx pid $NGINX_PID on $URL (cpu 0); horde on cpu 1; ${DURATION}s runs, $ROUNDS rounds, $CONNS connections"

python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name\n")
    for i in range(10000):
        f.write(f"{i},user{i}\n")' "$WORK/users.csv"
cat >"$WORK/static.yaml" <<YAML
target: $URL
load: {connections: $CONNS, duration: ${DURATION}s}
requests:
  - path: /users/17?ref=500
    headers: {X-Request-Id: 6f1c2a4e-93b1-4d7c-8a55-0c2b9e7d1f30}
YAML
cat >"$WORK/templated.yaml" <<YAML
target: $URL
load: {connections: $CONNS, duration: ${DURATION}s}
data: {users: {file: users.csv}}
requests:
  - path: /users/{{users.id}}?ref={{random 1 1000}}
    headers: {X-Request-Id: "{{uuid}}"}
YAML

RESULTS="$WORK/results.txt"
: >"$RESULTS"
for r in $(seq "$ROUNDS"); do
  for kind in static templated; do
    rm -rf "$WORK/out"
    /usr/bin/time -f "%U %S" -o "$WORK/time" taskset -c 1 "$HORDE" run "$WORK/$kind.yaml" \
      --local-agents 1 --threads 1 --no-live --out "$WORK/out" >"$WORK/horde.out" 2>&1 ||
      { cat "$WORK/horde.out" >&2; exit 1; }
    read -r u s <"$WORK/time"
    read -r rps req errors < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["throughput_rps"], t["requests"], t["errors"])' "$WORK/out/summary.json")
    [ "$errors" = "0" ] || { echo "$kind: $errors errors" >&2; exit 1; }
    echo "$kind $r $rps $req $u $s" >>"$RESULTS"
    echo "round $r $kind: $rps rps (cpu ${u}u ${s}s)"
  done
done

python3 - "$RESULTS" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kind, r, rps, req, u, s = line.split()
    rows[kind].append((float(rps), float(req), float(u), float(s)))
def agg(kind):
    xs = rows[kind]
    m = sum(x[1] for x in xs) / 1e6
    return sum(x[0] for x in xs) / len(xs), sum(x[2] for x in xs) / m, sum(x[3] for x in xs) / m
print()
print("| request | req/s | CPU-s/M req user | sys | total |")
print("|---|---:|---:|---:|---:|")
for kind in ("static", "templated"):
    rps, u, s = agg(kind)
    print(f"| {kind} | {rps:,.0f} | {u:.2f} | {s:.2f} | {u + s:.2f} |")
st, tp = agg("static"), agg("templated")
print()
print(f"templated/static CPU per request: {(tp[1] + tp[2]) / (st[1] + st[2]):.3f}x "
      f"(user {tp[1] / st[1]:.3f}x, sys {tp[2] / st[2]:.3f}x); req/s {tp[0] / st[0]:.3f}x")
PY
