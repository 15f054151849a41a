#!/usr/bin/env bash
# The Autobahn TestSuite cases (sections 1-7, 9, 10, 12, 13: all 517 cases; 12 and 13 are permessage-deflate, RFC 7692), run by kosoku, in both roles:
#   server role: kosoku drives ws-echo;
#   client role: ws-client --autobahn connects to kosoku's fuzzing server.
# Fails unless every case ends OK (INFORMATIONAL where Autobahn grades every implementation so).
# Reports go to reports/autobahn/{server,client} (not in git).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/listening.sh
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="reports/autobahn"

python3 -m pip --version >/dev/null
if ! command -v kosoku >/dev/null 2>&1; then
    python3 -m pip install -q kosoku==0.1.0
fi
cargo build --release --bin ws-echo --bin ws-client
rm -rf "$OUT"
mkdir -p "$OUT"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# --- server role -------------------------------------------------------------------------------
"$TARGET/release/ws-echo" --addr 127.0.0.1:0 --threads 2 > "$OUT/ws-echo.out" 2> "$OUT/ws-echo.err" &
PIDS+=($!)
ADDR="$(listening_addr ws-echo "${PIDS[-1]}" "$OUT/ws-echo.out" "$OUT/ws-echo.err")"
echo "== server role: kosoku -> ws-echo at $ADDR"
timeout 900 kosoku -p 4 -o "$OUT/server" "ws://$ADDR" | tail -2

# --- client role -------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
kosoku -m fuzzingserver -o "$OUT/client" "127.0.0.1:$PORT" > "$OUT/fuzzingserver.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
    sleep 0.1
done
echo "== client role: ws-client --autobahn -> kosoku fuzzing server at 127.0.0.1:$PORT"
timeout 900 "$TARGET/release/ws-client" --autobahn "ws://127.0.0.1:$PORT" | tail -2
sleep 1

python3 scripts/autobahn_check.py "$OUT/server" "$OUT/client"
