#!/usr/bin/env bash
# Runs berth's whole test suite: unit tests and integration tests that drive real berthd, runc,
# ctr, containerd and a registry on 127.0.0.1. Needs root (containers, mounts). Builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
