#!/usr/bin/env bash
# HTTP/1.1 side by side: talkback's http-echo vs nginx vs hyper, under wrk and http-load.
#
#   just bench-http                      (= bash scripts/bench-http.sh)
#   BENCH_SECS=3 BENCH_RUNS=3 bash scripts/bench-http.sh
#   BENCH_SERVERS="nginx hyper" bash scripts/bench-http.sh     (a subset)
#
# Loads, identical for every server and run one after another (wrk and the server share the
# machine's cores, so nothing else runs at the same time):
#   keep-alive  wrk -t2 -c64 -d${BENCH_SECS}s            one request in flight per connection
#   pipelined   the same, 16 requests per write         (scripts/bench/pipeline.lua)
# then both loads again from http-load (crates/bench/src/bin/http-load.rs: the same
# connections, threads and depth), which times every response from the write that carried its
# request. Its latency is the one to read for pipelining: wrk "corrects" its histogram as if
# each response were a round trip, which makes its pipelined p99 meaningless (often 0 µs).
# Every figure is the median of its own values over the runs.
# Env: BENCH_SECS (10), BENCH_RUNS (1), BENCH_THREADS
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

# one_load SERVER MODE RUN: the same load from http-load, its BENCH line appended to
# SERVER-MODE.hl.runs.
one_load() {
    local server=$1 mode=$2 depth=1
    [ "$mode" = pipelined ] && depth=$DEPTH
    bench_log "$server $mode run $3/$RUNS: http-load --threads $THREADS --conns $CONNS --depth $depth --secs $SECS"
    if ! "$BENCH_BIN/http-load" --url "${URL[$server]}" --label "$server" --threads "$THREADS" --conns "$CONNS" \
        --depth "$depth" --secs "$SECS" | grep '^BENCH ' >>"$BENCH_TMP/$server-$mode.hl.runs"; then
        bench_log "http-load against $server ($mode) failed"
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
            one_load "$s" "$mode" "$run"
        done
    done
done

declare -A RPS P99
rows=()
for tool in wrk http-load; do
    suffix=runs
    [ "$tool" = http-load ] && suffix=hl.runs
    for s in $SERVERS; do
        [ -n "${URL[$s]:-}" ] || continue
        for mode in keep-alive pipelined; do
            f=$BENCH_TMP/$s-$mode.$suffix
            [ -s "$f" ] || continue
            rps=$(bench_median_of req_per_s <"$f")
            p50=$(bench_median_of p50_us <"$f")
            p99=$(bench_median_of p99_us <"$f")
            e1=$(bench_max_of errors <"$f") e2=$(bench_max_of non2xx <"$f")
            errs=$(( ${e1:-0} + ${e2:-0} ))
            [ "$errs" -eq 0 ] || failed=1
            RPS[$tool/$s/$mode]=$rps P99[$tool/$s/$mode]=$p99
            echo "BENCH tool=$tool scenario=$mode label=$s conns=$CONNS threads=$THREADS secs=$SECS runs=$RUNS req_per_s=$rps p50_us=$p50 p99_us=$p99 errors=$errs"
            rows+=("$(printf '%-9s %-9s %-11s %12.0f %10s %10s %7s' "$tool" "$s" "$mode" "$rps" "${p50}µs" "${p99}µs" "$errs")")
        done
    done
done

echo
echo "HTTP/1.1 hello, $THREADS client threads, $CONNS connections, ${SECS}s, pipelined depth $DEPTH, median of $RUNS run(s), $(nproc) cores"
echo "(wrk's pipelined p50/p99 are its coordinated-omission-corrected figures and not comparable; read http-load's)"
printf '%-9s %-9s %-11s %12s %10s %10s %7s\n' tool server mode req/s p50 p99 errors
printf '%s\n' "${rows[@]}"
echo
for tool in wrk http-load; do
    ka=$(bench_ratio "${RPS[$tool/talkback/keep-alive]:-}" "${RPS[$tool/nginx/keep-alive]:-}")
    pl=$(bench_ratio "${RPS[$tool/talkback/pipelined]:-}" "${RPS[$tool/hyper/pipelined]:-}")
    pp=$(bench_ratio "${P99[$tool/talkback/pipelined]:-}" "${P99[$tool/hyper/pipelined]:-}")
    printf '%-9s talkback/nginx keep-alive req/s: %s (target >= 1.2)\n' "$tool" "$ka"
    printf '%-9s talkback/hyper pipelined req/s:  %s (target >= 1.3)\n' "$tool" "$pl"
    if [ "$tool" = http-load ]; then
        printf '%-9s talkback/hyper pipelined p99:    %s (target <= 1)\n' "$tool" "$pp"
        echo "BENCH tool=$tool scenario=ratios talkback_over_nginx_keepalive=$ka talkback_over_hyper_pipelined=$pl talkback_over_hyper_pipelined_p99=$pp"
    else
        echo "BENCH tool=$tool scenario=ratios talkback_over_nginx_keepalive=$ka talkback_over_hyper_pipelined=$pl"
    fi
done
exit $failed
