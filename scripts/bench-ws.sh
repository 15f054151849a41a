#!/usr/bin/env bash
# WebSocket side by side: talkback's ws-echo vs uWebSockets and tokio-tungstenite, under ws-load.
#
#   just bench-ws                        (= bash scripts/bench-ws.sh)
#   BENCH_SECS=3 BENCH_RUNS=3 bash scripts/bench-ws.sh
#
# Scenarios (crates/bench/src/bin/ws-load.rs), each against a server started for it alone:
#   latency     1 connection, 1 message in flight, 32 B text     -> p50/p99/mean round trip
#               (the client busy-polls its socket, so its own wake-ups stay out of the figure)
#   latency-epoll  the same with a client that sleeps in epoll like any other program
#   throughput  64 connections x 16 in flight x 32 B text         -> messages/s
#   bandwidth   8 connections x 4 in flight x 64 KiB binary       -> MB/s
#   idle        10 000 open connections, handshake done, held     -> server RSS per connection
#   deflate     64 connections x 16 in flight x ~1 KiB JSON-like text, permessage-deflate
#               (RFC 7692) negotiated -> messages/s; against uWebSockets' echo with its
#               compression `dedicated` (a 32 KiB window per connection, as ws-echo keeps its
#               context) and `shared` (one compressor per loop, no context takeover)
#               (crates/bench/src/bin/ws-deflate-load.rs; only with BENCH_SCENARIOS=deflate
#               or "... deflate": it builds uWebSockets first)
# Every echo is checked (sequence, length, content); any error fails the run.
# Each server runs at its default settings (talkback: one loop per core less one, no busy-polling;
# uWebSockets: its echo, single-threaded, compression off; tokio-tungstenite: tokio's default
# of one worker per core). One extra, labelled row is in the same run: `talkback-1` is ws-echo
# --threads 1, the like-for-like row against single-threaded uWebSockets. Busy-polling is in
# no row. uWebSockets is built from the shared peers folder into target/peers/uws (git-ignored).
# Env: BENCH_TALKBACK_ARGS ("": its defaults; e.g. "--threads 1" for an extra row), BENCH_TUNGSTENITE_ARGS ("--threads 2"),
#      BENCH_SECS (10), BENCH_RUNS (1; median reported), BENCH_IDLE_CONNS (10000),
#      BENCH_SERVERS ("talkback talkback-1 uws tungstenite"), BENCH_SCENARIOS (the first five), BENCH_SKIP_BUILD,
#      BENCH_DEFLATE_SERVERS ("talkback uws-dedicated uws-shared"),
#      BENCH_UWS_BUILD (the uWebSockets peers' build.sh; default: the shared peers folder
#      beside the repository, peers/uwebsockets/build.sh), built into target/peers/uws.
set -euo pipefail
source "$(dirname "$0")/bench/lib.sh"

SECS=${BENCH_SECS:-10}
RUNS=${BENCH_RUNS:-1}
IDLE=${BENCH_IDLE_CONNS:-10000}
SERVERS=${BENCH_SERVERS:-talkback talkback-1 uws tungstenite}
SCENARIOS=${BENCH_SCENARIOS:-latency latency-epoll throughput bandwidth idle}
DEFLATE_SERVERS=${BENCH_DEFLATE_SERVERS:-talkback uws-dedicated uws-shared}
# The compressed scenario is run apart (its own servers); the rest as before.
DEFLATE=0
case " $SCENARIOS " in *" deflate "*) DEFLATE=1; SCENARIOS=$(echo " $SCENARIOS " | sed 's/ deflate / /; s/^ *//; s/ *$//') ;; esac

bench_build
bench_raise_nofile

# uWebSockets (the plain `uws` row and the compressed `uws-*` rows) is built from the shared
# peers folder's sources into a git-ignored folder; without the build script its rows are skipped.
case " $SERVERS $([ "$DEFLATE" = 1 ] && echo "$DEFLATE_SERVERS") " in
    *" uws"*)
        if ! bench_build_uws; then
            SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | grep -v '^uws' | tr '\n' ' ')
            DEFLATE_SERVERS=$(echo "$DEFLATE_SERVERS" | tr ' ' '\n' | grep -v '^uws-' | tr '\n' ' ')
        fi
        ;;
