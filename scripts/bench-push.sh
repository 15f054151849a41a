#!/usr/bin/env bash
# Server push side by side: talkback's demo hub vs Nchan (nginx + ngx_nchan_module), under
# push-load, with the same URL shapes (scripts/bench/nchan.conf maps them onto Nchan).
#
#   just bench-push                      (= bash scripts/bench-push.sh)
#   BENCH_RUNS=3 bash scripts/bench-push.sh
#
# Scenarios (crates/bench/src/bin/push-load.rs), each against a server started for it alone:
#   sse       1 000 SSE subscribers on one channel, 200 messages POSTed back to back
#   longpoll  1 000 long-poll loops (each re-asks from its last id), the same 200 messages
#   held      10 000 parked long-polls: server RSS growth per held request (Nchan: the sum
#             of its worker processes); then one publish must release every one of them
#   ws        1 000 WebSocket subscribers offering permessage-deflate (RFC 7692, as Chromium
#             does), 200 messages of ~1 KiB: compressed fan-out (Nchan with
#             nchan_deflate_message_for_websocket on); also bytes on the wire and server CPU
#             per delivered message
#   wsplain   the same 1 000 WebSocket subscribers without an extension, 200 messages of ~1 KiB:
#             plain WebSocket fan-out, also against uWebSockets' own pub/sub (uws-pubsub,
#             built from the shared peers folder into target/peers/uws; it runs only this)
#   sse@N     the SSE scenario with N subscribers and 200 000 / N messages (about 200 000
#             deliveries whatever N): the default list sweeps N = 4 000 and 16 000, beside
#             the 1 000 of `sse`, to show whether the cost per delivery stays flat
# Figures: delivered / lost / duplicated (by sequence), p50/p99 publish->receive latency,
# deliveries per second. With several runs each figure is the median of its own values over
# the runs (so a p99 is not just the one of whichever run had the median rate); lost,
# duplicated and errors are the worst run's. Env: BENCH_RUNS (1), BENCH_SUBSCRIBERS (1000),
# BENCH_MESSAGES (200), BENCH_HELD (10000), BENCH_SERVERS ("talkback nchan uws"),
# BENCH_SCENARIOS ("sse longpoll held ws wsplain sse@4000 sse@16000"), BENCH_WS_SIZE (1024), BENCH_TALKBACK_ARGS ("": its defaults),
# BENCH_NGINX_WORKERS (2), BENCH_UWS_BUILD (the uWebSockets peers' build.sh, as in bench-ws.sh), BENCH_SKIP_BUILD.
# Each server runs at its default settings (talkback: one loop per core less one; Nchan: the nginx
# configuration in scripts/bench/nchan.conf, two workers, one per core). Other settings are
# extra rows: run again with BENCH_TALKBACK_ARGS (e.g. "--threads 1") and label them.
set -euo pipefail
source "$(dirname "$0")/bench/lib.sh"

RUNS=${BENCH_RUNS:-1}
SUBS=${BENCH_SUBSCRIBERS:-1000}
MSGS=${BENCH_MESSAGES:-200}
HELD=${BENCH_HELD:-10000}
SERVERS=${BENCH_SERVERS:-talkback nchan uws}
SCENARIOS=${BENCH_SCENARIOS:-sse longpoll held ws wsplain sse@4000 sse@16000}
WS_SIZE=${BENCH_WS_SIZE:-1024}

bench_need_packages nginx libnginx-mod-nchan
bench_build
bench_raise_nofile
# uWebSockets' pub/sub is built from the shared peers folder's sources into a git-ignored folder;
# without the build script its rows are skipped.
case " $SERVERS " in
    *" uws "*) bench_build_uws || SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | grep -v '^uws$' | tr '\n' ' ') ;;
esac
bench_check_quiet
bench_log "open files limit: $(ulimit -n)"

TALKBACK_ARGS=${BENCH_TALKBACK_ARGS-}   # default settings unless told otherwise
bench_log "talkback: demo $TALKBACK_ARGS; nchan: nginx with ${BENCH_NGINX_WORKERS:-2} workers (scripts/bench/nchan.conf)"

# start_server NAME: a fresh server; sets BENCH_ADDR, STYLE and MEM_PIDS.
start_server() {
    case $1 in
        talkback)
            # shellcheck disable=SC2086 # the args are words on purpose
            bench_start demo "$BENCH_BIN/demo" --addr 127.0.0.1:0 $TALKBACK_ARGS
            STYLE=talkback MEM_PIDS=$BENCH_PID ;;
        nchan)
            bench_start_nginx nchan "$BENCH_ROOT/scripts/bench/nchan.conf"
            STYLE=nchan MEM_PIDS=$BENCH_WORKERS ;;
        uws)
            bench_start uws-pubsub "$UWS_DIR/uws-pubsub" "$(bench_free_port)" off
            STYLE=uws MEM_PIDS=$BENCH_PID ;;
        *) bench_log "unknown server $1"; exit 1 ;;
    esac
}

