#!/usr/bin/env bash
# run-fanout.sh: event fan-out latency with the C load generator (loadgen --subscribe).
# For every run it starts a fresh release daemon (jwt_auth + the Tests/Fixtures event plugin)
# pinned to one CPU, runs loadgen pinned to the other, stops the daemon, and at the end prints
# a table (medians over the repetitions, (min–max) in brackets).
#
# usage: benchmarks/run-fanout.sh [-n "100 1000 5000"] [-e EVENTS] [-i MS] [-r REPS]
#          [-f libFixtureEventSource.so] [-s SERVER_CPU] [-c CLIENT_CPU] [-o FILE.jsonl] [-x ARGS]
#
#   -n LIST   subscriber counts, one scenario each (default 1000)
#   -e N      events per run (default 200), -i MS interval between them (default 50)
#   -r N      repetitions of every scenario (default 1); a fresh daemon for every run
#   -f PATH   the fixture event plugin (default /tmp/fixtures-release/libFixtureEventSource.so;
#             build it with: Tests/Fixtures/build.sh .build/release /tmp/fixtures-release)
#   -s CPU    daemon CPU (default 0), -c CPU loadgen CPU (default 1)
#   -o FILE   also write loadgen's raw JSON lines there
#   -x ARGS   extra loadgen arguments (e.g. "--ramp-par 16")
#
# Daemon: $CAMERA_SERVICE_BIN or .build/release/camera-service (not built here), config
# {"server":{"host":"127.0.0.1","port":P,"max_connections":max(5000, N+16)},"logging":{"level":"warning"}}.
# Subscribers use a viewer JWT; the publisher an admin JWT (tokens made with the repo's
# .venv python and PyJWT, or python3 if it has PyJWT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
LOADGEN="$here/bin/loadgen"
BIN="${CAMERA_SERVICE_BIN:-$repo/.build/release/camera-service}"
SUBS="1000" EVENTS=200 INTERVAL=50 REPS=1 PLUGIN=/tmp/fixtures-release/libFixtureEventSource.so
SCPU=0 CCPU=1 OUTF="" EXTRA=""

while getopts "n:e:i:r:f:s:c:o:x:h" o; do
  case "$o" in
    n) SUBS="$OPTARG" ;; e) EVENTS="$OPTARG" ;; i) INTERVAL="$OPTARG" ;; r) REPS="$OPTARG" ;;
    f) PLUGIN="$OPTARG" ;; s) SCPU="$OPTARG" ;; c) CCPU="$OPTARG" ;; o) OUTF="$OPTARG" ;;
    x) EXTRA="$OPTARG" ;;
    h) sed -n '2,23p' "$0"; exit 0 ;;
    *) sed -n '2,23p' "$0" >&2; exit 1 ;;
  esac
done
[ -x "$BIN" ] || { echo "run-fanout.sh: no daemon binary at $BIN (make release)" >&2; exit 1; }
[ -f "$PLUGIN" ] || { echo "run-fanout.sh: no plugin at $PLUGIN (Tests/Fixtures/build.sh .build/release $(dirname "$PLUGIN"))" >&2; exit 1; }
[ -x "$LOADGEN" ] || "$here/loadgen/build.sh" >/dev/null
PY="$repo/.venv/bin/python"; [ -x "$PY" ] || PY=python3

SECRET="fanout-bench-secret-0123456789abcdef0123456789abcdef"
tokens="$("$PY" - "$SECRET" <<'PY'
import sys, time, jwt
now = int(time.time())
for role in ("viewer", "admin"):
    print(jwt.encode({"user_id": "bench-" + role, "role": role, "iat": now, "exp": now + 86400}, sys.argv[1], algorithm="HS256"))
PY
)"
VIEWER="$(sed -n 1p <<<"$tokens")" ADMIN="$(sed -n 2p <<<"$tokens")"

work="$(mktemp -d "${TMPDIR:-/tmp}/run-fanout.XXXXXX")"
DPID=""
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
RES="$work/runs.jsonl"; : > "$RES"

