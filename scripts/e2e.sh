#!/usr/bin/env bash
# The demo page in real headless Chromium: send a message, all four panes show it, counters move;
# the network drops (offline, connections cut) and every pane resumes without losing a message.
#
#   just e2e                      (= bash scripts/e2e.sh)
#   CARGO_TARGET_DIR=target-x bash scripts/e2e.sh
#
# From a fresh machine: installs Debian's chromium if /usr/bin/chromium is missing (apt-get; no
# browser is ever downloaded by Playwright), installs playwright-core (pinned in
# tests/e2e/package.json), builds `demo` in release, starts it on 127.0.0.1:0 with `--history 8`
# (so a long enough outage outruns the history, and the panes must say what they missed), runs
# tests/e2e/e2e.mjs against it and stops it again. Exits with the test's status.
# Writes artifacts/e2e/demo.png (the page, full length), demo-resumed.png (after the outages)
# and artifacts/e2e/server.log.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
ART=$ROOT/artifacts/e2e
mkdir -p "$ART"

log() { printf 'e2e: %s\n' "$*" >&2; }

# 1. The browser: Debian's Chromium.
if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium (apt-get)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y chromium >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y chromium >/dev/null; }
fi

# 2. The driver: playwright-core only (it has no browser of its own to download).
command -v node >/dev/null || { log "node (>= 18) is required"; exit 1; }
log "npm install in tests/e2e"
(cd tests/e2e && npm install --no-audit --no-fund --loglevel=error >/dev/null)

# 3. The server: the page is compiled into the binary, so always rebuild.
log "building demo (release, target dir $TARGET)"
cargo build --release --bin demo --target-dir "$TARGET"

SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

STDOUT=$ART/server.out
: >"$STDOUT"
"$TARGET/release/demo" --addr 127.0.0.1:0 --history 8 >"$STDOUT" 2>"$ART/server.log" &
SERVER_PID=$!

# The first stdout line is `listening on http://ADDR`.
ADDR=""
for _ in $(seq 100); do
    ADDR=$(sed -n '1s#^listening on http://##p' "$STDOUT")
    [ -n "$ADDR" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { log "demo exited early:"; cat "$ART/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ADDR" ] || { log "demo did not print its address within 10 s"; exit 1; }
log "demo (pid $SERVER_PID) listening on $ADDR"

# 4. The test (bounded by its own timeout; `timeout` is a backstop).
status=0
timeout 120 node tests/e2e/e2e.mjs "$ADDR" || status=$?
exit "$status"
