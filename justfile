# talkback — the recipes. `just` alone runs the tests.

# Run every test (the README's test command).
test:
    cargo test --workspace

# Run the demo: the hub with all four techniques and the page at http://127.0.0.1:8080/
run *ARGS:
    cargo run --release --bin demo -- {{ARGS}}

# Same as `run`.
demo *ARGS:
    cargo run --release --bin demo -- {{ARGS}}

# Formatting, lints and tests, as CI runs them (without the peer suites).
check:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    python3 scripts/module_cycles.py
    cargo test --workspace

# The Autobahn TestSuite (via kosoku) in both roles: ws-echo as server, ws-client as client.
autobahn:
    bash scripts/autobahn.sh

# Interop with real peers: h11, Python websockets, Node ws, Node eventsource, curl -N, httpx-sse.
interop:
    bash tests/interop/run-h11.sh
    bash tests/interop/run-ws.sh
    bash tests/interop/run-push.sh

# HTTP benchmark: http-echo vs nginx vs hyper under wrk (keep-alive and pipelined).
bench-http:
    bash scripts/bench-http.sh

# WebSocket benchmark: ws-echo vs tokio-tungstenite (latency, throughput, bandwidth, idle memory);
# BENCH_SCENARIOS=deflate: compressed echo vs uWebSockets dedicated and shared.
bench-ws:
    bash scripts/bench-ws.sh

# Push benchmark: demo vs Nchan (SSE, long-poll, compressed and plain WebSocket fan-out, held long-polls,
# an SSE sweep to 16 000 subscribers) and vs uWebSockets' own pub/sub (plain WebSocket fan-out).
bench-push:
    bash scripts/bench-push.sh

# Regenerate the --trace transcripts quoted in docs/.
traces:
    bash scripts/traces.sh

# The demo page in headless Chromium: every pane shows every message, counters move, and a network drop loses none.
e2e:
    bash scripts/e2e.sh

# The publish token, the Origin allow-list and CORS in headless Chromium, from pages on two other origins
e2e-guard:
    bash scripts/e2e-guard.sh

# talkback.js in headless Chromium: falls back WS → SSE → long-poll, loses nothing over a switch, returns to WS
e2e-client:
    bash scripts/e2e-client.sh

# The demo behind a real nginx (deploy/nginx/talkback.conf, see docs/deploy.md): all four techniques and the page through it.
proxy:
    bash tests/proxy/run-nginx.sh

# Run the four techniques against one message stream and print/plot what each costs
# (writes reports/compare/, which git ignores).
compare *ARGS:
    cargo run --release --bin compare -- {{ARGS}}

# Regenerate the tracked comparison figure, docs/figures/comparison.{svg,md} (a full run).
figures *ARGS:
    cargo run --release --bin compare -- --out docs/figures {{ARGS}}

# Fuzz every target in fuzz/ for SECS seconds each (nightly and cargo-fuzz; see fuzz/README.md).
fuzz SECS="60":
    bash scripts/fuzz.sh {{SECS}}

# Rewrite the committed fuzz seeds (fuzz/seeds/) from the harness's RFC vectors.
fuzz-seeds:
    cargo run --manifest-path fuzz/Cargo.toml --example write_seeds

# A cluster on this machine: redis-server and three demo nodes on 127.0.0.1 (prints their URLs).
cluster:
    bash scripts/cluster.sh

# The hub on Redis vs Nchan on Redis: 2 nodes each, SSE fan-out split across them (docs/scaling.md).
bench-cluster:
    bash scripts/bench-cluster.sh
