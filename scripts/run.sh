#!/usr/bin/env bash
# `make run`: the release build as a demo with the repository's config.yaml and plugins.yaml.
# It prints the console URL and a viewer, operator and admin token first, then logs as JSON
# lines. Arguments go to camera-service; state (recordings, snapshots, API keys) lives in data/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .build/release/camera-service --config config.yaml --demo "$@"
