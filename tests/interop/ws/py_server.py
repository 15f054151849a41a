"""Python `websockets` (sync server) as an echo peer for talkback's ws-client.

    python3 tests/interop/ws/py_server.py path/to/ws-client

Starts an echo server on 127.0.0.1:0, pipes lines into `ws-client ws://ADDR/`, and checks that
its stdout is exactly those lines (each echoed message printed on its own line), that it exits
0, and that the server saw a clean close 1000 from it. Prints PASS/FAIL per check; the exit
status is the number of failures.
"""

import subprocess
import sys
import threading
import traceback

from websockets.sync.server import serve

TIMEOUT = 20.0
failures = 0
sessions = []  # (messages received, close code received) per connection


def check(name, fn):
    global failures
    try:
        fn()
        print(f"PASS py-server {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        failures += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print(f"FAIL py-server {name}: {detail}", flush=True)


def echo(ws):
    received = []
    for message in ws:  # ends on the close handshake
        received.append(message)
        ws.send(message)
    sessions.append((received, ws.close_code, ws.close_reason))


LINES = [
    "hello from ws-client",
    "",
    "é € 🦀 multi-byte UTF-8",
    "x" * 125,
    "y" * 126,
    "z" * 70000,
]


def run_client(client_bin, url, lines):
    stdin = "".join(line + "\n" for line in lines)
    return subprocess.run([client_bin, url], input=stdin.encode(), capture_output=True, timeout=TIMEOUT)


def main():
    client_bin = sys.argv[1]
    with serve(echo, "127.0.0.1", 0, max_size=4 << 20, close_timeout=5) as server:
        host, port = server.socket.getsockname()[:2]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"ws://{host}:{port}/"
        result = None

        def lines_echoed():
            nonlocal result
            result = run_client(client_bin, url, LINES)
            got = result.stdout.decode().split("\n")
            assert got[-1] == "", "stdout does not end with a newline"
            got = got[:-1]
            if got != LINES:
                diff = next((i for i, (a, b) in enumerate(zip(got, LINES)) if a != b), min(len(got), len(LINES)))
                raise AssertionError(f"{len(got)} lines back for {len(LINES)}; first difference at line {diff}; "
                                     f"stderr: {result.stderr.decode()[-500:]!r}")

        check("stdout equals the lines sent", lines_echoed)

        def exit_zero():
            assert result is not None, "ws-client did not run"
            assert result.returncode == 0, f"exit {result.returncode}: {result.stderr.decode()[-500:]!r}"

        check("ws-client exits 0", exit_zero)

        def clean_close():
            server.shutdown()
            thread.join(TIMEOUT)
            assert len(sessions) == 1, f"{len(sessions)} sessions"
            received, code, reason = sessions[0]
            assert received == LINES, f"server got {len(received)} messages"
            assert code == 1000, f"close code {code} reason {reason!r}"

        check("server saw every line and close 1000", clean_close)
    return failures


if __name__ == "__main__":
    sys.exit(min(main(), 100))
