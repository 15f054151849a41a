# Shared helpers for scripts/bench-*.sh (sourced, not run). Everything started here is
# recorded by PID and stopped by PID on exit; nothing is killed by name.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/talkback-bench.XXXXXX")
chmod 755 "$BENCH_TMP"   # nginx workers drop to an unprivileged user
BENCH_PIDS=()

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# bench_need_packages PKG...: apt-get install whatever is missing (wrk, nginx, nchan).
bench_need_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        case $pkg in
            wrk) command -v wrk >/dev/null || missing+=(wrk) ;;
            nginx) command -v nginx >/dev/null || missing+=(nginx) ;;
            libnginx-mod-nchan) bench_nchan_module >/dev/null || missing+=(libnginx-mod-nchan) ;;
        esac
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    bench_log "installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y "${missing[@]}" >&2 \
        || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "${missing[@]}" >&2; }
}

# Path of Nchan's dynamic module, from the Debian package or its modules-enabled snippet.
bench_nchan_module() {
    local so
    for so in /usr/lib/nginx/modules/ngx_nchan_module.so /usr/share/nginx/modules/ngx_nchan_module.so; do
        [ -f "$so" ] && { echo "$so"; return 0; }
    done
    so=$(grep -hos '/[^ ;]*ngx_nchan_module\.so' /etc/nginx/modules-enabled/*.conf /usr/share/nginx/modules-available/*.conf 2>/dev/null | head -1)
    [ -n "$so" ] && [ -f "$so" ] && { echo "$so"; return 0; }
    return 1
}

# bench_build: release build of the load tools and the talkback binaries; sets BENCH_BIN.
bench_build() {
    local target=${CARGO_TARGET_DIR:-$BENCH_ROOT/target}
    case $target in /*) ;; *) target=$BENCH_ROOT/$target ;; esac
    BENCH_BIN=$target/release
    if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
        bench_log "cargo build --release -p talkback-bench -p talkback-server"
        (cd "$BENCH_ROOT" && cargo build --release --quiet -p talkback-bench -p talkback-server) >&2
    fi
}

# bench_build_uws: builds uWebSockets' peers (uws-echo, uws-pubsub) from the shared peers
# folder's sources into the git-ignored UWS_DIR (target/peers/uws); BENCH_UWS_BUILD names
# another build script. Returns 1, having said so, when there is no build script: the caller
# drops its uWebSockets rows.
bench_build_uws() {
    UWS_DIR=$BENCH_ROOT/target/peers/uws
    local build=${BENCH_UWS_BUILD:-$BENCH_ROOT/../shared/peers/uwebsockets/build.sh}
    if [ ! -f "$build" ]; then
        bench_log "no uWebSockets build script at $build (set BENCH_UWS_BUILD): uws rows skipped"
        return 1
    fi
    bench_log "building uWebSockets into $UWS_DIR"
    bash "$build" "$UWS_DIR" >&2
}

# bench_raise_nofile: as many descriptors as the hard limit allows (10 000 connections each
# side need it).
bench_raise_nofile() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# bench_start NAME CMD...: runs CMD in the background, waits for its first stdout line
# `listening on http://ADDR`, and sets BENCH_ADDR and BENCH_PID.
bench_start() {
    local name=$1
    shift
    local out=$BENCH_TMP/$name.out
    # Emptied here, not by the child's redirection: that runs after the fork, and a read
    # before it found the previous server's address (a run once measured a stopped server).
    : >"$out"
    "$@" >"$out" 2>"$BENCH_TMP/$name.err" &
    BENCH_PID=$!
    BENCH_PIDS+=("$BENCH_PID")
    BENCH_ADDR=
    for _ in $(seq 100); do
        BENCH_ADDR=$(head -1 "$out" 2>/dev/null | sed -n 's|^listening on http://||p')
        [ -n "$BENCH_ADDR" ] && return 0
        kill -0 "$BENCH_PID" 2>/dev/null || break
        sleep 0.1
    done
    bench_log "$name did not print 'listening on http://ADDR':"
    cat "$BENCH_TMP/$name.err" >&2
    return 1
}

# bench_stop PID: stops one process we started and waits for it.
bench_stop() {
    kill "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}

# A port nothing listens on now (nginx cannot report a port 0 choice on stdout).
bench_free_port() {
    local port low
    # Below the ephemeral range: a port that some closed client connection still holds in
    # TIME_WAIT (10 000 of them after the held scenario) answers no connect, yet cannot be bound.
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 50); do
        port=$((10000 + RANDOM % (low - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# bench_start_nginx NAME TEMPLATE: nginx in the foreground with our own config and prefix
# (@PORT@, @MODULE@ and @WORKERS@ — $BENCH_NGINX_WORKERS, default 2 — substituted); sets
# BENCH_ADDR, BENCH_PID (master) and BENCH_WORKERS.
bench_start_nginx() {
    local name=$1 template=$2 prefix=$BENCH_TMP/$1 port module
    mkdir -p "$prefix/tmp" "$prefix/logs"
    module=$(bench_nchan_module || true)
    for _ in 1 2 3; do
        port=$(bench_free_port)
        sed -e "s|@PORT@|$port|g" -e "s|@MODULE@|$module|g" -e "s|@WORKERS@|${BENCH_NGINX_WORKERS:-2}|g" \
            "$template" >"$prefix/nginx.conf"
        nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' \
            >"$BENCH_TMP/$name.out" 2>"$BENCH_TMP/$name.err" &
        BENCH_PID=$!
        BENCH_PIDS+=("$BENCH_PID")
        for _ in $(seq 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                BENCH_ADDR=127.0.0.1:$port
                sleep 0.2
                BENCH_WORKERS=$(ps --ppid "$BENCH_PID" -o pid= | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
                return 0
            fi
            kill -0 "$BENCH_PID" 2>/dev/null || break
            sleep 0.1
        done
        bench_stop "$BENCH_PID"
    done
    bench_log "nginx ($name) did not start:"
    cat "$BENCH_TMP/$name.err" "$prefix/error.log" >&2 2>/dev/null
    return 1
}

# bench_field LINE KEY: the value of KEY=… in a `BENCH …`/`WRK …` line.
bench_field() {
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# bench_ratio A B: A/B with two decimals, or n/a.
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# bench_median: the median line of stdin sorted numerically by field $1 (lower median).
bench_median() {
    local key=$1
    awk -v k="$key" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { split($i, kv, "="); print kv[2], $0 } }' \
        | sort -g | awk '{ lines[NR] = $0 } END { if (NR) { l = lines[int((NR + 1) / 2)]; sub(/^[^ ]* /, "", l); print l } }'
}

# bench_median_of KEY: the median (lower median) of KEY's values over the lines of stdin.
bench_median_of() {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" | sort -g | awk '{ v[NR] = $0 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# bench_max_of KEY: the largest of KEY's values over the lines of stdin.
bench_max_of() {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" | sort -g | tail -n 1
}

# bench_check_quiet: warn when something else is using the CPU (figures would be noise).
bench_check_quiet() {
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" 'BEGIN { exit !(l > 0.7) }'; then
        bench_log "WARNING: load average is $load before starting; other work on this machine will skew the figures"
    fi
}
