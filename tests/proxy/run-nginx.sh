#!/usr/bin/env bash
# The demo behind a real nginx, configured by deploy/nginx/talkback.conf as docs/deploy.md tells
# an operator to: builds `demo` (release), starts it on 127.0.0.1:0, starts Debian's nginx in
# the foreground with its own prefix, pid file, logs and temp dirs (nothing under /etc or /var
# is touched), and runs tests/proxy/through-nginx.mjs through it: short polling, long-polling
# held and answered, SSE streamed unbuffered with Last-Event-ID resume, WebSocket upgrade with
# publish and replay. Then the demo page in headless Chromium through nginx: tests/e2e/e2e.mjs,
# network drops included (skipped, loudly, without /usr/bin/chromium; scripts/e2e.sh installs
# it). The config is used verbatim except for two lines: `listen 80;` becomes
# nginx's test port and the upstream's `server 127.0.0.1:8080;` the demo's address. Both
# processes are stopped by their PIDs on exit. Prints PASS/FAIL lines and `N passed, M failed`.
#
#   bash tests/proxy/run-nginx.sh              # = just proxy; honours CARGO_TARGET_DIR
#   LONG_HOLD=1 bash tests/proxy/run-nginx.sh  # also hold a long-poll 70 s (past nginx's default)
#
# nginx missing? `apt-get install nginx` (CI installs it; see .ci/run).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/proxy"
conf="$root/deploy/nginx/talkback.conf"
cd "$root"
source "$root/scripts/lib/listening.sh"

command -v nginx >/dev/null || { echo "nginx is not installed (apt-get install nginx)" >&2; exit 1; }
cargo build --release --bin demo || exit 1
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$root/$target"
(cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm install failed" >&2; exit 1; }

work="$(mktemp -d)"
chmod 755 "$work"   # nginx workers run as an unprivileged user when the master is root
mkdir -p "$work/tmp"
demo_pid=""
nginx_pid=""
stop() {
    [[ -n "$1" ]] || return 0
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
    stop "$nginx_pid"
    stop "$demo_pid"
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$target/release/demo" --addr 127.0.0.1:0 --history 8 >"$work/demo.out" 2>"$work/demo.err" &   # e2e.mjs needs 8
demo_pid=$!
hub="$(listening_addr demo "$demo_pid" "$work/demo.out" "$work/demo.err")" || exit 1

# A port nothing listens on now (nginx cannot bind port 0 and tell us which it got).
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# The wrapper: only what a real install keeps in /etc/nginx/nginx.conf, pointed at $work.
start_nginx() {
    local port=$1
    grep -qx '    listen 80;' "$conf" && grep -qx '    server 127.0.0.1:8080;' "$conf" \
        || { echo "deploy/nginx/talkback.conf no longer has the two lines this script rewrites" >&2; return 2; }
    sed -e "s|^    listen 80;\$|    listen 127.0.0.1:$port;|" \
        -e "s|^    server 127.0.0.1:8080;\$|    server $hub;|" "$conf" >"$work/talkback.conf"
    cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log info;
events { worker_connections 1024; }
http {
    access_log $work/access.log;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    include $work/talkback.conf;
}
EOF
    nginx -t -q -p "$work" -c "$work/nginx.conf" 2>"$work/nginx-t.err" \
        || { echo "nginx -t refused the configuration:" >&2; cat "$work/nginx-t.err" >&2; return 2; }
    nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>"$work/nginx.err" &
    nginx_pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop "$nginx_pid"
    nginx_pid=""
    return 1
}

proxy=""
for _ in 1 2 3; do
    port="$(free_port)" || break
    start_nginx "$port"
    case $? in
        0) proxy="127.0.0.1:$port"; break ;;
        2) exit 1 ;;
    esac
done
if [[ -z "$proxy" ]]; then
    echo "nginx did not start:" >&2
    cat "$work/nginx.err" "$work/error.log" >&2 2>/dev/null
    exit 1
fi
echo "demo (pid $demo_pid) on $hub; $(nginx -v 2>&1) (pid $nginx_pid) on $proxy in front of it; node $(node --version)"

out="$work/client.out"
status=0
timeout $((${LONG_HOLD:+80} + 60)) node "$here/through-nginx.mjs" "http://$proxy" >"$out" 2>&1 || status=$?
cat "$out"
passed=$(grep -c '^PASS ' "$out")
failed=$(grep -c '^FAIL ' "$out")
if [[ $status -ne 0 && $failed -eq 0 ]]; then
    echo "FAIL through-nginx.mjs: exited with status $status"
    failed=$((failed + 1))
fi

# The page through nginx: every e2e check, the network drops too.
if [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
    echo "--- the demo page in headless Chromium, through nginx"
    (cd "$root/tests/e2e" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm install failed" >&2; exit 1; }
    page_out="$work/e2e.out"
    page_status=0
    E2E_ARTIFACTS="$root/artifacts/proxy" timeout 120 node "$root/tests/e2e/e2e.mjs" "$proxy" >"$page_out" 2>&1 \
        || page_status=$?
    grep -v -E '^(PASS |[0-9]+ passed, )' "$page_out"
    p=$(grep -c '^PASS ' "$page_out")
    f=$(grep -c '^FAIL ' "$page_out")
    echo "(the page: $p checks passed through nginx)"
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $page_status -ne 0 && $f -eq 0 ]]; then
        echo "FAIL e2e.mjs through nginx: exited with status $page_status"
        failed=$((failed + 1))
    fi
else
    echo "SKIPPED the page through nginx: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (bash scripts/e2e.sh installs it)"
fi

for who in demo:"$demo_pid" nginx:"$nginx_pid"; do
    if ! kill -0 "${who#*:}" 2>/dev/null; then
        echo "FAIL ${who%%:*} still running after the test"
        failed=$((failed + 1))
    fi
done
if [[ $failed -ne 0 ]]; then
    echo "--- nginx error.log (last lines)"
    tail -n 20 "$work/error.log" 2>/dev/null
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
