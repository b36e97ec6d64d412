#!/usr/bin/env bash
# Starts the release daemon for a benchmark (the interface ../shared/bench/compare.sh expects):
#   benchmarks/start-daemon.sh PORT
# Uses WSBENCH_JWT_SECRET as the JWT secret and pins to BENCH_SERVER_CPUS when set; logs to
# $BENCH_LOG (default /tmp/camera-service-bench-PORT.log); prints the PID last, returns once
# the port accepts connections.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:?usage: start-daemon.sh PORT}"
bin="${CAMERA_SERVICE_BIN:-$here/../.build/release/camera-service}"
dir="$(mktemp -d /tmp/camera-service-bench.XXXXXX)"
cat > "$dir/config.yaml" <<YAML
# Throughput runs from one address, not limit tests: lift the per-address cap (default 64),
# the unauthenticated budget (connections open before they authenticate) and the
# per-connection rate limit (default 100/s).
server: {host: 127.0.0.1, port: $port, max_connections: 20000, max_connections_per_ip: 20000}
logging: {level: warning}
security: {rate_limit: {requests_per_second: 1000000000, burst: 1000000000}, unauthenticated_connection_share: 1}
YAML
cat > "$dir/plugins.yaml" <<YAML
plugins:
  - {name: jwt_auth, library: JWTAuth, required: true}
  - {name: test_pattern_source, library: TestPatternSource}
YAML
export CAMERA_SERVICE_JWT_SECRET="${WSBENCH_JWT_SECRET:-bench-secret-0123456789abcdef0123456789abcdef}"
log="${BENCH_LOG:-/tmp/camera-service-bench-$port.log}"
pin=()
[ -n "${BENCH_SERVER_CPUS:-}" ] && pin=(taskset -c "$BENCH_SERVER_CPUS")
"${pin[@]}" "$bin" --config "$dir/config.yaml" >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 200); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$pid"; exit 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "daemon exited; see $log" >&2; exit 1; }
    sleep 0.05
done
echo "daemon did not listen on $port; see $log" >&2
kill "$pid"
exit 1
