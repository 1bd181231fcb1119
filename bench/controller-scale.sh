#!/usr/bin/env bash
# The control plane at scale: one `horde controller` (pinned to cpu 1) against
# N fake agents from bench/swarm (pinned to cpu 0) that speak the real protocol
# and send one realistic Report per interval (about 200 histogram buckets) but
# no HTTP traffic (the workload aims at 127.0.0.1:9 and nobody connects to it).
# For each N it prints: controller CPU (user+sys, GNU time) and max RSS, report
# bytes on the wire per agent per second, whether every report was merged
# (summary.json totals.requests == what the swarm sent, discarded_reports == 0),
# interval publish latency (when the controller merged each interval, from
# intervals.jsonl, minus the interval's scheduled end), how much of that is the
# swarm's own sending (its last report of each interval written, after the
# interval's end) and the spread of the start times the agents were given.
# Usage: bench/controller-scale.sh [build-dir]   (default build)
#   AGENTS="10 100 1000" DURATION=20 bench/controller-scale.sh build
set -euo pipefail

BUILD=${1:-build}
HORDE=${HORDE:-$BUILD/horde}
SWARM=${SWARM:-$BUILD/bench/swarm}
AGENTS=${AGENTS:-"10 100 1000"}
DURATION=${DURATION:-60}
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
ulimit -n "$HARD"

WORK=$(mktemp -d /tmp/horde-ctl-scale.XXXXXX)
cat >"$WORK/stamp.py" <<'PY'
import sys, time
for line in sys.stdin:
    sys.stdout.write(f"{time.time_ns()} {line}")
    sys.stdout.flush()
PY
cat >"$WORK/row.py" <<'PY'
import json, re, statistics, sys
work, n, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
summary = json.load(open(f"{work}/out/summary.json"))
swarm = json.load(open(f"{work}/swarm.json"))
user, sys_s, rss_kb = open(f"{work}/time.txt").read().split()[:3]
start_ns = swarm["start_unix_ns"]
# Publish delay: when the controller merged interval i (intervals.jsonl, its own
# clock, the same as the swarm's here) minus the interval's scheduled end.
interval_ms = swarm["per_agent"][0]["interval_ms"] if swarm.get("per_agent") else 1000
lat = []
for line in open(f"{work}/out/intervals.jsonl"):
    row = json.loads(line)
    end_ns = start_ns + (row["interval"] + 1) * interval_ms * 1_000_000
    if row.get("merged_unix_us") and row["interval"] + 1 < duration * 1000 / interval_ms:
        lat.append(row["merged_unix_us"] / 1000 - end_ns / 1e6)
sent_ms = [x for x in swarm.get("last_report_sent_after_end_ms", []) if x > -1e6]
merged = summary["totals"]["requests"]
sent = swarm["requests_measured"]
discarded = summary["phases"][0]["discarded_reports"]
cpu = float(user) + float(sys_s)
print(json.dumps({
    "agents": n, "duration_s": duration, "cpu_user_s": float(user), "cpu_sys_s": float(sys_s),
    "cpu_per_agent_second_ms": 1000 * cpu / (n * duration),
    "max_rss_mb": int(rss_kb) / 1024,
    "report_bytes": swarm["report_bytes_mean"],
    "report_bytes_per_agent_per_s": swarm["report_bytes_per_agent_per_s"],
    "reports": swarm["reports"], "requests_sent": sent, "requests_merged": merged,
    "all_merged": merged == sent and discarded == 0, "discarded_reports": discarded,
    "lost": sum(1 for a in summary["agents"] if a["lost"]),
    "intervals": len(lat),
    "publish_ms_p50": round(statistics.median(lat), 1) if lat else None,
    "publish_ms_max": round(max(lat), 1) if lat else None,
    # The swarm's own part: when its last report of each interval was written.
    "swarm_sent_ms_p50": round(statistics.median(sent_ms), 1) if sent_ms else None,
    "swarm_sent_ms_max": round(max(sent_ms), 1) if sent_ms else None,
    "start_spread_ms": swarm["start_spread_ms"],
    "assignment_spread_ms": swarm["assignment_spread_ms"],
    "assignment_lead_ms": swarm["assignment_lead_ms"],
}))
PY

for N in $AGENTS; do
  D="$WORK/n$N"
  mkdir -p "$D"
  cp "$WORK/row.py" "$D/"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$D/w.yaml" <<YAML
target: http://127.0.0.1:9/
load:
  connections: $((N * 2))
  duration: ${DURATION}s
  interval: 1s
YAML
  # GNU time measures the controller alone (user, sys, max RSS); stdout lines are
  # stamped on arrival by a reader on cpu 0.
  taskset -c 1 /usr/bin/time -f "%U %S %M" -o "$D/time.txt" \
    "$HORDE" controller "$D/w.yaml" --listen "127.0.0.1:$PORT" --expect-agents "$N" \
    --insecure-no-token --no-progress --join-timeout 120s --out "$D/out" \
    2>"$D/controller.log" | taskset -c 0 python3 "$WORK/stamp.py" >"$D/lines.txt" &
  CTL=$!
  for _ in $(seq 100); do grep -q "listening on" "$D/lines.txt" 2>/dev/null && break; sleep 0.1; done
  taskset -c 0 "$SWARM" --controller "127.0.0.1:$PORT" --agents "$N" \
    --timeout $((DURATION + 300)) --out "$D/swarm.json" >"$D/swarm.txt" 2>"$D/swarm.log" || true
  wait "$CTL" || true
  python3 "$D/row.py" "$D" "$N" "$DURATION" | tee -a "$WORK/results.jsonl"
done

python3 - "$WORK/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("| agents | ctl CPU s (user+sys) | CPU ms / agent-s | max RSS MB | report B | B / agent / s "
      "| all merged | publish ms p50 / max | swarm sent ms p50 / max | start spread ms "
      "| assignment spread ms |")
print("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['agents']} | {r['cpu_user_s'] + r['cpu_sys_s']:.2f} ({r['cpu_user_s']:.2f}+"
          f"{r['cpu_sys_s']:.2f}) | {r['cpu_per_agent_second_ms']:.3f} | {r['max_rss_mb']:.0f} "
          f"| {r['report_bytes']:.0f} | {r['report_bytes_per_agent_per_s']:.0f} "
          f"| {'yes' if r['all_merged'] else 'NO'} ({r['requests_merged']}/{r['requests_sent']}, "
          f"discarded {r['discarded_reports']}, lost {r['lost']}) "
          f"| {r['publish_ms_p50']} / {r['publish_ms_max']} "
          f"| {r['swarm_sent_ms_p50']} / {r['swarm_sent_ms_max']} | {r['start_spread_ms']:.2f} "
          f"| {r['assignment_spread_ms']:.1f} |")
PY
echo "work dir: $WORK"
