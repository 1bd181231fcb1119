#!/usr/bin/env bash
# Does the load reach every instance? Three nginx "instances" on hosts of their
# own (network namespaces on a private bridge, 10.78.0.21-.23), and one host
# name, svc.test, that resolves to all three inside the client's namespace
# (its own hosts file, /etc/netns/NAME/hosts, which `ip netns exec` mounts over
# /etc/hosts). `horde run` with local agents aims at http://svc.test:8090/ from
# the client host 10.78.0.10. Each nginx writes its own access log: the truth
# the per-backend counts in summary.json are checked against (by
# tests/integration/spread_test.cc). Needs root; removes everything it made.
#
#   sudo scripts/netns-spread.sh [--horde PATH] [--work DIR] [--prefix NAME]
#                                [--duration 2s] [--connections 12] [--agents 2]
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HORDE=${HORDE:-$REPO/build/horde}
PREFIX=${HORDE_NETNS_PREFIX:-hsp$$}
WORK=""
DURATION=2s
CONNECTIONS=12
AGENTS=2
NGINX=${NGINX:-/usr/sbin/nginx}

while [ $# -gt 0 ]; do
  case "$1" in
    --horde) HORDE=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --agents) AGENTS=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | cut -c3-; exit 0 ;;
    *) echo "netns-spread: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "netns-spread: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): run it with sudo"
[ -x "$HORDE" ] || die "no horde binary at $HORDE (build it, or give --horde PATH)"
[ -x "$NGINX" ] || die "no nginx at $NGINX (apt-get install nginx-light)"
[[ "$PREFIX" =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die "--prefix: letters, digits, - and _ only"
[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/horde-spread.XXXXXX)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

NET=10.78.0
BR=$PREFIX-sbr
declare -A ADDR=([sc]=$NET.10 [s1]=$NET.21 [s2]=$NET.22 [s3]=$NET.23)
HOSTS=(sc s1 s2 s3)
BACKENDS=(s1 s2 s3)
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
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  rm -rf "/etc/netns/$PREFIX-sc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

http_ready() {
  ip netns exec "$PREFIX-sc" bash -c 'exec 3<>/dev/tcp/$0/8090 && printf "GET /__ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&3 && grep -q ready <&3' "$1"
}

echo "== network: namespaces $PREFIX-{sbr,sc,s1,s2,s3}, $NET.0/24" >&2
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
# The client's own hosts file: svc.test is all three backends.
mkdir -p "/etc/netns/$PREFIX-sc"
{
  echo "127.0.0.1 localhost"
  for b in "${BACKENDS[@]}"; do echo "${ADDR[$b]} svc.test"; done
} >"/etc/netns/$PREFIX-sc/hosts"

for b in "${BACKENDS[@]}"; do
  d=$WORK/$b
  mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
  log_format horde '\$remote_addr "\$request" \$status \$connection';
  access_log $d/access.log horde;
  client_body_temp_path $d;
  proxy_temp_path $d;
  fastcgi_temp_path $d;
  uwsgi_temp_path $d;
  scgi_temp_path $d;
  keepalive_requests 1000000;
  server {
    listen ${ADDR[$b]}:8090;
    location = /__ready { access_log off; return 200 "ready\n"; }
    location / { add_header X-Served-By $b; return 200 "ok\n"; }
  }
}
EOF
  ip netns exec "$PREFIX-$b" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
    >"$d/stdout.log" 2>&1 &
  PIDS+=($!)
done
for b in "${BACKENDS[@]}"; do
  wait_for 15 http_ready "${ADDR[$b]}" || die "nginx on $b unreachable from the client"
done
ip netns exec "$PREFIX-sc" getent ahosts svc.test | awk '{print $1}' | sort -u >"$WORK/resolved.txt"
echo "== svc.test resolves to: $(tr '\n' ' ' <"$WORK/resolved.txt")" >&2

cat >"$WORK/workload.yaml" <<EOF
name: netns-spread
target: http://svc.test:8090/
load:
  mode: closed
  connections: $CONNECTIONS
  duration: $DURATION
dns_refresh: 30s
thresholds:
  - error_rate < 1%
EOF
echo "== horde run, $AGENTS local agents, $CONNECTIONS connections to svc.test" >&2
set +e
ip netns exec "$PREFIX-sc" "$HORDE" run "$WORK/workload.yaml" --local-agents "$AGENTS" \
  --threads 2 --out "$WORK/out" --no-live >"$WORK/run.out" 2>"$WORK/run.log"
RC=$?
set -e
cat "$WORK/run.out" >&2
for b in "${BACKENDS[@]}"; do
  log=$WORK/$b/access.log
  requests=$(grep -c '"GET / ' "$log" 2>/dev/null || true)
  conns=$( (grep '"GET / ' "$log" 2>/dev/null || true) | awk '{print $NF}' | sort -u | wc -l)
  echo "$b ${ADDR[$b]} ${requests:-0} $conns"
done >"$WORK/served.txt"
echo "== nginx access logs (backend address requests connections):" >&2
cat "$WORK/served.txt" >&2
exit $RC