failed=0
for run in $(seq "$RUNS"); do
    for s in $SERVERS; do
        for scenario in $SCENARIOS; do
            # uWebSockets' pub/sub has WebSocket subscribers only, and no compress-once.
            [ "$s" = uws ] && [ "$scenario" != wsplain ] && continue
            start_server "$s"
            u=http://$BENCH_ADDR
            kind=${scenario%@*}
            publish=$u/ch/{c} ws=$u/ch/{c}/ws
            [ "$s" = uws ] && publish=$u/pub/{c} ws=$u/sub/{c}
            args=(--scenario "$kind" --style "$STYLE" --label "$s"
                --publish-url "$publish" --sse-url "$u/ch/{c}/sse" --longpoll-url "$u/ch/{c}/longpoll"
                --ws-url "$ws")
            if [ "$scenario" = held ]; then
                args+=(--subscribers "$HELD" --pid "$MEM_PIDS")
            elif [ "$kind" = ws ] || [ "$kind" = wsplain ]; then
                args+=(--subscribers "$SUBS" --messages "$MSGS" --size "$WS_SIZE" --pid "$MEM_PIDS")
            elif [ "$scenario" != "$kind" ]; then
                n=${scenario#*@}
                args+=(--subscribers "$n" --messages $(( (200000 + n - 1) / n )) --pid "$MEM_PIDS")
            else
                args+=(--subscribers "$SUBS" --messages "$MSGS" --pid "$MEM_PIDS")
            fi
            bench_log "$s $scenario run $run/$RUNS (pid $BENCH_PID, $u)"
            if ! "$BENCH_BIN/push-load" "${args[@]}" >"$BENCH_TMP/out" 2>"$BENCH_TMP/err"; then
                failed=1
                cat "$BENCH_TMP/err" >&2
            fi
            grep '^BENCH ' "$BENCH_TMP/out" >>"$BENCH_TMP/$s-$scenario.runs" || failed=1
            bench_stop "$BENCH_PID"
            sleep 1
        done
    done
done

declare -A FIG
rows=()
for s in $SERVERS; do
    for scenario in $SCENARIOS; do
        [ -f "$BENCH_TMP/$s-$scenario.runs" ] || continue
        key=msg_per_s
        [ "$scenario" = held ] && key=bytes_per_held
        line=$(bench_median "$key" <"$BENCH_TMP/$s-$scenario.runs")
        [ -n "$line" ] || continue
        sed 's/^BENCH /RUN /' "$BENCH_TMP/$s-$scenario.runs"
        echo "$line" | sed "s/ label=$s / label=$s runs=$RUNS /"
        for k in delivered msg_per_s p50_us p99_us bytes_per_held subscribers messages wire_bytes_per_msg cpu_ns_per_msg client_cpu_ns_per_msg; do
            FIG[$s/$scenario/$k]=$(bench_median_of "$k" <"$BENCH_TMP/$s-$scenario.runs")
        done
        for k in lost duplicated errors; do
            FIG[$s/$scenario/$k]=$(bench_max_of "$k" <"$BENCH_TMP/$s-$scenario.runs")
        done
        bad=$(( FIG[$s/$scenario/lost] + FIG[$s/$scenario/duplicated] + FIG[$s/$scenario/errors] ))
        [ "$bad" -eq 0 ] || failed=1
        if [ "$scenario" = held ]; then
            fig="$(printf '%.0f' "${FIG[$s/$scenario/bytes_per_held]}") B/held"
        elif [ "$scenario" = ws ] || [ "$scenario" = wsplain ]; then
            fig="$(printf '%.0f/s %.1fB %.0fns' "${FIG[$s/$scenario/msg_per_s]}" \
                "${FIG[$s/$scenario/wire_bytes_per_msg]:-0}" "${FIG[$s/$scenario/cpu_ns_per_msg]:-0}")"
        else
            fig="$(printf '%.0f' "${FIG[$s/$scenario/msg_per_s]}")/s"
        fi
        rows+=("$(printf '%-9s %-9s %11s %9s %5s %5s %14s %10s %10s %6s' "$s" "$scenario" \
            "${FIG[$s/$scenario/subscribers]}x${FIG[$s/$scenario/messages]}" "${FIG[$s/$scenario/delivered]}" \
            "${FIG[$s/$scenario/lost]}" "${FIG[$s/$scenario/duplicated]}" "$fig" \
            "${FIG[$s/$scenario/p50_us]}µs" "${FIG[$s/$scenario/p99_us]}µs" "${FIG[$s/$scenario/errors]}")")
    done
done

echo
echo "Server push fan-out, push-load, median of $RUNS run(s), $(nproc) cores"
printf '%-9s %-9s %11s %9s %5s %5s %14s %10s %10s %6s\n' server scenario subs×msgs delivered lost dup figure p50 p99 errors
printf '%s\n' "${rows[@]}"
echo
t=talkback n=nchan
r_sse=$(bench_ratio "${FIG[$t/sse/msg_per_s]:-}" "${FIG[$n/sse/msg_per_s]:-}")
r_lp=$(bench_ratio "${FIG[$t/longpoll/msg_per_s]:-}" "${FIG[$n/longpoll/msg_per_s]:-}")
p_sse=$(bench_ratio "${FIG[$t/sse/p99_us]:-}" "${FIG[$n/sse/p99_us]:-}")
p_lp=$(bench_ratio "${FIG[$t/longpoll/p99_us]:-}" "${FIG[$n/longpoll/p99_us]:-}")
r_held=$(bench_ratio "${FIG[$t/held/bytes_per_held]:-}" "${FIG[$n/held/bytes_per_held]:-}")
echo "talkback/nchan SSE deliveries/s:       $r_sse   (target >= 4)"
echo "talkback/nchan long-poll deliveries/s: $r_lp   (target >= 5)"
echo "talkback/nchan SSE p99 latency:        $p_sse   (target <= 1)"
echo "talkback/nchan long-poll p99 latency:  $p_lp   (target <= 1)"
echo "talkback/nchan RSS per held long-poll: $r_held   (target <= 0.5)"
r_ws=$(bench_ratio "${FIG[$t/ws/msg_per_s]:-}" "${FIG[$n/ws/msg_per_s]:-}")
w_ws=$(bench_ratio "${FIG[$t/ws/wire_bytes_per_msg]:-}" "${FIG[$n/ws/wire_bytes_per_msg]:-}")
c_ws=$(bench_ratio "${FIG[$t/ws/cpu_ns_per_msg]:-}" "${FIG[$n/ws/cpu_ns_per_msg]:-}")
echo "talkback/nchan compressed WS deliveries/s: $r_ws   (target >= 2; ws figure = deliveries/s, wire bytes and server CPU per delivery)"
echo "talkback/nchan compressed WS wire bytes:   $w_ws   (target <= 1; server CPU per delivery: $c_ws)"
echo "BENCH tool=push-load scenario=ratios ws_rate=$r_ws ws_wire=$w_ws ws_cpu=$c_ws"
u=uws
r_wsn=$(bench_ratio "${FIG[$t/wsplain/msg_per_s]:-}" "${FIG[$n/wsplain/msg_per_s]:-}")
r_wsu=$(bench_ratio "${FIG[$t/wsplain/msg_per_s]:-}" "${FIG[$u/wsplain/msg_per_s]:-}")
echo "talkback/nchan plain WS deliveries/s:  $r_wsn   (target >= 4)"
echo "talkback/uws   plain WS deliveries/s:  $r_wsu   (target >= 4; uws = uWebSockets' own pub/sub)"
echo "BENCH tool=push-load scenario=ratios wsplain_nchan=$r_wsn wsplain_uws=$r_wsu"
# The sweep: deliveries/s at each size against the 1 000 of `sse`, and p99 against Nchan's.
sweep="sse"
for scenario in $SCENARIOS; do case $scenario in sse@*) sweep="$sweep $scenario" ;; esac; done
if [ "$sweep" != sse ]; then
    for scenario in $sweep; do
        flat=$(bench_ratio "${FIG[$t/$scenario/msg_per_s]:-}" "${FIG[$t/sse/msg_per_s]:-}")
        p99=$(bench_ratio "${FIG[$t/$scenario/p99_us]:-}" "${FIG[$n/$scenario/p99_us]:-}")
        cpu=$(bench_ratio "${FIG[$t/$scenario/cpu_ns_per_msg]:-}" "${FIG[$t/sse/cpu_ns_per_msg]:-}")
        client=$(bench_ratio "${FIG[$t/$scenario/client_cpu_ns_per_msg]:-}" "${FIG[$t/sse/client_cpu_ns_per_msg]:-}")
        echo "talkback SSE sweep ${FIG[$t/$scenario/subscribers]:-?} subscribers: rate vs 1 000: $flat (target 0.8-1.2), p99 vs nchan: $p99 (target <= 1); CPU per delivery vs 1 000's: server $cpu, push-load $client"
        echo "BENCH tool=push-load scenario=sweep subscribers=${FIG[$t/$scenario/subscribers]:-0} rate_vs_1000=$flat p99_vs_nchan=$p99 server_cpu_vs_1000=$cpu client_cpu_vs_1000=$client"
    done
fi
echo "BENCH tool=push-load scenario=ratios sse_rate=$r_sse longpoll_rate=$r_lp sse_p99=$p_sse longpoll_p99=$p_lp held_bytes=$r_held"
exit $failed
