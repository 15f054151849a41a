#!/usr/bin/env python3
"""Interop check of talkback's `http-echo` against h11, a strict HTTP/1.1 implementation.

    python3 tests/interop/h11_client.py 127.0.0.1:8080      # or http://127.0.0.1:8080

Every response is parsed by h11 as a client (it raises `h11.RemoteProtocolError` on any
framing or syntax violation), and each check also asserts the status, headers and body that
http-echo promises. Exits non-zero naming the failing checks; the last line is always
`N passed, M failed`. Requires h11 (`python3 -m pip install h11==0.16.0`); run-h11.sh does it all.
"""

import socket
import sys
import traceback
from email.utils import parsedate_to_datetime

import h11

HELLO = b"Hello from talkback\n"
TIMEOUT = 5.0


class Client:
    """One TCP connection driven through an h11 client state machine."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=TIMEOUT)
        self.conn = h11.Connection(our_role=h11.CLIENT)

    def send(self, event):
        data = self.conn.send(event)
        if data:
            self.sock.sendall(data)

    def next_event(self):
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(self.sock.recv(65536))

    def request(self, method, target, headers=(), body=None, chunks=None):
        """Sends one request (body by Content-Length, or `chunks` chunked) and reads the
        response: returns (response, body bytes)."""
        fields = [("Host", "talkback.test")] + list(headers)
        if body is not None:
            fields.append(("Content-Length", str(len(body))))
        if chunks is not None:
            fields.append(("Transfer-Encoding", "chunked"))
        self.send(h11.Request(method=method, target=target, headers=fields))
        for piece in [body] if body is not None else chunks or []:
            self.send(h11.Data(data=piece))
        self.send(h11.EndOfMessage())
        return self.read_response()

    def read_response(self):
        response = self.next_event()
        while isinstance(response, h11.InformationalResponse):
            response = self.next_event()
        expect(isinstance(response, h11.Response), f"expected a response, got {response!r}")
        body = bytearray()
        while True:
            event = self.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return response, bytes(body)
            else:
                raise AssertionError(f"unexpected {event!r} inside a response")

    def next_cycle(self):
        """Ready for the next request on the same connection (h11 checks both sides are DONE)."""
        self.conn.start_next_cycle()

    def expect_server_close(self):
        """The server closes: h11 sees EOF (ConnectionClosed) and no stray bytes before it."""
        event = self.next_event()
        expect(isinstance(event, h11.ConnectionClosed), f"expected the close, got {event!r}")

    def close(self):
        self.sock.close()


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def header(response, name):
    values = [v for n, v in response.headers if n == name.lower().encode()]
    return values[0].decode() if values else None


def expect_ok(response, body, want_body, content_type=None):
    expect(response.status_code == 200, f"status {response.status_code}, want 200")
    expect(response.http_version == b"1.1", f"version {response.http_version!r}")
    expect(body == want_body, f"body {body[:80]!r}..., want {want_body[:80]!r}...")
    # RFC 9110 §6.6.1: an origin server with a clock MUST send Date (an IMF-fixdate).
    date = header(response, "date")
    expect(date is not None and date.endswith(" GMT"), f"Date {date!r}")
    parsedate_to_datetime(date)
    if content_type is not None:
        expect(header(response, "content-type") == content_type, f"Content-Type {header(response, 'content-type')!r}")


# --- the checks ---------------------------------------------------------------------------------


def check_get(addr):
    c = Client(addr)
    response, body = c.request("GET", "/any/path?q=1")
    expect_ok(response, body, HELLO, "text/plain")
    expect(header(response, "content-length") == "20", "Content-Length")
    c.close()


def check_head_then_get(addr):
    """RFC 9110 §9.3.2: HEAD has the GET headers and no content; a stray body would break the
    next response on the same connection, which h11 would reject."""
    c = Client(addr)
    response, body = c.request("HEAD", "/")
    expect_ok(response, body, b"", "text/plain")
    expect(header(response, "content-length") == "20", f"HEAD Content-Length {header(response, 'content-length')!r}")
    c.next_cycle()
    response, body = c.request("GET", "/")
    expect_ok(response, body, HELLO)
    c.close()


def check_post_content_length(addr):
    c = Client(addr)
    payload = bytes(range(256)) * 16
    response, body = c.request("POST", "/echo", [("Content-Type", "application/x-test")], body=payload)
    expect_ok(response, body, payload, "application/x-test")
    c.close()


def check_post_chunked(addr):
    """RFC 9112 §7.1: h11 sends the body chunked (one chunk per Data event)."""
    c = Client(addr)
    chunks = [b"Wiki", b"pedia", b" in ", b"chunks" * 1000]
    response, body = c.request("POST", "/echo", chunks=chunks)
    expect_ok(response, body, b"".join(chunks))
    c.close()


def check_put_large_chunked(addr):
    c = Client(addr)
    chunks = [bytes([i]) * 65536 for i in range(8)]
    response, body = c.request("PUT", "/big", chunks=chunks)
    expect_ok(response, body, b"".join(chunks))
    c.close()


def check_keep_alive_sequence(addr):
    """RFC 9112 §9.3: HTTP/1.1 persists by default; h11 checks both sides reach DONE each time."""
    c = Client(addr)
    for i in range(20):
        if i % 2:
            payload = f"message {i}".encode()
            response, body = c.request("POST", f"/{i}", body=payload)
            expect_ok(response, body, payload)
        else:
            response, body = c.request("GET", f"/{i}")
            expect_ok(response, body, HELLO)
        expect(header(response, "connection") is None, f"request {i}: Connection {header(response, 'connection')!r}")
        c.next_cycle()
    c.close()


def check_expect_100_continue(addr):
    """RFC 9110 §10.1.1: the 100 (Continue) interim response comes before we send the content."""
    c = Client(addr)
    payload = b"sent after 100 Continue"
    c.send(
        h11.Request(
            method="POST",
            target="/",
            headers=[("Host", "talkback.test"), ("Expect", "100-continue"), ("Content-Length", str(len(payload)))],
        )
    )
    interim = c.next_event()
    expect(isinstance(interim, h11.InformationalResponse), f"expected 100 Continue, got {interim!r}")
    expect(interim.status_code == 100, f"interim status {interim.status_code}")
    c.send(h11.Data(data=payload))
    c.send(h11.EndOfMessage())
    response, body = c.read_response()
    expect_ok(response, body, payload)
    c.close()


def check_connection_close(addr):
    """RFC 9112 §9.6: the server answers a `close` request with `Connection: close`, then closes."""
    c = Client(addr)
    response, body = c.request("GET", "/", [("Connection", "close")])
    expect_ok(response, body, HELLO)
    expect(header(response, "connection") == "close", f"Connection {header(response, 'connection')!r}")
    expect(c.conn.their_state is h11.MUST_CLOSE, f"h11 server state {c.conn.their_state}")
    c.expect_server_close()
    c.close()


def check_405_with_allow(addr):
    """RFC 9110 §15.5.6: a 405 carries Allow."""
    c = Client(addr)
    response, body = c.request("DELETE", "/")
    expect(response.status_code == 405, f"status {response.status_code}")
    expect(header(response, "allow") == "GET, HEAD, POST, PUT, OPTIONS", f"Allow {header(response, 'allow')!r}")
    expect(body.endswith(b"\n"), f"body {body!r}")
    c.next_cycle()
    response, body = c.request("GET", "/")
    expect_ok(response, body, HELLO)
    c.close()


def check_malformed_request_gets_400_then_close(addr):
    """RFC 9112 §3.2: an HTTP/1.1 request without Host earns 400. h11 will not send such a
    request, so its state machine is advanced with a valid request while the raw bytes on the
    wire lack Host; h11 still validates the 400 response and the close."""
    c = Client(addr)
    c.conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    c.conn.send(h11.EndOfMessage())
    c.sock.sendall(b"GET / HTTP/1.1\r\nUser-Agent: h11-interop\r\n\r\n")
    response, body = c.read_response()
    expect(response.status_code == 400, f"status {response.status_code}, want 400")
    expect(header(response, "connection") == "close", f"Connection {header(response, 'connection')!r}")
    expect(len(body) > 0, "an error response explains itself")
    c.expect_server_close()
    c.close()


CHECKS = [
    check_get,
    check_head_then_get,
    check_post_content_length,
    check_post_chunked,
    check_put_large_chunked,
    check_keep_alive_sequence,
    check_expect_100_continue,
    check_connection_close,
    check_405_with_allow,
    check_malformed_request_gets_400_then_close,
]


def parse_addr(text):
    text = text.removeprefix("http://").rstrip("/")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"usage: {sys.argv[0]} HOST:PORT (got {text!r})")
    return host, int(port)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} HOST:PORT")
    addr = parse_addr(sys.argv[1])
    passed, failed = 0, []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check(addr)
        except Exception as error:  # noqa: BLE001 — every failure is reported, then counted
            failed.append(name)
            kind = "protocol violation (h11)" if isinstance(error, h11.ProtocolError) else type(error).__name__
            print(f"FAIL {name}: {kind}: {error}")
            traceback.print_exc(limit=2, file=sys.stderr)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