esac
bench_check_quiet
bench_log "open files limit: $(ulimit -n)"

# start_server NAME: a fresh server process; sets BENCH_ADDR and BENCH_PID.
TALKBACK_ARGS=${BENCH_TALKBACK_ARGS-}   # default settings unless told otherwise
TUNGSTENITE_ARGS=${BENCH_TUNGSTENITE_ARGS:---threads 2}
bench_log "talkback: ws-echo $TALKBACK_ARGS; tungstenite: tungstenite-echo $TUNGSTENITE_ARGS"

start_server() {
    case $1 in
        # shellcheck disable=SC2086 # the args are words on purpose
        talkback) bench_start ws-echo "$BENCH_BIN/ws-echo" --addr 127.0.0.1:0 $TALKBACK_ARGS ;;
        # the like-for-like row against single-threaded uWebSockets (extra, labelled)
        talkback-1) bench_start ws-echo "$BENCH_BIN/ws-echo" --addr 127.0.0.1:0 --threads 1 ;;
        uws) bench_start uws-echo "$UWS_DIR/uws-echo" "$(bench_free_port)" off ;;
        # shellcheck disable=SC2086
        tungstenite) bench_start tungstenite-echo "$BENCH_BIN/tungstenite-echo" --addr 127.0.0.1:0 $TUNGSTENITE_ARGS ;;
        *) bench_log "unknown server $1"; exit 1 ;;
    esac
}

failed=0
for run in $(seq "$RUNS"); do
    for s in $SERVERS; do
        for scenario in $SCENARIOS; do
            start_server "$s"
            case $scenario in
                latency) extra=(--scenario latency --spin --secs "$SECS") ;;
                latency-epoll) extra=(--scenario latency --secs "$SECS") ;;
                idle) extra=(--scenario idle --pid "$BENCH_PID" --conns "$IDLE") ;;
                *) extra=(--scenario "$scenario" --secs "$SECS") ;;
            esac
            bench_log "$s $scenario run $run/$RUNS (pid $BENCH_PID, ws://$BENCH_ADDR/)"
            if ! "$BENCH_BIN/ws-load" --url "ws://$BENCH_ADDR/" --label "$s" "${extra[@]}" \
                >"$BENCH_TMP/out" 2>"$BENCH_TMP/err"; then
                failed=1
                cat "$BENCH_TMP/err" >&2
            fi
            grep '^BENCH ' "$BENCH_TMP/out" | sed "s/ scenario=[^ ]* / scenario=$scenario /" \
                >>"$BENCH_TMP/$s-$scenario.runs" || failed=1
            bench_stop "$BENCH_PID"
            sleep 1
        done
    done
done

# The figure each scenario is judged by (the median run is chosen by it).
key_of() {
    case $1 in
        latency | latency-epoll) echo p50_us ;; throughput) echo msg_per_s ;; bandwidth) echo mb_per_s ;; idle) echo bytes_per_conn ;;
    esac
}

declare -A FIG
rows=()
for s in $SERVERS; do
    for scenario in $SCENARIOS; do
        line=$(bench_median "$(key_of "$scenario")" <"$BENCH_TMP/$s-$scenario.runs")
        [ -n "$line" ] || continue
        echo "$line" | sed "s/ label=$s / label=$s runs=$RUNS /"
        errs=$(bench_field "$line" errors)
        [ "$errs" = 0 ] || failed=1
        for k in p50_us p99_us mean_us msg_per_s mb_per_s bytes_per_conn; do
            FIG[$s/$scenario/$k]=$(bench_field "$line" "$k")
        done
        case $scenario in
            latency | latency-epoll) fig="p50 ${FIG[$s/$scenario/p50_us]}µs  p99 ${FIG[$s/$scenario/p99_us]}µs  mean ${FIG[$s/$scenario/mean_us]}µs" ;;
            throughput) fig="$(printf '%.0f' "${FIG[$s/$scenario/msg_per_s]}") msg/s" ;;
            bandwidth) fig="${FIG[$s/$scenario/mb_per_s]} MB/s" ;;
            idle) fig="$(printf '%.0f' "${FIG[$s/$scenario/bytes_per_conn]}") B/conn ($IDLE conns)" ;;
        esac
        rows+=("$(printf '%-12s %-13s %-44s %6s' "$s" "$scenario" "$fig" "$errs")")
    done