for rep in $(seq 1 "$REPS"); do
  for n in $SUBS; do
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    maxc=$(( n + 16 > 5000 ? n + 16 : 5000 ))
    d="$work/d-$n-$rep"; mkdir -p "$d"
    printf '{"server":{"host":"127.0.0.1","port":%s,"max_connections":%s},"logging":{"level":"warning"}}\n' "$port" "$maxc" > "$d/config.yaml"
    printf '{"plugins":[{"name":"jwt_auth","library":"JWTAuth","required":true,"config":{"secret":"%s"}},{"name":"fixture_events","library":"%s"}]}\n' \
      "$SECRET" "$PLUGIN" > "$d/plugins.yaml"
    (cd "$d" && exec taskset -c "$SCPU" "$BIN" --config "$d/config.yaml" >"$d/daemon.log" 2>&1 </dev/null) &
    DPID=$!
    up=0
    for _ in $(seq 1 200); do
      if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
      kill -0 "$DPID" 2>/dev/null || break
      sleep 0.05
    done
    [ "$up" = 1 ] || { echo "run-fanout.sh: daemon did not start:" >&2; cat "$d/daemon.log" >&2; exit 1; }
    sleep 2   # let it settle (RSS idle is read at loadgen's start)
    echo "[run-fanout $(date +%H:%M:%S)] $n subscribers, $EVENTS events every ${INTERVAL}ms, rep $rep (daemon pid $DPID on CPU $SCPU)" >&2
    args=(--url "ws://127.0.0.1:$port/ws" --subscribe snapshot.taken --conns "$n"
          --publish-count "$EVENTS" --publish-interval "$INTERVAL"
          --token "$VIEWER" --publish-token "$ADMIN" --pid "$DPID" --json --label "$n/$rep")
    # shellcheck disable=SC2206
    [ -n "$EXTRA" ] && args+=($EXTRA)
    rc=0
    line="$(taskset -c "$CCPU" "$LOADGEN" "${args[@]}")" || rc=$?
    [ "$rc" -eq 0 ] || echo "[run-fanout] loadgen exit status $rc" >&2
    [ -n "$line" ] && echo "$line" >> "$RES"
    kill "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
    DPID=""
    if grep -q . "$d/daemon.log"; then echo "[run-fanout] daemon log:" >&2; tail -5 "$d/daemon.log" >&2; fi
  done
done
[ -n "$OUTF" ] && cp "$RES" "$OUTF"

python3 - "$RES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault(int(r["label"].split("/")[0]), []).append(r)
def mm(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    m, lo, hi = statistics.median(vals), min(vals), max(vals)
    return fmt(m) if fmt(lo) == fmt(hi) else f"{fmt(m)} ({fmt(lo)}–{fmt(hi)})"
ms = lambda v: f"{v/1000:.1f}"
one = lambda v: f"{v:.1f}"
mb = lambda kb: f"{kb/1024:.1f}"
num = lambda v: f"{v:,.0f}"
print("| subscribers | runs | deliveries / expected | lost | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms "
      "| per-event last delivery p99 ms | kernel p99 ms | client lag p99 ms | srv µs CPU/delivery | srv CPU % "
      "| RSS MB idle→subscribed→end | client CPU % |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in sorted(groups):
    rs = groups[n]
    L = [r["latency_us"] for r in rs]
    srv = [r.get("server") or {} for r in rs]
    dl = f"{min(r['deliveries'] for r in rs):,}" + ("" if len({r['deliveries'] for r in rs}) == 1 else "+") + \
         f" / {max(r['expected'] for r in rs):,}"
    subs = min(r["conns_established"] for r in rs)
    ab = " **aborted**" if any(r.get("aborted") for r in rs) else ""
    print(f"| {n} ({subs} subscribed){ab} | {len(rs)} | {dl} | {max(r['lost'] for r in rs)} "
          f"| {mm([l['p50'] for l in L], ms)} | {mm([l['p90'] for l in L], ms)} | {mm([l['p99'] for l in L], ms)} "
          f"| {mm([l['p999'] for l in L], ms)} | {mm([l['max'] for l in L], ms)} "
          f"| {mm([r['event_complete_us']['p99'] for r in rs], ms)} "
          f"| {mm([r['kernel_arrival_us']['p99'] for r in rs], ms)} | {mm([r['client_lag_us']['p99'] for r in rs], ms)} "
          f"| {mm([x.get('cpu_us_per_delivery') for x in srv], one)} | {mm([x.get('cpu_pct') for x in srv], one)} "
          f"| {mm([x.get('rss_start_kb') for x in srv], mb)}→{mm([x.get('rss_connected_kb') for x in srv], mb)}→{mm([x.get('rss_end_kb') for x in srv], mb)} "
          f"| {mm([r['client_cpu_pct'] for r in rs], one)} |")
bad = [(r["label"], k, r.get(k)) for r in rows for k in ("conn_errors", "rpc_errors", "run_errors") if r.get(k)]
for label, k, v in bad:
    print(f"- {label} {k}: {v}")
print("\nlatency = publish call sent -> event read by the subscriber (loadgen, CLOCK_MONOTONIC), over all "
      "deliveries; kernel = publish sent -> the event's segment queued to the subscriber's socket "
      "(SO_TIMESTAMPNS), i.e. without the client's read; client lag = latency − kernel, per delivery.")
PY
