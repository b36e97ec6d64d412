#!/usr/bin/env bash
# Runs ../shared/bench/compare.sh (the minimal Go server vs ours, same load generator, same run).
# The shared kit may be read-only, so it is copied to a scratch directory first; its build
# scripts install Debian's Go toolchain if missing. Extra arguments go to compare.sh, e.g.
#   benchmarks/compare.sh -s "a b c d10k cam" -r 3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit="${BENCH_KIT:-$here/../../shared/bench}"
[ -d "$kit" ] || { echo "compare.sh: no bench kit at $kit (set BENCH_KIT)" >&2; exit 1; }
work="${BENCH_WORK:-${TMPDIR:-/tmp}/camera-service-bench-kit}"
mkdir -p "$work"
cp -rn "$kit"/. "$work"/ 2>/dev/null || cp -r "$kit"/. "$work"/
chmod -R u+w "$work"
(cd "$here/.." && swift build -c release >/dev/null)  # no-op when up to date
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-s "a b c d10k cam" -r 3)
exec "$work/compare.sh" -t "go ours=$here/start-daemon.sh" "${args[@]}"
