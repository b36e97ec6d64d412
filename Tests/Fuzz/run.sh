#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 10 s each) from its seed corpus.
# A crash fails the run and leaves the reproducer in Tests/Fuzz/bin/crash-*.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${1:-10}"
mkdir -p "$here/bin"
if ! "$here/build.sh" >"$here/bin/build.log" 2>&1; then
    echo "fuzz: build failed"; grep -E 'error' "$here/bin/build.log" | head -20; exit 1
fi
failed=0
passed=0
for target in FuzzWebSocket FuzzHTTP FuzzJSONRPC FuzzJWT; do
    corpus="$here/bin/corpus-$target"
    mkdir -p "$corpus"
    cp -n "$here/seeds/$target"/* "$corpus/" 2>/dev/null || true
    if "$here/bin/$target" -max_total_time="$seconds" -max_len=8192 -artifact_prefix="$here/bin/crash-$target-" \
        "$corpus" >"$here/bin/$target.log" 2>&1; then
        runs=$(grep -oE 'Done [0-9]+ runs' "$here/bin/$target.log" | tail -1)
        echo "fuzz $target: ok (${runs:-?} in ${seconds}s)"
        passed=$((passed + 1))
    else
        echo "fuzz $target: FAILED, see $here/bin/$target.log"
        tail -30 "$here/bin/$target.log"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
