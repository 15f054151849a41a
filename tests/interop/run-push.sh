#!/usr/bin/env bash
# Real push clients against the hub: builds `demo` (release), starts it on 127.0.0.1:0 with a
# small history (8, so the `missed` notice can be seen), and runs
#   1. Node `eventsource` (tests/interop/push/sse-eventsource.mjs): live stream, ?lastEventId replay
#   2. `curl -N`: the exact event-stream bytes, live and after Last-Event-ID
#   3. Python `httpx-sse` (tests/interop/push/sse_httpx.py): live, replay, missed
#   4. Node `ws` (tests/interop/push/ws-client.mjs): own message back, POSTed message, close 1003
#   5. Node `ws` with `talkback.json` (tests/interop/push/ws-json.mjs): ids in frames, ?after= replay
#   6. Python `prometheus_client.parser` (tests/interop/push/metrics_prometheus.py): GET /metrics
# Every check prints PASS or FAIL; the last line is `N passed, M failed`; exits non-zero on any
# failure. The server is stopped by its PID when the script exits.
#
#   bash tests/interop/run-push.sh          # honours CARGO_TARGET_DIR
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
push="$root/tests/interop/push"
cd "$root"
source "$root/scripts/lib/listening.sh"

cargo build --release --bin demo || exit 1
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$root/$target"
bin="$target/release/demo"

(cd "$push" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm install failed" >&2; exit 1; }
if ! python3 -c 'import httpx, httpx_sse' 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check httpx httpx-sse==0.4.3 || exit 1
fi
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check prometheus-client || exit 1
fi

work="$(mktemp -d)"
"$bin" --addr 127.0.0.1:0 --history 8 >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
curl_pid=""
cleanup() {
    [[ -n "$curl_pid" ]] && kill "$curl_pid" 2>/dev/null
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

base="http://$(listening_addr demo "$server_pid" "$work/stdout" "$work/stderr")" || exit 1
echo "demo (pid $server_pid) on $base; node $(node --version), curl $(curl --version | head -n 1 | cut -d' ' -f2)," \
     "httpx-sse $(python3 -c 'import importlib.metadata as m; print(m.version("httpx-sse"))')," \
     "prometheus-client $(python3 -c 'import importlib.metadata as m; print(m.version("prometheus-client"))')"

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }

# Runs a client script, echoing its lines and counting its PASS/FAIL lines. A script that exits
# non-zero without printing a FAIL line counts as one failure.
run_client() {
    local name="$1"
    shift
    local out="$work/$name.out" status=0
    timeout 60 "$@" >"$out" 2>&1 || status=$?
    cat "$out"
    local p f
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $status -ne 0 && $f -eq 0 ]]; then
        fail "$name" "exited with status $status"
    fi
}

# Waits (bounded) until curl has written the response head, i.e. the stream is subscribed.
wait_for_head() {
    for _ in $(seq 1 100); do
        grep -q '^HTTP/1.1 200' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

publish() {
    curl -sS --noproxy '*' --max-time 5 --data-binary "$2" "$base/ch/$1" >/dev/null
}

curl_sse() {
    local channel=curl
    # Live: three messages, one with a newline; the raw bytes must be exactly the hub's events.
    curl -sN --noproxy '*' --max-time 3 -D "$work/curl.head" -o "$work/curl.body" "$base/ch/$channel/sse" &
    curl_pid=$!
    if ! wait_for_head "$work/curl.head"; then
        fail "curl: SSE stream opens" "no 200 head"
        return
    fi
    publish "$channel" "hello"
    publish "$channel" $'two\nlines'
    publish "$channel" "three"
    wait "$curl_pid" 2>/dev/null
    curl_pid=""
    local expected=$'id: 1\ndata: hello\n\nid: 2\ndata: two\ndata: lines\n\nid: 3\ndata: three\n\n'
    if [[ "$(cat "$work/curl.body"; printf x)" == "${expected}x" ]]; then
        pass "curl -N: live events byte for byte"
    else
        fail "curl -N: live events byte for byte" "got $(od -c "$work/curl.body" | head -n 5 | tr '\n' ' ')"
    fi
    if grep -qi '^content-type: text/event-stream' "$work/curl.head" && grep -qi '^cache-control: no-cache' "$work/curl.head"; then
        pass "curl -N: text/event-stream, no-cache"
    else
        fail "curl -N: text/event-stream, no-cache" "$(tr '\r\n' '  ' <"$work/curl.head")"
    fi
    # Replay: Last-Event-ID: 1 gives ids 2 and 3 at once.
    curl -sN --noproxy '*' --max-time 1 -H 'Last-Event-ID: 1' -o "$work/curl.replay" "$base/ch/$channel/sse"
    local replay=$'id: 2\ndata: two\ndata: lines\n\nid: 3\ndata: three\n\n'
    if [[ "$(cat "$work/curl.replay"; printf x)" == "${replay}x" ]]; then
        pass "curl -N: Last-Event-ID replay byte for byte"
    else
        fail "curl -N: Last-Event-ID replay byte for byte" "got $(od -c "$work/curl.replay" | head -n 5 | tr '\n' ' ')"
    fi
}

echo "--- 1. eventsource (Node)"
run_client eventsource node "$push/sse-eventsource.mjs" "$base"
echo "--- 2. curl -N"
curl_sse
echo "--- 3. httpx-sse (Python)"
run_client httpx-sse python3 "$push/sse_httpx.py" "$base"
echo "--- 4. ws (Node)"
run_client ws node "$push/ws-client.mjs" "$base"
echo "--- 5. ws with talkback.json (Node)"
run_client ws-json node "$push/ws-json.mjs" "$base"
echo "--- 6. prometheus_client (Python): GET /metrics"
run_client metrics python3 "$push/metrics_prometheus.py" "$base"

if ! kill -0 "$server_pid" 2>/dev/null; then
    fail "demo still running after the clients" "$(tail -n 5 "$work/stderr")"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
