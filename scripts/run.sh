#!/usr/bin/env bash
# Runs the release build with the repository's config.yaml and plugins.yaml. On first use it
# creates a random JWT secret in run/jwt.secret (git-ignored) and prints an admin token.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p run
if [ ! -s run/jwt.secret ]; then
    umask 077
    openssl rand -hex 32 > run/jwt.secret
    echo "run.sh: created run/jwt.secret" >&2
fi
export CAMERA_SERVICE_JWT_SECRET="${CAMERA_SERVICE_JWT_SECRET:-$(cat run/jwt.secret)}"
exec .build/release/camera-service --config config.yaml "$@"
