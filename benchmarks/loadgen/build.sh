#!/usr/bin/env bash
# Build the C load generator into benchmarks/bin/loadgen (git-ignored).
# Needs gcc and OpenSSL's libcrypto headers (libssl-dev) for SHA-1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../bin"
mkdir -p "$out"
gcc -O2 -Wall -Wextra -std=gnu11 -o "$out/loadgen" "$here/loadgen.c" -lcrypto -lm
echo "$(cd "$out" && pwd)/loadgen"