done

# --- the compressed echo (permessage-deflate) ------------------------------------------------
deflate_rows=()
if [ "$DEFLATE" = 1 ]; then
    for run in $(seq "$RUNS"); do
        for s in $DEFLATE_SERVERS; do
            case $s in
                # shellcheck disable=SC2086
                talkback) bench_start ws-echo "$BENCH_BIN/ws-echo" --addr 127.0.0.1:0 $TALKBACK_ARGS ;;
                uws-dedicated | uws-shared) bench_start "$s" "$UWS_DIR/uws-echo" "$(bench_free_port)" "${s#uws-}" ;;
                *) bench_log "unknown deflate server $s"; exit 1 ;;
            esac
            bench_log "$s deflate run $run/$RUNS (pid $BENCH_PID, ws://$BENCH_ADDR/)"
            if ! "$BENCH_BIN/ws-deflate-load" --url "ws://$BENCH_ADDR/" --label "$s" --secs "$SECS" \
                >"$BENCH_TMP/out" 2>"$BENCH_TMP/err"; then
                failed=1
                cat "$BENCH_TMP/err" >&2
            fi
            grep '^BENCH ' "$BENCH_TMP/out" >>"$BENCH_TMP/$s-deflate.runs" || failed=1
            bench_stop "$BENCH_PID"
            sleep 1
        done
    done
    for s in $DEFLATE_SERVERS; do
        line=$(bench_median msg_per_s <"$BENCH_TMP/$s-deflate.runs")
        [ -n "$line" ] || continue
        echo "$line" | sed "s/ label=$s / label=$s runs=$RUNS /"
        errs=$(bench_field "$line" errors)
        [ "$errs" = 0 ] || failed=1
        FIG[$s/deflate/msg_per_s]=$(bench_field "$line" msg_per_s)
        fig="$(printf '%.0f' "${FIG[$s/deflate/msg_per_s]}") msg/s  p99 $(bench_field "$line" p99_us)µs"
        deflate_rows+=("$(printf '%-14s %-13s %-44s %6s' "$s" "deflate" "$fig" "$errs")")
    done
fi

