#!/usr/bin/env bash
# selftest.sh: check loadgen's RFC 6455 client side against edge_server.py (Python stdlib),
# a server that sends pings, 16/64-bit lengths, fragmented replies, notifications,
# out-of-order replies, server-initiated closes and broken handshakes.
# usage: benchmarks/loadgen/selftest.sh [PORT]   (default 18290; loopback only)
# Set LOADGEN=/path/to/binary to test another build (e.g. one with -fsanitize=address).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${1:-18290}"
LG="${LOADGEN:-$here/../bin/loadgen}"
[ -x "$LG" ] || "$here/build.sh" >/dev/null
out="$(mktemp -d "${TMPDIR:-/tmp}/loadgen-selftest.XXXXXX")"
python3 "$here/edge_server.py" "$PORT" >"$out/server.json" 2>"$out/server.log" &
SRV=$!
trap 'kill "$SRV" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 1 50); do grep -q listening "$out/server.log" 2>/dev/null && break; sleep 0.1; done

run() { # name path extra-args...
  local name="$1" path="$2"; shift 2
  "$LG" --url "ws://127.0.0.1:$PORT/$path" --duration 1 --warmup 0.2 --drain 1 --json --label "$name" "$@" \
    >>"$out/runs.jsonl" || true
}
run ws-lockstep ws --conns 2 --token t --idle 3
run ws-inflight ws --conns 3 --inflight 5 --token t
run close close --conns 2 --inflight 2 --token t
run badaccept badaccept --conns 2
run masked masked --conns 2 --token t
run authfail authfail --conns 2 --token t
run http503 http503 --conns 2
run nullid nullid --conns 1 --token t
kill "$SRV"
wait "$SRV" 2>/dev/null || true

python3 - "$out/runs.jsonl" "$out/server.json" <<'PY'
import json, sys
runs = {}
for l in open(sys.argv[1]):
    r = json.loads(l); runs[r["label"]] = r
srv = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
fails = []
def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond: fails.append(what)
for k in ("ws-lockstep", "ws-inflight"):
    r = runs[k]
    check(r["ok"] > 100 and r["errors"] == 0 and r["malformed"] == 0 and r["conn_lost"] == 0,
          f"{k}: {r['ok']} ok replies through pings, 126/127 lengths, fragments, notifications; no errors")
    check(r["server_pings"] > 0 and r["notifications"] > 0, f"{k}: server pings answered, notifications skipped")
check(runs["ws-lockstep"]["idle_established"] == 3 and runs["ws-lockstep"]["idle_alive_end"] == 3, "idle connections stay up")
r = runs["close"]
check(r["conn_lost"] == 2 and any("1001" in k for k in (r.get("run_errors") or {})), "server close 1001 seen as a lost connection")
check("bad handshake: missing or wrong Sec-WebSocket-Accept" in (runs["badaccept"].get("conn_errors") or {}), "wrong Sec-WebSocket-Accept rejected")
check(any("masked" in k for k in (runs["masked"].get("conn_errors") or {})), "masked server frame rejected")
check(runs["authfail"]["auth_fail"] == 2 and runs["authfail"]["conns_established"] == 0, "failed authenticate fails the connection")
check("bad handshake: HTTP 503" in (runs["http503"].get("conn_errors") or {}), "HTTP 503 reported")
check(runs["nullid"]["rpc_error_count"] > 0, "error reply with null id counted as a JSON-RPC error")
check(srv["unmasked"] == 0 and srv["repeated_mask"] == 0, "every client frame masked, no mask repeated")
check(srv["bad_key"] == 0, "Sec-WebSocket-Key is base64 of 16 bytes")
check(srv["pongs_bad"] == 0 and srv["pongs_ok"] > 0, "pongs echo the ping payload")
check(srv["client_close"] > 0 and set(srv["client_close_codes"]) <= {"1000", "1002"}, "client sends close frames (1000; 1002 on protocol errors)")
check(srv["big127"] > 0 and srv["big126"] > 0 and srv["fragmented"] > 0, "server exercised 64-bit, 16-bit lengths and fragments")
print("selftest:", "FAILED" if fails else "passed")
sys.exit(1 if fails else 0)
PY
