#!/usr/bin/env bash
# The publish token, the Origin allow-list and CORS in real headless Chromium: pages on two
# other origins use the hub (tests/e2e/guard.mjs), one listed with --allow-origin, one not.
#
#   bash scripts/e2e-guard.sh                     (after scripts/e2e.sh has set up the browser)
#   CARGO_TARGET_DIR=target-x bash scripts/e2e-guard.sh
#
# Needs /usr/bin/chromium and node (scripts/e2e.sh installs both on a fresh machine), installs
# playwright-core (tests/e2e/package.json), builds `demo` in release, and runs the test, which
# starts and stops its own hub. Exits with the test's status.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac

[ -x /usr/bin/chromium ] || { echo "e2e-guard: /usr/bin/chromium is missing (scripts/e2e.sh installs it)" >&2; exit 1; }
command -v node >/dev/null || { echo "e2e-guard: node (>= 18) is required" >&2; exit 1; }
(cd tests/e2e && npm install --no-audit --no-fund --loglevel=error >/dev/null)
cargo build --release --bin demo --target-dir "$TARGET"
timeout 80 node tests/e2e/guard.mjs "$TARGET/release/demo"
