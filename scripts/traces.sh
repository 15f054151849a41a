#!/usr/bin/env bash
# Regenerates the `--trace` transcripts quoted in docs/ from real runs of the binaries, so the
# chapters show exactly what crosses the wire today.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin http-echo --bin ws-echo --bin ws-client --bin sse-echo --bin longpoll-echo
python3 scripts/traces.py "${CARGO_TARGET_DIR:-target}/release"
