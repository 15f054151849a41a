#!/usr/bin/env bash
# WebSocket interop with real peers over loopback (127.0.0.1, port 0 only):
#
#   python websockets (sync client)  -> ws-echo        tests/interop/ws/py_client.py
#   ws-client                        -> python websockets (sync server)   py_server.py
#   node ws (client)                 -> ws-echo, demo   tests/interop/ws/node_client.mjs
#   ws-client                        -> node ws (server)                  node_server.mjs
#
# Every peer has permessage-deflate (RFC 7692) on, and the checks see it negotiated.
#
# Builds the release binaries (honours CARGO_TARGET_DIR, default target), installs websockets
# 17.4 with pip and ws@8 with npm, starts ws-echo and demo on 127.0.0.1:0, runs every check
# under a timeout, and stops the servers it started by PID. Each check prints PASS/FAIL; the
# last line is `N passed, M failed`, and the exit status is non-zero on any failure.
#
#   bash tests/interop/run-ws.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/interop/ws"
cd "$root"
source "$root/scripts/lib/listening.sh"

# How long one peer's whole run may take before it counts as failed.
RUN_TIMEOUT="${RUN_TIMEOUT:-120}"

cargo build --release --bin ws-echo --bin ws-client --bin demo
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$root/$target"
bin="$target/release"

if [[ "$(python3 -c 'import websockets; print(websockets.__version__)' 2>/dev/null)" != "17.4" ]]; then
    # A Debian-managed python3 refuses plain installs (PEP 668); this script is its own user.
    python3 -m pip install -q --disable-pip-version-check websockets==17.4 2>/dev/null ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages websockets==17.4
fi
(cd "$here" && npm install --no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME: runs $bin/NAME on 127.0.0.1:0 and sets $addr from its first stdout line,
# `listening on http://ADDR`.
start() {
    local name="$1" pid
    "$bin/$name" --addr 127.0.0.1:0 >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    addr="$(listening_addr "$name" "$pid" "$work/$name.out" "$work/$name.err")" || exit 1
    echo "$name (pid $pid) on $addr"
}

start ws-echo
echo_addr="$addr"
start demo
demo_addr="$addr"
echo "python websockets $(python3 -c 'import websockets; print(websockets.__version__)'), node $(node --version)," \
    "ws $(node -p "require('$here/node_modules/ws/package.json').version")"

passed=0
failed=0
# run NAME CMD...: runs one peer's checks under a timeout and counts its PASS/FAIL lines; a
# peer that fails without a FAIL line (crash, timeout) counts as one failure.
run() {
    local name="$1" status=0 p f
    shift
    timeout "$RUN_TIMEOUT" "$@" >"$work/$name.log" 2>&1 || status=$?
    cat "$work/$name.log"
    p="$(grep -c '^PASS ' "$work/$name.log" || true)"
    f="$(grep -c '^FAIL ' "$work/$name.log" || true)"
    if [[ "$status" -ne 0 && "$f" -eq 0 ]]; then
        echo "FAIL $name: exited with status $status$([[ $status -eq 124 ]] && echo " (timed out after ${RUN_TIMEOUT}s)")"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

run py-client python3 "$here/py_client.py" "$echo_addr"
run py-server python3 "$here/py_server.py" "$bin/ws-client"
run node-ws node "$here/node_client.mjs" "$echo_addr" "$demo_addr"
run node-ws-server node "$here/node_server.mjs" "$bin/ws-client"

# The servers must have survived every peer.
for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "FAIL server pid $pid exited during the run"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
