#!/usr/bin/env bash
# A cluster on this machine: one redis-server and three `demo` nodes on 127.0.0.1, all on
# the same Redis — the page of one node shows what is posted to another.
#
#   just cluster                                   (= bash scripts/cluster.sh)
#   PORT=9000 REDIS_PORT=6400 bash scripts/cluster.sh
#   PROFILE=debug bash scripts/cluster.sh          (skip the release build)
#   DURATION=5 bash scripts/cluster.sh             (stop by itself after 5 s)
#   SMOKE=1 PROFILE=debug bash scripts/cluster.sh  (CI: post to node 0, read it on node 2, stop)
#
# Nodes listen on PORT, PORT+1, PORT+2 (default 8081-8083); Redis on REDIS_PORT (default
# 6390), with a temporary directory and persistence off. Ctrl-C stops everything this script
# started (by PID) and removes the directory. Needs `redis-server` (Debian: redis-server).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT=${PORT:-8081}
REDIS_PORT=${REDIS_PORT:-6390}
PROFILE=${PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-target}

command -v redis-server >/dev/null || { echo "cluster: redis-server is not installed (Debian: apt-get install redis-server)" >&2; exit 1; }

if [ "$PROFILE" = release ]; then
    cargo build --release --bin demo
else
    cargo build --bin demo
fi
DEMO=$TARGET/$PROFILE/demo

DIR=$(mktemp -d)
PIDS=()
stop() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 0' INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >"$DIR/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.05
done

URLS=()
for i in 0 1 2; do
    port=$((PORT + i))
    "$DEMO" --addr "127.0.0.1:$port" --redis "redis://127.0.0.1:$REDIS_PORT" >"$DIR/node$i.out" 2>"$DIR/node$i.err" &
    PIDS+=($!)
    URLS+=("http://127.0.0.1:$port/")
done
for i in 0 1 2; do
    for _ in $(seq 100); do
        grep -q '^listening on' "$DIR/node$i.out" 2>/dev/null && break
        sleep 0.05
    done
done

echo "redis:  redis://127.0.0.1:$REDIS_PORT"
for i in 0 1 2; do echo "node $i: ${URLS[$i]}"; done
echo "try:    curl -N ${URLS[1]}ch/room/sse   and   curl -d hi ${URLS[0]}ch/room"
echo "Ctrl-C stops them all."
if [ -n "${SMOKE:-}" ]; then
    # The page of one node shows what is posted to another: the same check with curl.
    id=""
    for _ in $(seq 100); do
        id=$(curl -sf -d "smoke" "${URLS[0]}ch/smoke" || true)
        [ -n "$id" ] && break
        sleep 0.05
    done
    for _ in $(seq 100); do
        if curl -sf "${URLS[2]}ch/smoke/poll?after=0" | grep -q "\"id\":$id,\"data\":\"smoke\""; then
            echo "cluster: id $id posted on node 0, read on node 2"
            exit 0
        fi
        sleep 0.05
    done
    echo "cluster: the message posted on node 0 (id '$id') did not reach node 2" >&2
    exit 1
elif [ -n "${DURATION:-}" ]; then
    sleep "$DURATION"
else
    wait "${PIDS[0]}"
fi
