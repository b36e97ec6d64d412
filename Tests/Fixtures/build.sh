#!/usr/bin/env bash
# Builds the deliberately broken plugins the loader tests use.
# Usage: Tests/Fixtures/build.sh BUILD_DIR OUT_DIR
#   BUILD_DIR: the SwiftPM build directory holding libPluginAPI.so and Modules/ (.build/debug)
#   OUT_DIR:   where the fixture libraries go
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "$1" && pwd)"
out="$2"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
api_src="$here/../../Sources/PluginAPI"
swiftc_plugin() { # name source [extra flags...]
    local name="$1" src="$2"; shift 2
    swiftc -swift-version 6 -parse-as-library -emit-library -module-name "$name" "$src" \
        -I "$build/Modules" -L "$build" -lPluginAPI -Xlinker -rpath -Xlinker "$build" "$@" -o "$out/lib$name.so"
}
for f in WrongVersion WrongType FailingActivation DuplicateMethod EventSource SDKFeatures DirStorage; do
    swiftc_plugin "Fixture$f" "$here/Plugins/$f.swift"
done

# A plugin that links its own static copy of PluginAPI instead of the shared library.
static="$out/static-api"
mkdir -p "$static"
mapfile -t api_files < <(find "$api_src" -maxdepth 1 -name '*.swift' ! -name Package.swift | sort)
swiftc -swift-version 6 -parse-as-library -static -emit-library -module-name PluginAPI -enable-library-evolution \
    -I "$api_src/CSupport" -emit-module -emit-module-path "$static/PluginAPI.swiftmodule" "${api_files[@]}" -o "$static/libPluginAPI.a"
swiftc -swift-version 6 -parse-as-library -emit-library -module-name FixturePrivateCopy "$here/Plugins/PrivateCopy.swift" \
    -I "$static" "$static/libPluginAPI.a" -o "$out/libFixturePrivateCopy.so"

gcc -shared -fPIC -o "$out/libNotAPlugin.so" "$here/Plugins/notaplugin.c"
head -c 4096 /dev/urandom > "$out/libGarbage.so"
printf 'plugins: []\n' > "$out/libYamlRenamed.so"
echo "$out"
