#!/usr/bin/env bash
# Rehearses a distributed horde run on "separate hosts" made of Linux network
# namespaces, on one machine, as root. Nothing touches the host's own network:
#
#   <prefix>-hbr   a bridge namespace holding bridge br0 and one veth end per host
#   <prefix>-hc    the controller          10.77.0.10  (listens on :7400)
#   <prefix>-ha1   agent 1                 10.77.0.11
#   <prefix>-ha2   agent 2                 10.77.0.12
#   <prefix>-ha3   agent 3                 10.77.0.13
#   <prefix>-ht    the targets             10.77.0.20  (horde target on :8080, :8081;
#                                                       nginx on :8090)
#
# Every veth is created inside the bridge namespace with its peer moved straight
# into its host namespace (renamed eth0 there), so no interface ever appears in
# the host's namespace and each run has its own address space: two runs with
# different prefixes can use the same 10.77.0.x addresses side by side.
# All traffic goes to those test hosts only. Everything is torn down on exit
# (trap), also on error or Ctrl-C; results stay in the work directory.
#
# Usage: sudo scripts/netns-rehearsal.sh [--horde PATH] [--work DIR] [--prefix NAME]
#            [--duration 3s] [--connections 24]
# Prints a summary at the end; exit code: the controller's (0 ok), or 1 when the
# rehearsal itself failed (a host did not come up, a timeout).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/nginx-counting.sh
source "$REPO/scripts/nginx-counting.sh"
HORDE=${HORDE:-$REPO/build/horde}
PREFIX=${HORDE_NETNS_PREFIX:-horde$$}
WORK=""
DURATION=3s
CONNECTIONS=24
NGINX=${NGINX:-/usr/sbin/nginx}

while [ $# -gt 0 ]; do
  case "$1" in
    --horde) HORDE=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    -h | --help) sed -n '2,23p' "$0" | cut -c3-; exit 0 ;;
    *) echo "netns-rehearsal: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "netns-rehearsal: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): run it with sudo"
