#!/usr/bin/env bash
# run-loadgen.sh: run the four standard load scenarios against a server that is ALREADY
# running, and print a table. It starts, stops and configures nothing on the server side.
#
# usage: benchmarks/run-loadgen.sh -u ws://127.0.0.1:8002/ws [-p SERVER_PID] [-t TOKEN]
#          [-s "a b c d10k"] [-d SECONDS] [-w SECONDS] [-r REPS] [-m METHOD] [-c CPU] [-o FILE.jsonl]
#
#   -u URL     WebSocket endpoint (required)
#   -p PID     server process: RSS idle/connected/end and server CPU µs per request
#   -t TOKEN   JWT/API key: every connection (idle ones too) calls authenticate first
#   -s LIST    scenarios (default "a b c d10k"):
#                a     1 connection, lockstep (inflight 1)
#                b     100 connections, lockstep
#                c     1000 connections, lockstep
#                d10k  10000 idle connections + 10 active lockstep connections
#   -d S       measurement window per run (default 10), -w S warmup (default 1)
#   -r N       repetitions (default 1); the table shows medians, (min–max) if N > 1
#   -m METHOD  JSON-RPC method (default ping)
#   -c CPU     pin the load generator to this CPU with taskset (put the server on another)
#   -o FILE    also write the raw JSON lines there
#   -x ARGS    extra loadgen arguments (e.g. "--ramp-par 16")
#
# The server's own limits must allow the scenario: 10,010 connections for d10k (the
# camera daemon's default max_connections is 1000) and no per-connection rate limit in the
# way of a lockstep loop (the API's default is 100 requests/s per connection, which caps
# a, b and c). Raise the server's open-files limit (ulimit -n) before starting it.
# Runs are sequential and the server is not restarted between them, so RSS "idle" of a
# later run is the server's RSS after the earlier runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOADGEN="$here/bin/loadgen"
URL="" PID="" TOKEN="" SCEN="a b c d10k" DUR=10 WARM=1 REPS=1 METHOD=ping CPU="" OUTF="" EXTRA=""

while getopts "u:p:t:s:d:w:r:m:c:o:x:h" o; do
  case "$o" in
    u) URL="$OPTARG" ;; p) PID="$OPTARG" ;; t) TOKEN="$OPTARG" ;; s) SCEN="$OPTARG" ;;
    d) DUR="$OPTARG" ;; w) WARM="$OPTARG" ;; r) REPS="$OPTARG" ;; m) METHOD="$OPTARG" ;;
    c) CPU="$OPTARG" ;; o) OUTF="$OPTARG" ;; x) EXTRA="$OPTARG" ;;
    h) sed -n '2,29p' "$0"; exit 0 ;;
    *) sed -n '2,29p' "$0" >&2; exit 1 ;;
  esac
done
[ -n "$URL" ] || { echo "run-loadgen.sh: -u URL is required (-h for help)" >&2; exit 1; }
if [ -n "$PID" ] && ! kill -0 "$PID" 2>/dev/null; then
  echo "run-loadgen.sh: no process $PID" >&2; exit 1
fi
[ -x "$LOADGEN" ] || "$here/loadgen/build.sh" >/dev/null
command -v python3 >/dev/null || { echo "run-loadgen.sh: python3 is needed for the table" >&2; exit 1; }

PIN=()
[ -n "$CPU" ] && PIN=(taskset -c "$CPU")
RES="$(mktemp "${TMPDIR:-/tmp}/run-loadgen.XXXXXX.jsonl")"
trap 'rm -f "$RES"' EXIT

