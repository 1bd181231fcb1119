#!/usr/bin/env bash
# Agent memory with 10,000 open keep-alive connections: nginx (worker_connections
# 20000) on a free port, then `horde run -c 10000 --rate 100` (open loop at a low
# rate, so every connection is opened at the start and stays open, idle most of
# the time) for 15 s. Samples VmRSS and VmHWM of the agent child process (and of
# the controller) from /proc every 0.5 s and prints the peak, total and per connection.
# Installs nothing: needs nginx (nginx-light), python3; raises `ulimit -n` to the hard limit.
# Usage: bench/memory-10k.sh [path/to/horde] (default build/horde).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

HORDE=${1:-${HORDE:-build/horde}}
CONNS=${CONNS:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}
# Each process needs CONNS descriptors and some; raise the soft limit to the hard one.
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
ulimit -n "$HARD"
if [ "$HARD" -lt $((CONNS + 1000)) ]; then
  echo "ulimit -n hard limit $HARD is below $((CONNS + 1000))" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/horde-mem.XXXXXX)
PORT=$(free_port)
NGINX_LISTEN="backlog=16384" NGINX_TOP="worker_rlimit_nofile $HARD;" NGINX_CONNECTIONS=20000 start_nginx "$WORK" "$PORT"

"$HORDE" run --target "http://127.0.0.1:$PORT/" -c "$CONNS" --rate 100 -d 15s --local-agents 1 \
  --threads 1 --no-live --out "$WORK/out" >"$WORK/horde.out" 2>&1 &
HORDE_PID=$!

kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || true; }
peak_rss=0 peak_hwm=0 ctl_hwm=0 agent=""
while kill -0 "$HORDE_PID" 2>/dev/null; do
  [ -z "$agent" ] && agent=$(cat /proc/$HORDE_PID/task/*/children 2>/dev/null | awk '{print $1}')
  if [ -n "$agent" ]; then
    rss=$(kb "$agent" VmRSS); hwm=$(kb "$agent" VmHWM)
    [ -n "$rss" ] && [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
    [ -n "$hwm" ] && [ "$hwm" -gt "$peak_hwm" ] && peak_hwm=$hwm
  fi
  c=$(kb "$HORDE_PID" VmHWM); [ -n "$c" ] && [ "$c" -gt "$ctl_hwm" ] && ctl_hwm=$c
  sleep 0.5
done
wait "$HORDE_PID" || true
totals=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(t["requests"], t["errors"])' "$WORK/out/summary.json" 2>/dev/null || echo "? ?")
read -r nreq nerr <<<"$totals"
echo "connections $CONNS, requests $nreq, errors $nerr"
echo "agent peak VmRSS ${peak_rss} kB, VmHWM ${peak_hwm} kB" \
  "($(( peak_hwm * 1024 / CONNS )) bytes per connection, baseline included)"
echo "controller VmHWM ${ctl_hwm} kB"
