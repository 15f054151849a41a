#!/usr/bin/env bash
# Every fuzz target in fuzz/ for SECS seconds each (default 60), one after another:
#
#   bash scripts/fuzz.sh [SECS]        # `just fuzz SECS` and CI run this
#
# Each starts from its committed seeds (fuzz/seeds/TARGET) and what earlier runs on this
# machine kept (fuzz/corpus/TARGET, git-ignored). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Stops with a non-zero exit at the first crash, hang
# (one input over 10 s) or out-of-memory; the input that did it is in fuzz/artifacts/TARGET/,
# and `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…` replays it.
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")/../fuzz"

cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
    echo "== fuzz $target for ${secs} s"
    mkdir -p "corpus/$target"
    # libFuzzer's last lines are its totals (runs, coverage, corpus); the rest goes to a log.
    log="corpus/$target.log"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "!! fuzz target $target failed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(Done|#[0-9]+[[:space:]]+DONE)|stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" || tail -n 3 "$log"
done