echo
echo "WebSocket echo, ws-load, ${SECS}s per load, median of $RUNS run(s), $(nproc) cores"
echo "talkback = ws-echo $TALKBACK_ARGS (defaults unless set); talkback-1 = ws-echo --threads 1 (extra row); uws = uws-echo off; tungstenite = tungstenite-echo $TUNGSTENITE_ARGS"
printf '%-12s %-13s %-44s %6s\n' server scenario figure errors
[ ${#rows[@]} -eq 0 ] || printf '%s\n' "${rows[@]}"
[ ${#deflate_rows[@]} -eq 0 ] || printf '%s\n' "${deflate_rows[@]}"
echo
t=talkback u=tungstenite
r_tp=$(bench_ratio "${FIG[$t/throughput/msg_per_s]:-}" "${FIG[$u/throughput/msg_per_s]:-}")
r_bw=$(bench_ratio "${FIG[$t/bandwidth/mb_per_s]:-}" "${FIG[$u/bandwidth/mb_per_s]:-}")
r_lat=$(bench_ratio "${FIG[$t/latency/p50_us]:-}" "${FIG[$u/latency/p50_us]:-}")
r_lat_e=$(bench_ratio "${FIG[$t/latency-epoll/p50_us]:-}" "${FIG[$u/latency-epoll/p50_us]:-}")
r_idle=$(bench_ratio "${FIG[$t/idle/bytes_per_conn]:-}" "${FIG[$u/idle/bytes_per_conn]:-}")
echo "talkback/tungstenite small-message msg/s: $r_tp   (target >= 2.2)"
echo "talkback/tungstenite bandwidth MB/s:      $r_bw   (target >= 1.45)"
echo "talkback/tungstenite p50 latency:         $r_lat   (target <= 0.6; epoll client: $r_lat_e)"
echo "talkback/tungstenite idle bytes/conn:     $r_idle   (target: talkback <= 1024 B/conn, it is ${FIG[$t/idle/bytes_per_conn]:-n/a})"
# Against uWebSockets: like for like (one loop each, no busy-polling), and at the defaults.
uws_ratios=""
for t in talkback-1 talkback; do
    u=uws
    q_lat=$(bench_ratio "${FIG[$t/latency/msg_per_s]:-}" "${FIG[$u/latency/msg_per_s]:-}")
    q_lat99=$(bench_ratio "${FIG[$t/latency/p99_us]:-}" "${FIG[$u/latency/p99_us]:-}")
    q_tp=$(bench_ratio "${FIG[$t/throughput/msg_per_s]:-}" "${FIG[$u/throughput/msg_per_s]:-}")
    q_tp99=$(bench_ratio "${FIG[$t/throughput/p99_us]:-}" "${FIG[$u/throughput/p99_us]:-}")
    q_bw=$(bench_ratio "${FIG[$t/bandwidth/mb_per_s]:-}" "${FIG[$u/bandwidth/mb_per_s]:-}")
    q_bw99=$(bench_ratio "${FIG[$t/bandwidth/p99_us]:-}" "${FIG[$u/bandwidth/p99_us]:-}")
    q_idle=$(bench_ratio "${FIG[$t/idle/bytes_per_conn]:-}" "${FIG[$u/idle/bytes_per_conn]:-}")
    want_tp=">= 1.0"; [ "$t" = talkback ] && want_tp=">= 0.9 at the defaults"
    echo "$t/uws latency round trips/s (1 x 1 x 32 B): $q_lat   (target >= 1.0; p99 ratio $q_lat99, target <= 1)"
    echo "$t/uws small-message msg/s:                  $q_tp   (target $want_tp; p99 ratio $q_tp99)"
    echo "$t/uws bandwidth MB/s:                       $q_bw   (target >= 1.0; p99 ratio $q_bw99)"
    echo "$t/uws idle bytes/conn:                      $q_idle   (target <= 1)"
    key=${t//-/_}
    uws_ratios+=" ${key}_latency=$q_lat ${key}_latency_p99=$q_lat99 ${key}_throughput=$q_tp ${key}_throughput_p99=$q_tp99 ${key}_bandwidth=$q_bw ${key}_bandwidth_p99=$q_bw99 ${key}_idle_bytes=$q_idle"
done
echo "BENCH tool=ws-load scenario=uws-ratios$uws_ratios"
if [ "$DEFLATE" = 1 ]; then
    r_dd=$(bench_ratio "${FIG[talkback/deflate/msg_per_s]:-}" "${FIG[uws-dedicated/deflate/msg_per_s]:-}")
    r_ds=$(bench_ratio "${FIG[talkback/deflate/msg_per_s]:-}" "${FIG[uws-shared/deflate/msg_per_s]:-}")
    echo "talkback/uws-dedicated compressed msg/s:  $r_dd   (target >= 1.0; uws-shared: $r_ds)"
    echo "BENCH tool=ws-load scenario=deflate-ratios dedicated=$r_dd shared=$r_ds"
fi
echo "BENCH tool=ws-load scenario=ratios throughput=$r_tp bandwidth=$r_bw latency_p50=$r_lat latency_epoll_p50=$r_lat_e idle_bytes=$r_idle"
exit $failed
