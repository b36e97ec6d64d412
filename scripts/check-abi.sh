#!/usr/bin/env bash
# PluginAPI's ABI against the committed baseline (Sources/PluginAPI/abi/PluginAPI.json): fails
# on any breaking change (a removed or changed public declaration, a new protocol requirement
# without a default, a layout change of a frozen type). Additions are fine: bump the minor of
# pluginAPIVersion for them and refresh the baseline on purpose with --update.
# Usage: scripts/check-abi.sh [--update] [BUILD_DIR]   (BUILD_DIR: .build/debug by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
build="${1:-.build/debug}"
baseline="${CHECK_ABI_BASELINE:-Sources/PluginAPI/abi/PluginAPI.json}"  # (the override is for its own test)
interface="$build/Modules/PluginAPI.swiftinterface"
[ -f "$interface" ] || { echo "check-abi: $interface not found; build first (swift build)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Dump from the module interface: it holds the public declarations only (internal ones are
# not ABI an integrator can depend on).
cp "$interface" "$work/"
swift-api-digester -dump-sdk -abi -module PluginAPI -use-interface-for-module PluginAPI -I "$work" -I Sources/PluginAPI/CSupport \
    -avoid-location -avoid-tool-args -o "$work/current.json"
if [ "$update" = 1 ]; then
    cp "$work/current.json" "$baseline"
    echo "check-abi: baseline updated ($baseline)"
    exit 0
fi
swift-api-digester -diagnose-sdk -abi -input-paths "$baseline" -input-paths "$work/current.json" > "$work/report.txt" 2>&1 || true
# The report lists changes under /* section */ headers; a new declaration is the only kind of
# change that keeps old plugins working, every other line (removed, renamed, mangled name or
# type changed, moved in a frozen layout, new protocol requirement) is a break.
grep -v -e '^/\*' -e '^$' -e 'is a new API without' "$work/report.txt" > "$work/breaks.txt" || true
if [ -s "$work/breaks.txt" ]; then
    echo "check-abi: PluginAPI breaks its ABI against $baseline:" >&2
    cat "$work/breaks.txt" >&2
    echo "Restore the declarations (add, never change), or — only for a new major — bump pluginAPIVersion's major and run scripts/check-abi.sh --update." >&2
    exit 1
fi
added=$(grep -c "is a new API" "$work/report.txt" || true)
echo "check-abi: no breaking change against the baseline ($added addition(s))"
