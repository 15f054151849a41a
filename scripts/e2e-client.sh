#!/usr/bin/env bash
# talkback.js in real headless Chromium: with WebSocket upgrades refused or swallowed it falls
# back to SSE, with the event stream held back too to long polling; 500 messages across a
# WebSocket cut mid-stream arrive once and in order; once allowed again it returns to the
# WebSocket; the demo page's fifth pane shows the choice (tests/e2e/client.mjs).
#
#   just e2e-client               (= bash scripts/e2e-client.sh)
#   CARGO_TARGET_DIR=target-x bash scripts/e2e-client.sh
#
# Needs /usr/bin/chromium and node (scripts/e2e.sh installs both on a fresh machine), installs
# playwright-core (tests/e2e/package.json), builds `demo` in release, and runs the test, which
# starts its own two hubs and the proxy in front of one. Writes the fallback figures to
# artifacts/e2e/client-fallback.json and the fifth pane to artifacts/e2e/client-pane.png.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac

[ -x /usr/bin/chromium ] || { echo "e2e-client: /usr/bin/chromium is missing (scripts/e2e.sh installs it)" >&2; exit 1; }
command -v node >/dev/null || { echo "e2e-client: node (>= 18) is required" >&2; exit 1; }
(cd tests/e2e && npm install --no-audit --no-fund --loglevel=error >/dev/null)
cargo build --release --bin demo --target-dir "$TARGET"
E2E_ARTIFACTS=$ROOT/artifacts/e2e timeout 180 node tests/e2e/client.mjs "$TARGET/release/demo"
