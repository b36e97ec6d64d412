#!/usr/bin/env bash
# Installs what building, running and testing camera-service needs, only what is missing:
# Debian/Ubuntu packages with apt-get, the Python test tools into .venv with pip.
# Usage: scripts/install-deps.sh [run|test]   (test also sets up the Python venv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-run}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
updated=0
apt_update() { [ $updated = 1 ] || { $SUDO apt-get update -qq && updated=1; }; }

packages=(pkg-config libyaml-dev libssl-dev libsqlite3-dev libudev-dev libv4l-dev linux-libc-dev gcc binutils ffmpeg curl openssl)
# `make install` rewrites the rpath of what it installs; `python3 -m websockets` is the
# README's WebSocket client.
packages+=(patchelf python3-websockets)
if [ "$what" = test ]; then
    packages+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good v4l-utils)
    # systemd-analyze verifies the installed unit (Tests/integration/test_install.py).
    packages+=(systemd)
    # The web console's tests (Tests/browser) drive Debian's Chromium through its driver. Ubuntu
    # ships them only as snaps: there the browser tests skip, saying why.
    if installed chromium && installed chromium-driver; then :
    elif apt_update && apt-cache show chromium chromium-driver >/dev/null 2>&1; then
        packages+=(chromium chromium-driver)
    else
        echo "install-deps: no chromium/chromium-driver package here: Tests/browser will skip" >&2
    fi
    # The MediaMTX stand-in (Tests/mediamtx): GStreamer's RTSP server through Debian's python3-gi.
    packages+=(python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-bad)
    # Python may come from elsewhere (e.g. pyenv): only ask apt when no usable one is there.
    python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3 python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: apt-get install ${missing[*]}" >&2
    apt_update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    # Debian 13 / Ubuntu 25.04 and later package the toolchain; older releases need swift.org's.
    apt_update
    if apt-cache show swiftlang >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq swiftlang >/dev/null
    else
        echo "install-deps: no Swift toolchain found and none packaged for this release;" >&2
        echo "  install Swift 6 from https://www.swift.org/install/linux/ and put it on PATH" >&2
        exit 1
    fi
fi

if [ "$what" = test ]; then
    if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
    if ! .venv/bin/python -c 'import websockets, jwt, pytest, prometheus_client, jsonschema, selenium' 2>/dev/null; then
        echo "install-deps: pip install -r Tests/requirements.txt" >&2
        .venv/bin/pip install -q -r Tests/requirements.txt
    fi
fi
