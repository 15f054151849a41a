#!/usr/bin/env bash
# The hub on Redis side by side with Nchan on Redis, in the same topology: two nodes on one
# redis-server, every message published on node 1, the SSE subscribers split across both.
#
#   just bench-cluster                          (= bash scripts/bench-cluster.sh)
#   BENCH_SUBSCRIBERS=50 BENCH_MESSAGES=20 bash scripts/bench-cluster.sh   (a smoke run)
#
# Scenario: push-load's `sse` (crates/bench/src/bin/push-load.rs) with two --sse-url's —
# 1 000 subscribers (half on each node), 200 messages POSTed back to back to node 1.
# Figures: delivered / lost / duplicated (by sequence), p50/p99 publish->receive latency,
# deliveries per second; each server pair gets a fresh redis-server (temporary directory,
# persistence off). Env: BENCH_SUBSCRIBERS (1000), BENCH_MESSAGES (200),
# BENCH_SERVERS ("talkback nchan"), BENCH_TALKBACK_ARGS (""), BENCH_NGINX_WORKERS (2),
# BENCH_SKIP_BUILD. Needs redis-server, nginx and libnginx-mod-nchan (installed if missing).
set -euo pipefail
source "$(dirname "$0")/bench/lib.sh"

SUBS=${BENCH_SUBSCRIBERS:-1000}
MSGS=${BENCH_MESSAGES:-200}
SERVERS=${BENCH_SERVERS:-talkback nchan}

bench_need_packages redis-server nginx libnginx-mod-nchan
bench_build
bench_raise_nofile
bench_check_quiet

# start_redis NAME: a fresh redis-server on a free port; sets REDIS_ADDR.
start_redis() {
    local port dir=$BENCH_TMP/$1
    mkdir -p "$dir"
    port=$(bench_free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        >"$dir/redis.log" 2>&1 &
    BENCH_PIDS+=("$!")
    REDIS_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { REDIS_ADDR=127.0.0.1:$port; return 0; }
        sleep 0.05
    done
    bench_log "redis-server did not start"; return 1
}

# start_pair NAME: two nodes of NAME on one Redis; sets NODE1, NODE2, STYLE and PAIR_PIDS.
start_pair() {
    start_redis "redis-$1"
    case $1 in
        talkback)
            # shellcheck disable=SC2086 # the args are words on purpose
            bench_start node1 "$BENCH_BIN/demo" --addr 127.0.0.1:0 --redis "redis://$REDIS_ADDR" ${BENCH_TALKBACK_ARGS-}
            NODE1=$BENCH_ADDR PAIR_PIDS="$BENCH_PID"
            # shellcheck disable=SC2086
            bench_start node2 "$BENCH_BIN/demo" --addr 127.0.0.1:0 --redis "redis://$REDIS_ADDR" ${BENCH_TALKBACK_ARGS-}
            NODE2=$BENCH_ADDR PAIR_PIDS="$PAIR_PIDS $BENCH_PID"
            STYLE=talkback
            # Both nodes have joined once a POST is stored through each.
            for node in "$NODE1" "$NODE2"; do
                for _ in $(seq 100); do
                    curl -sf -o /dev/null -d ready "http://$node/ch/ready" && break
                    sleep 0.05
                done
            done ;;
        nchan)
            sed "s|@REDIS@|$REDIS_ADDR|g" "$BENCH_ROOT/scripts/bench/nchan-redis.conf" >"$BENCH_TMP/nchan-redis.conf"
            bench_start_nginx nchan1 "$BENCH_TMP/nchan-redis.conf"
            NODE1=$BENCH_ADDR PAIR_PIDS="$BENCH_PID"
            bench_start_nginx nchan2 "$BENCH_TMP/nchan-redis.conf"
            NODE2=$BENCH_ADDR PAIR_PIDS="$PAIR_PIDS $BENCH_PID"
            STYLE=nchan ;;
        *) bench_log "unknown server $1"; exit 1 ;;
    esac
}

failed=0
declare -A LINE
for s in $SERVERS; do
    start_pair "$s"
    bench_log "$s: nodes $NODE1 (publisher) and $NODE2, redis $REDIS_ADDR"
    args=(--scenario sse --style "$STYLE" --label "$s-2nodes" --subscribers "$SUBS" --messages "$MSGS"
        --publish-url "http://$NODE1/ch/{c}" --sse-url "http://$NODE1/ch/{c}/sse" --sse-url "http://$NODE2/ch/{c}/sse")
    if ! "$BENCH_BIN/push-load" "${args[@]}" >"$BENCH_TMP/out" 2>"$BENCH_TMP/err"; then
        failed=1
        cat "$BENCH_TMP/err" >&2
    fi
    LINE[$s]=$(grep '^BENCH ' "$BENCH_TMP/out" || true)
    [ -n "${LINE[$s]}" ] || failed=1
    echo "${LINE[$s]}"
    for pid in $PAIR_PIDS $REDIS_PID; do bench_stop "$pid"; done
    sleep 1
done

printf '\n| server (2 nodes + Redis) | delivered | lost | duplicated | p50 | p99 | deliveries/s |\n|---|---|---|---|---|---|---|\n'
for s in $SERVERS; do
    line=${LINE[$s]:-}
    [ -n "$line" ] || continue
    bad=$(( $(bench_field "$line" lost) + $(bench_field "$line" duplicated) + $(bench_field "$line" errors) ))
    [ "$bad" -eq 0 ] || failed=1
    printf '| %s | %s | %s | %s | %s µs | %s µs | %s |\n' "$s" "$(bench_field "$line" delivered)" \
        "$(bench_field "$line" lost)" "$(bench_field "$line" duplicated)" "$(bench_field "$line" p50_us)" \
        "$(bench_field "$line" p99_us)" "$(bench_field "$line" msg_per_s)"
done
exit "$failed"