for rep in $(seq 1 "$REPS"); do
  for s in $SCEN; do
    case "$s" in
      a)    A=(--conns 1) ;;
      b)    A=(--conns 100) ;;
      c)    A=(--conns 1000) ;;
      d10k) A=(--conns 10 --idle 10000) ;;
      *) echo "run-loadgen.sh: unknown scenario $s" >&2; exit 1 ;;
    esac
    args=(--url "$URL" "${A[@]}" --inflight 1 --method "$METHOD" --duration "$DUR" --warmup "$WARM"
          --json --label "$s/$rep")
    [ -n "$TOKEN" ] && args+=(--token "$TOKEN")
    [ -n "$PID" ] && args+=(--pid "$PID")
    # shellcheck disable=SC2206
    [ -n "$EXTRA" ] && args+=($EXTRA)
    echo "[run-loadgen $(date +%H:%M:%S)] scenario $s, rep $rep" >&2
    rc=0
    line="$("${PIN[@]}" "$LOADGEN" "${args[@]}")" || rc=$?
    if [ -z "$line" ]; then
      echo "[run-loadgen] scenario $s: loadgen printed nothing (exit $rc)" >&2
      continue
    fi
    [ "$rc" -eq 0 ] || echo "[run-loadgen] scenario $s: loadgen exit status $rc" >&2
    echo "$line" >> "$RES"
    [ -n "$PID" ] && sleep 1   # let the server release the closed connections
  done
done
[ -n "$OUTF" ] && cp "$RES" "$OUTF"

python3 - "$RES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
desc = {"a": "1 conn lockstep", "b": "100 conns lockstep", "c": "1000 conns lockstep",
        "d10k": "10000 idle + 10 active"}
groups = {}
for r in rows:
    groups.setdefault(r["label"].split("/")[0], []).append(r)
def mm(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    m, lo, hi = statistics.median(vals), min(vals), max(vals)
    return fmt(m) if fmt(lo) == fmt(hi) else f"{fmt(m)} ({fmt(lo)}–{fmt(hi)})"
num = lambda v: f"{v:,.0f}"
us = lambda v: f"{v:,.0f}"
mb = lambda kb: f"{kb/1024:.0f}"
one = lambda v: f"{v:.1f}"
print("| scenario | runs | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors | conns ok/failed/lost | srv µs CPU/req | srv CPU % | RSS MB idle→conn→end | client CPU % |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for s in ["a", "b", "c", "d10k"] + sorted(set(groups) - {"a", "b", "c", "d10k"}):
    rs = groups.get(s)
    if not rs:
        continue
    L = [r["latency_us"] for r in rs]
    srv = [r.get("server") or {} for r in rs]
    ok = min(r["conns_established"] + r["idle_established"] for r in rs)
    want = rs[0]["conns"] + rs[0]["idle"]
    failed = max(r["conn_failures"] + r["idle_failures"] + r["conn_not_attempted"] + r["idle_not_attempted"] for r in rs)
    lost = max(r["conn_lost"] for r in rs)
    rss = "-"
    if srv[0]:
        rss = f"{mm([x.get('rss_start_kb') for x in srv], mb)}→{mm([x.get('rss_connected_kb') for x in srv], mb)}→{mm([x.get('rss_end_kb') for x in srv], mb)}"
    ab = " **aborted**" if any(r.get("aborted") for r in rs) else ""
    print(f"| {s}: {desc.get(s, s)}{ab} | {len(rs)} | {mm([r['rps'] for r in rs], num)} "
          f"| {mm([l['p50'] for l in L], us)} | {mm([l['p90'] for l in L], us)} | {mm([l['p99'] for l in L], us)} "
          f"| {mm([l['p999'] for l in L], us)} | {mm([l['max'] for l in L], us)} | {mm([r['errors'] for r in rs], num)} "
          f"| {ok}/{want} ok, {failed} failed, {lost} lost "
          f"| {mm([x.get('cpu_us_per_req') for x in srv], one) if srv[0] else '-'} "
          f"| {mm([x.get('cpu_pct') for x in srv], one) if srv[0] else '-'} | {rss} "
          f"| {mm([r['client_cpu_pct'] for r in rs], one)} |")
kinds = {}
for r in rows:
    for k in ("conn_errors", "rpc_errors", "run_errors"):
        for e, n in (r.get(k) or {}).items():
            kinds.setdefault(r["label"].split("/")[0], set()).add(f"{k}: {e} ×{n}")
if kinds:
    print("\nError kinds seen:")
    for s, es in sorted(kinds.items()):
        print(f"- {s}: " + "; ".join(sorted(es)))
print("\nerrors = JSON-RPC error replies + requests unanswered after the drain + requests lost with a "
      "connection. client CPU near 100 % means the load generator, not the server, was the limit.")
PY
