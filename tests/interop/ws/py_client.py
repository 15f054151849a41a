"""Python `websockets` (sync client) against talkback's ws-echo.

    python3 tests/interop/ws/py_client.py 127.0.0.1:PORT

Each check prints `PASS name` or `FAIL name: why`; the exit status is the number of failures
(capped at 100). Run by tests/interop/run-ws.sh, which starts ws-echo on 127.0.0.1:0.
"""

import os
import sys
import time
import traceback

from websockets.sync.client import connect

TIMEOUT = 5.0
failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print(f"PASS py-client {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        failures += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print(f"FAIL py-client {name}: {detail}", flush=True)


def open_ws(addr, path="/"):
    # proxy=None: loopback only, whatever the environment says; compression stays on (the
    # default, "deflate"): the client offers permessage-deflate and talkback accepts it.
    return connect(f"ws://{addr}{path}", proxy=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT,
                   max_size=4 << 20)


def mixed_text(size):
    """Text of exactly `size` UTF-8 bytes mixing 1- to 4-byte characters."""
    text = ("talkback é € 🦀 " * (size // 10 + 1)).encode()[:size].decode(errors="ignore")
    return text + "." * (size - len(text.encode()))


def expect_echo(ws, message):
    ws.send(message)
    got = ws.recv(timeout=TIMEOUT)
    assert type(got) is type(message), f"sent {type(message).__name__}, got {type(got).__name__}"
    assert got == message, f"echo of {len(message)} differs ({len(got)} back)"


def main():
    with open_ws(sys.argv[1]) as ws:
        run(ws)

    def plain_still_works():
        with connect(f"ws://{sys.argv[1]}/", proxy=None, open_timeout=TIMEOUT, compression=None) as plain:
            assert plain.protocol.extensions == [], plain.protocol.extensions
            expect_echo(plain, "no compression offered: plain frames")

    check("compression=None: nothing negotiated, plain echo", plain_still_works)
    return failures


def run(ws):

    def deflate_negotiated():
        # RFC 7692: the client offered permessage-deflate and ws-echo accepted it.
        names = [extension.name for extension in ws.protocol.extensions]
        assert names == ["permessage-deflate"], names
        assert ws.subprotocol is None, ws.subprotocol

    check("handshake: permessage-deflate negotiated, no subprotocol", deflate_negotiated)
    check("compressible 256 KiB text echoed (compressed both ways)",
          lambda: expect_echo(ws, "".join(f'{{"seq":{i},"user":"ada"}},' for i in range(12000))[:1 << 18]))
    check("text echoed", lambda: expect_echo(ws, "hello from websockets é € 🦀"))
    check("empty text echoed", lambda: expect_echo(ws, ""))
    check("binary echoed", lambda: expect_echo(ws, bytes(range(256))))
    check("1 MiB binary echoed", lambda: expect_echo(ws, os.urandom(1 << 20)))
    check("1 MiB text echoed", lambda: expect_echo(ws, mixed_text(1 << 20)))

    def fragmented_text():
        # An iterable is sent as one fragmented message (RFC 6455 §5.4).
        ws.send(["frag", "mented ", "wörld"])
        got = ws.recv(timeout=TIMEOUT)
        assert got == "fragmented wörld", repr(got)

    check("fragmented text reassembled", fragmented_text)

    def ping_pong():
        waiter = ws.ping(b"are you there?")
        assert waiter.wait(TIMEOUT), "no pong within 5 s"

    check("ping answered by pong", ping_pong)

    def close_handshake():
        started = time.monotonic()
        ws.close(1000, "bye")
        elapsed = time.monotonic() - started
        # close_code/close_reason are the server's close frame (RFC 6455 §7.1.5); §5.5.1 asks
        # only that the code be echoed, and talkback sends no reason.
        assert ws.close_code == 1000, f"close code {ws.close_code} reason {ws.close_reason!r}"
        assert ws.close_reason in ("", "bye"), repr(ws.close_reason)
        # §7.1.1: the server closes TCP first. The client waits up to close_timeout (5 s) for
        # that before closing it itself, so a prompt return means the server did.
        assert elapsed < 2.0, f"close took {elapsed:.1f} s: the server did not close TCP"
        assert ws.protocol.state.name == "CLOSED", ws.protocol.state

    check("close 1000 echoed, server closes TCP first", close_handshake)


if __name__ == "__main__":
    sys.exit(min(main(), 100))
