#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 10 s each) from the committed seeds
# (Tests/Fuzz/seeds/<Target>, read-only) and the corpus grown in Tests/Fuzz/bin.
# A target fails the run when it crashes, when one input runs longer than FUZZ_TIMEOUT seconds
# (default 5: a hang fails in seconds), when it runs out of memory, or when it executed no
# input at all. Reproducers are left in Tests/Fuzz/bin/crash-<Target>-*.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${1:-10}"
per_input="${FUZZ_TIMEOUT:-5}"
mkdir -p "$here/bin"
if ! "$here/build.sh" >"$here/bin/build.log" 2>&1; then
    echo "fuzz: build failed"; grep -E 'error' "$here/bin/build.log" | head -20; exit 1
fi
failed=0
passed=0
for target in FuzzWebSocket FuzzHTTP FuzzJSONRPC FuzzJWT; do
    corpus="$here/bin/corpus-$target"
    seeds="$here/seeds/$target"
    log="$here/bin/$target.log"
    mkdir -p "$corpus"
    nseeds=$(find "$seeds" -type f | wc -l)
    status=0
    # The outer timeout only guards against libFuzzer itself never returning.
    timeout -k 10 $((seconds + per_input + 60)) "$here/bin/$target" -max_total_time="$seconds" -timeout="$per_input" \
        -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$here/bin/crash-$target-" \
        "$corpus" "$seeds" >"$log" 2>&1 || status=$?
    runs=$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    problem=""
    if grep -qE 'ERROR: libFuzzer: timeout|ALARM: working on the last Unit' "$log"; then
        problem="an input ran longer than ${per_input}s (hang)"
    elif grep -qE 'ERROR: libFuzzer: out-of-memory|ERROR: libFuzzer: malloc' "$log"; then
        problem="out of memory"
    elif grep -qE 'ERROR: (libFuzzer|AddressSanitizer)|SUMMARY: (libFuzzer|AddressSanitizer)|Fatal error|deadly signal' "$log"; then
        problem="crashed"
    elif [ "$status" -ne 0 ]; then
        problem="exited with status $status"
    elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
        problem="executed no inputs (${runs:-no 'Done N runs' line})"
    elif [ "$runs" -lt "$nseeds" ]; then
        problem="executed $runs inputs, fewer than its $nseeds seeds"
    fi
    if [ -z "$problem" ]; then
        echo "fuzz $target: ok ($runs runs in ${seconds}s from $nseeds seeds)"
        passed=$((passed + 1))
    else
        echo "fuzz $target: FAILED: $problem; see $log"
        tail -30 "$log"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
