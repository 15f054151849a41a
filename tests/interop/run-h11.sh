#!/usr/bin/env bash
# Builds http-echo (release), starts it on 127.0.0.1:0, and runs the h11 interop client
# (tests/interop/h11_client.py) against it. Exits with the client's status.
#
#   tests/interop/run-h11.sh            # honours CARGO_TARGET_DIR
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source "$root/scripts/lib/listening.sh"

cargo build --release --bin http-echo
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$root/$target"
bin="$target/release/http-echo"

if ! python3 -c 'import h11' 2>/dev/null; then
    python3 -m pip install -q h11==0.16.0
fi

work="$(mktemp -d)"
"$bin" --addr 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
cleanup() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

addr="$(listening_addr http-echo "$server_pid" "$work/stdout" "$work/stderr")" || exit 1
echo "http-echo (pid $server_pid) on $addr; h11 $(python3 -c 'import h11; print(h11.__version__)')"

status=0
python3 "$root/tests/interop/h11_client.py" "$addr" || status=$?
exit "$status"
