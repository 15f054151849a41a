#!/usr/bin/env bash
# HTTP/1.1 side by side: talkback's http-echo vs nginx vs hyper, under wrk.
#
#   just bench-http                      (= bash scripts/bench-http.sh)
#   BENCH_SECS=3 BENCH_RUNS=3 bash scripts/bench-http.sh
#   BENCH_SERVERS="nginx hyper" bash scripts/bench-http.sh     (a subset)
#
# Loads, identical for every server and run one after another (wrk and the server share the
# machine's cores, so nothing else runs at the same time):
#   keep-alive  wrk -t2 -c64 -d${BENCH_SECS}s            one request in flight per connection
#   pipelined   the same, 16 requests per write         (scripts/bench/pipeline.lua)
# Env: BENCH_SECS (10), BENCH_RUNS (1; the median run by req/s is reported), BENCH_THREADS
# (wrk threads, 2), BENCH_CONNS (64), BENCH_DEPTH (16), BENCH_SERVERS ("talkback nginx hyper"),
# BENCH_TALKBACK_ARGS ("": http-echo at its defaults, one loop per core less one), BENCH_SKIP_BUILD
# (set to reuse the last build). Exit status 0 unless a run had errors. nginx: scripts/bench/nginx.conf.
set -euo pipefail
source "$(dirname "$0")/bench/lib.sh"

SECS=${BENCH_SECS:-10}
RUNS=${BENCH_RUNS:-1}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
DEPTH=${BENCH_DEPTH:-16}
SERVERS=${BENCH_SERVERS:-talkback nginx hyper}
TALKBACK_ARGS=${BENCH_TALKBACK_ARGS-}   # its defaults unless told (an extra row: label it)
LUA=$BENCH_ROOT/scripts/bench

bench_need_packages wrk nginx
bench_build
bench_raise_nofile
bench_check_quiet

declare -A URL
for s in $SERVERS; do
    case $s in
        talkback)
            if [ ! -x "$BENCH_BIN/http-echo" ]; then
                bench_log "no $BENCH_BIN/http-echo (talkback-server has not built it); skipping talkback"
                continue
            fi
            # shellcheck disable=SC2086 # the args are words on purpose
            bench_start http-echo "$BENCH_BIN/http-echo" --addr 127.0.0.1:0 $TALKBACK_ARGS ;;
        nginx) bench_start_nginx nginx "$LUA/nginx.conf" ;;
        hyper) bench_start hyper-hello "$BENCH_BIN/hyper-hello" --addr 127.0.0.1:0 --threads 2 ;;
        *) bench_log "unknown server $s"; exit 1 ;;
    esac
    URL[$s]=http://$BENCH_ADDR/
    bench_log "$s on ${URL[$s]} (pid $BENCH_PID)"
    if command -v curl >/dev/null; then
        curl -fsS "${URL[$s]}" >/dev/null || { bench_log "$s does not answer GET /"; exit 1; }
    fi
done

# one_wrk SERVER MODE RUN: one wrk run, its WRK line appended to SERVER-MODE.runs.
one_wrk() {
    local server=$1 mode=$2 url=${URL[$1]} args
    if [ "$mode" = pipelined ]; then
        args=(-s "$LUA/pipeline.lua" "$url" -- "$DEPTH")
    else
        args=(-s "$LUA/report.lua" "$url")
    fi
    bench_log "$server $mode run $3/$RUNS: wrk -t$THREADS -c$CONNS -d${SECS}s"
    if ! wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "${args[@]}" | grep '^WRK ' >>"$BENCH_TMP/$server-$mode.runs"; then
        bench_log "wrk against $server ($mode) failed"
        failed=1
    fi
    sleep 1
}

failed=0
# Runs are interleaved (every server once, then again) so a slow minute on the machine
# does not land on one server only.
for run in $(seq "$RUNS"); do
    for s in $SERVERS; do
        [ -n "${URL[$s]:-}" ] || continue
        for mode in keep-alive pipelined; do
            one_wrk "$s" "$mode" "$run"
        done
    done
done

declare -A RPS
rows=()
for s in $SERVERS; do
    [ -n "${URL[$s]:-}" ] || continue
    for mode in keep-alive pipelined; do
        line=$(bench_median req_per_s <"$BENCH_TMP/$s-$mode.runs" 2>/dev/null || true)
        [ -n "$line" ] || continue
        rps=$(bench_field "$line" req_per_s)
        p50=$(bench_field "$line" p50_us)
        p99=$(bench_field "$line" p99_us)
        errs=$(( $(bench_field "$line" errors) + $(bench_field "$line" non2xx) ))
        [ "$errs" -eq 0 ] || failed=1
        RPS[$s/$mode]=$rps
        echo "BENCH tool=wrk scenario=$mode label=$s conns=$CONNS threads=$THREADS secs=$SECS runs=$RUNS req_per_s=$rps p50_us=$p50 p99_us=$p99 errors=$errs"
        rows+=("$(printf '%-9s %-11s %12.0f %10s %10s %7s' "$s" "$mode" "$rps" "${p50}µs" "${p99}µs" "$errs")")
    done
done

echo
echo "HTTP/1.1 hello, wrk -t$THREADS -c$CONNS -d${SECS}s, pipelined depth $DEPTH, median of $RUNS run(s), $(nproc) cores"
printf '%-9s %-11s %12s %10s %10s %7s\n' server mode req/s p50 p99 errors
printf '%s\n' "${rows[@]}"
echo
ka=$(bench_ratio "${RPS[talkback/keep-alive]:-}" "${RPS[nginx/keep-alive]:-}")
pl=$(bench_ratio "${RPS[talkback/pipelined]:-}" "${RPS[hyper/pipelined]:-}")
echo "talkback/nginx keep-alive req/s: $ka"
echo "talkback/hyper pipelined req/s:  $pl"
echo "BENCH tool=wrk scenario=ratios talkback_over_nginx_keepalive=$ka talkback_over_hyper_pipelined=$pl"
exit $failed
