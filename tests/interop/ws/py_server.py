"""Python `websockets` (sync server) as the peer of talkback's ws-client.

    python3 tests/interop/ws/py_server.py path/to/ws-client

Each scenario starts a websockets server on 127.0.0.1:0, pipes lines into
`ws-client ws://ADDR/PATH`, and checks ws-client's stdout and exit status and what the server
saw. Prints PASS/FAIL per check; the exit status is the number of failures.
"""

import subprocess
import sys
import threading
import traceback

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve

TIMEOUT = 10.0
failures = 0

LINES = [
    "hello from ws-client",
    "",
    "é € 🦀 multi-byte UTF-8",
    "x" * 125,
    "y" * 126,
    "z" * 70000,
]


def check(name, fn):
    global failures
    try:
        fn()
        print(f"PASS py-server {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        failures += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print(f"FAIL py-server {name}: {detail}", flush=True)


class Session:
    """One websockets server and one ws-client run against it."""

    def __init__(self, client_bin, handler, lines, path="/", **serve_options):
        self.seen = []  # per connection: (request path, messages received, close code, reason)
        self.extensions = []  # per connection: the extensions negotiated
        self.result = None
        self.timed_out = False

        def record(ws):
            received = []
            try:
                handler(ws, received)
            except ConnectionClosed:
                pass  # without a close handshake: close_code below says so (1006)
            finally:
                self.seen.append((ws.request.path, received, ws.close_code, ws.close_reason))
                self.extensions.append([extension.name for extension in ws.protocol.extensions])

        with serve(record, "127.0.0.1", 0, max_size=4 << 20, close_timeout=5, **serve_options) as server:
            host, port = server.socket.getsockname()[:2]
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            stdin = "".join(line + "\n" for line in lines).encode()
            try:
                self.result = subprocess.run([client_bin, f"ws://{host}:{port}{path}"], input=stdin,
                                             capture_output=True, timeout=TIMEOUT)
            except subprocess.TimeoutExpired as e:  # subprocess.run kills the child it started
                self.timed_out = True
                self.result = subprocess.CompletedProcess(e.cmd, None, e.stdout or b"", e.stderr or b"")
            server.shutdown()
            thread.join(TIMEOUT)

    def stdout_lines(self):
        out = self.result.stdout.decode()
        assert out == "" or out.endswith("\n"), "stdout does not end with a newline"
        return out.split("\n")[:-1]

    def assert_exit_zero(self):
        assert not self.timed_out, f"ws-client still running {TIMEOUT:.0f} s after stdin EOF (killed)"
        stderr = self.result.stderr.decode()[-500:]
        assert self.result.returncode == 0, f"exit {self.result.returncode}: {stderr!r}"


def echo(ws, received):
    for message in ws:  # ends with the close handshake
        received.append(message)
        ws.send(message)


def first_difference(got, want):
    return next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))


def main():
    client_bin = sys.argv[1]

    s = Session(client_bin, echo, LINES, path="/some/path?q=1")

    def lines_echoed():
        got = s.stdout_lines()
        assert got == LINES, (f"{len(got)} lines back for {len(LINES)}; first difference at line "
                              f"{first_difference(got, LINES)}; stderr {s.result.stderr.decode()[-300:]!r}")

    check("echo: stdout equals the lines sent", lines_echoed)
    check("echo: ws-client exits 0", s.assert_exit_zero)

    def server_view():
        assert len(s.seen) == 1, f"{len(s.seen)} connections"
        path, received, code, reason = s.seen[0]
        assert path == "/some/path?q=1", f"request target {path!r}"
        assert received == LINES, f"server got {len(received)} messages, first difference at " \
                                  f"{first_difference(received, LINES)}"
        assert code == 1000, f"close code {code} reason {reason!r}"

    check("echo: server saw the path, every line, then close 1000", server_view)

    def deflate_agreed():
        # RFC 7692: ws-client offers permessage-deflate; websockets' server accepts it.
        assert s.extensions == [["permessage-deflate"]], s.extensions

    check("echo: permessage-deflate negotiated (the 70 000-byte line went compressed)", deflate_agreed)

    # A server that closes first (1001 going away) after the first message: ws-client prints
    # what arrived, answers the close (RFC 6455 §5.5.1) and exits.
    def close_after_one(ws, received):
        received.append(ws.recv(timeout=TIMEOUT))
        ws.send("last words")
        ws.close(1001, "going away")

    s2 = Session(client_bin, close_after_one, ["one", "two", "three"])

    def server_close():
        s2.assert_exit_zero()
        assert s2.stdout_lines() == ["last words"], s2.stdout_lines()
        assert "1001" in s2.result.stderr.decode(), f"stderr {s2.result.stderr.decode()!r}"
        assert len(s2.seen) == 1 and s2.seen[0][2] == 1001, s2.seen
        # The server's close_code is the code it received back: ws-client echoed 1001.

    check("server closes first with 1001: ws-client echoes it and exits 0", server_close)

    # A server whose keepalive pings come every 100 ms: pings are not replies to our lines, so
    # ws-client must still close 300 ms after its last reply once stdin has ended.
    s3 = Session(client_bin, echo, ["a", "b"], ping_interval=0.1, ping_timeout=2)

    def closes_despite_pings():
        s3.assert_exit_zero()
        assert s3.stdout_lines() == ["a", "b"], s3.stdout_lines()
        assert len(s3.seen) == 1 and s3.seen[0][2] == 1000, s3.seen

    check("server pings every 100 ms: ws-client still closes after stdin EOF", closes_despite_pings)
    return failures


if __name__ == "__main__":
    sys.exit(min(main(), 100))