[ -x "$HORDE" ] || die "no horde binary at $HORDE (build it, or give --horde PATH)"
[ -x "$NGINX" ] || die "no nginx at $NGINX (apt-get install nginx-light)"
[[ "$PREFIX" =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die "--prefix: letters, digits, - and _ only"
[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/horde-netns.XXXXXX)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

NET=10.77.0
BR=$PREFIX-hbr
# host namespace suffix -> address
declare -A ADDR=([hc]=$NET.10 [ha1]=$NET.11 [ha2]=$NET.12 [ha3]=$NET.13 [ht]=$NET.20)
HOSTS=(hc ha1 ha2 ha3 ht)
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "${HOSTS[@]/#/$PREFIX-}" "$BR"; do
    if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
      # Anything still inside (nginx workers, a stray agent) goes with its namespace.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until `cmd...` succeeds, at most $1 seconds.
wait_for() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# True once background child $1 has ended (bash reaps it on SIGCHLD).
exited() { ! kill -0 "$1" 2>/dev/null; }

in_ns() { local ns=$PREFIX-$1; shift; ip netns exec "$ns" "$@"; }

# Plain HTTP GET with bash's /dev/tcp (no curl in the way), from inside host $1.
http_get() {
  in_ns "$1" bash -c 'exec 3<>/dev/tcp/$0/$1 && printf "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$0" >&3 && cat <&3' "$2" "$3" "$4"
}
http_body() { http_get "$@" | sed '1,/^\r$/d'; }

echo "== network: namespaces $PREFIX-{hbr,hc,ha1,ha2,ha3,ht}, $NET.0/24" >&2
ip netns add "$BR"
ip -n "$BR" link set lo up
ip -n "$BR" link add br0 type bridge
ip -n "$BR" link set br0 up
for h in "${HOSTS[@]}"; do
  ns=$PREFIX-$h
  ip netns add "$ns"
  ip -n "$BR" link add "v-$h" type veth peer name eth0 netns "$ns"
  ip -n "$BR" link set "v-$h" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${ADDR[$h]}/24" dev eth0
  ip -n "$ns" link set eth0 up
done
TARGET_IP=${ADDR[ht]}
CONTROLLER_IP=${ADDR[hc]}

echo "== target host $TARGET_IP: horde target :8080-8081, nginx :8090" >&2
ip netns exec "$PREFIX-ht" "$HORDE" target --listen "$TARGET_IP:8080" --instances 2 --workers 16 \
  --service-time 2ms >"$WORK/target.out" 2>"$WORK/target.log" &
PIDS+=($!)
counting_nginx_conf "$WORK/nginx" "$TARGET_IP:8090"
ip netns exec "$PREFIX-ht" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" \
  >"$WORK/nginx/stdout.log" 2>&1 &
PIDS+=($!)
# From every other host: each namespace can reach the target host over the bridge.
for h in hc ha1 ha2 ha3; do
  wait_for 15 http_body "$h" "$TARGET_IP" 8090 /__ready || die "nginx unreachable from $h"
done
for port in 8080 8081; do
  wait_for 15 http_body hc "$TARGET_IP" "$port" /__stats || die "horde target :$port did not come up"
done

echo "== controller host $CONTROLLER_IP:7400, 3 agents with a token" >&2
openssl rand -hex 32 >"$WORK/token"
chmod 600 "$WORK/token"
cat >"$WORK/workload.yaml" <<EOF
# Generated by scripts/netns-rehearsal.sh: every target on the target host.
name: netns-rehearsal
targets:
  - http://$TARGET_IP:8080/
  - http://$TARGET_IP:8081/
  - http://$TARGET_IP:8090/
requests:
  - {method: GET, path: /}
load:
  mode: closed
  connections: $CONNECTIONS
  duration: $DURATION
thresholds:
  - error_rate < 1%
EOF
ip netns exec "$PREFIX-hc" "$HORDE" controller "$WORK/workload.yaml" --listen "$CONTROLLER_IP:7400" \
  --expect-agents 3 --join-timeout 30s --out "$WORK/out" --no-live \
  --token-file "$WORK/token" >"$WORK/controller.out" 2>"$WORK/controller.log" &
CONTROLLER_PID=$!
PIDS+=("$CONTROLLER_PID")
controller_up() { exited "$CONTROLLER_PID" && return 2; grep -q "controller listening" "$WORK/controller.out"; }
wait_for 15 controller_up && ! exited "$CONTROLLER_PID" ||
  die "controller did not start: $(tail -5 "$WORK/controller.log")"

AGENT_PIDS=()
for i in 1 2 3; do
  ip netns exec "$PREFIX-ha$i" "$HORDE" agent --controller "$CONTROLLER_IP:7400" --name "agent-$i" \
    --threads 1 --once --token-file "$WORK/token" >"$WORK/agent-$i.out" 2>"$WORK/agent-$i.log" &
  AGENT_PIDS+=($!)
done
PIDS+=("${AGENT_PIDS[@]}")

# Bounded: join (30 s) + the run + a margin for the stop and the results.
secs=${DURATION%s}
[[ "$secs" =~ ^[0-9]+$ ]] || secs=60
wait_for $((30 + secs + 30)) exited "$CONTROLLER_PID" || die "controller did not finish in time"
CONTROLLER_RC=0
wait "$CONTROLLER_PID" || CONTROLLER_RC=$?
for i in 1 2 3; do
  pid=${AGENT_PIDS[$((i - 1))]}
  if wait_for 15 exited "$pid"; then
    rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || echo "agent-$i exited with $rc" >&2
  else
    echo "agent-$i still running after the run" >&2
  fi
done

http_body hc "$TARGET_IP" 8080 /__stats >"$WORK/target-stats.json" || true
cat "$WORK/controller.out"
echo "== results in $WORK (summary: $WORK/out/summary.json)"
# The total is the last "served" (nlohmann::json sorts keys: instances, then served).
served=$(grep -o '"served":[0-9]*' "$WORK/target-stats.json" | tail -1 | cut -d: -f2)
logged=$(grep -c '"GET / ' "$WORK/nginx/access.log" || true)
echo "horde target served: ${served:-?}   nginx logged: $logged   connections: $CONNECTIONS"
echo "nginx requests by source address:"
grep '"GET / ' "$WORK/nginx/access.log" | cut -d' ' -f1 | sort | uniq -c || true
echo "controller exit code: $CONTROLLER_RC"
exit "$CONTROLLER_RC"
