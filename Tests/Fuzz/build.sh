#!/usr/bin/env bash
# Builds the libFuzzer targets with coverage instrumentation on every module they exercise
# (PluginAPI, Codecs, WireProtocols, JWTAuthCore compiled here with -sanitize=fuzzer,address).
# Output: Tests/Fuzz/bin/<Target>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/../../Sources"
bin="$here/bin"
mods="$bin/modules"
mkdir -p "$mods"
flags=(-swift-version 6 -parse-as-library -O -sanitize=fuzzer,address -I "$mods" -I "$src/CSystem/COpenSSL" -I "$src/PluginAPI/CSupport")

module() { # name dir
    local name="$1" dir="$2"
    mapfile -t files < <(find "$dir" -name '*.swift' ! -name Package.swift | sort)
    swiftc "${flags[@]}" -static -emit-library -module-name "$name" -emit-module -emit-module-path "$mods/$name.swiftmodule" \
        "${files[@]}" -o "$mods/lib$name.a"
}
module PluginAPI "$src/PluginAPI"
module Codecs "$src/Codecs"
module WireProtocols "$src/WireProtocols"
module JWTAuthCore "$src/Plugins/JWTAuth/Core"

for target in FuzzWebSocket FuzzHTTP FuzzJSONRPC FuzzJWT; do
    swiftc "${flags[@]}" "$here/$target.swift" "$mods/libJWTAuthCore.a" "$mods/libWireProtocols.a" "$mods/libCodecs.a" \
        "$mods/libPluginAPI.a" -lssl -lcrypto -o "$bin/$target"
done
echo "$bin"
