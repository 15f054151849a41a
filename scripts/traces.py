#!/usr/bin/env python3
"""Runs each binary with --trace against scripted clients and splices the server's wire dump
into the docs chapter between <!-- TRACE-TRANSCRIPT --> and <!-- /TRACE-TRANSCRIPT -->."""
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time

BIN = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/release")
DOCS = pathlib.Path("docs")


class Server:
    """A binary started on 127.0.0.1:0 with --trace and one loop (stable connection numbers)."""

    def __init__(self, name, *flags):
        self.proc = subprocess.Popen(
            [str(BIN / name), "--addr", "127.0.0.1:0", "--threads", "1", "--trace", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        self.addr = line.removeprefix("listening on http://")
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.name = name

    def stop(self):
        time.sleep(0.3)
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


def raw(server, data, read_for=0.5, shut=False):
    """Sends raw bytes on a new connection and returns what came back within `read_for` s."""
    s = socket.create_connection((server.host, server.port))
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    s.settimeout(read_for)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    return got


def req(method, path, body=b"", extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def http1():
    server = Server("http-echo")
    raw(server, req("GET", "/hello") + req("POST", "/echo", b"ping", "Connection: close\r\n"), shut=True)
    raw(server, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
    commands = [
        "http-echo --threads 1 --trace",
        "# one connection, two pipelined requests (GET, then POST with Connection: close)",
        "# then a smuggling attempt: Content-Length together with Transfer-Encoding",
    ]
    return commands, server.stop()


def websocket():
    server = Server("ws-echo")
    client = subprocess.run([str(BIN / "ws-client"), f"ws://{server.addr}/chat"], input="Hello\n",
                            capture_output=True, text=True, timeout=10)
    # An unmasked client frame is a protocol error (RFC 6455 §5.1): close 1002.
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    upgrade = (f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    raw(server, upgrade + bytes([0x81, 0x05]) + b"Hello")
    commands = [
        "ws-echo --threads 1 --trace",
        f"echo Hello | ws-client ws://ADDR/chat      # client printed: {client.stdout.strip()!r}",
        "# then a raw client sends the RFC 6455 §1.3 handshake and an UNMASKED frame (§5.1: close 1002)",
    ]
    return commands, server.stop()


def polling():
    server = Server("longpoll-echo")
    raw(server, req("POST", "/ch/room", b"first") + req("POST", "/ch/room", b"second"), read_for=0.3)
    raw(server, req("GET", "/ch/room/poll?after=0"), read_for=0.3)
    raw(server, req("GET", "/ch/room/poll?after=2"), read_for=0.3)
    commands = [
        "longpoll-echo --threads 1 --trace",
        "curl --data first ADDR/ch/room; curl --data second ADDR/ch/room   # (one connection here)",
        "curl 'ADDR/ch/room/poll?after=0'      # both messages",
        "curl 'ADDR/ch/room/poll?after=2'      # nothing newer: 204, an empty poll",
    ]
    return commands, server.stop()


def long_polling():
    server = Server("longpoll-echo")
    held = threading.Thread(target=raw, args=(server, req("GET", "/ch/room/longpoll?after=0&timeout=10"), 2.0))
    held.start()
    time.sleep(0.5)
    raw(server, req("POST", "/ch/room", b"news"), read_for=0.3)
    held.join()
    raw(server, req("GET", "/ch/room/longpoll?after=1&timeout=1"), read_for=1.5)
    commands = [
        "longpoll-echo --threads 1 --trace",
        "curl 'ADDR/ch/room/longpoll?after=0&timeout=10' &    # held...",
        "curl --data news ADDR/ch/room                        # ...released by the publish",
        "curl 'ADDR/ch/room/longpoll?after=1&timeout=1'       # nothing comes: 204 after 1 s",
    ]
    return commands, server.stop()


def sse():
    server = Server("sse-echo")
    stream = threading.Thread(target=raw, args=(server, req("GET", "/ch/room/sse"), 1.5))
    stream.start()
    time.sleep(0.4)
    raw(server, req("POST", "/ch/room", b"hello") + req("POST", "/ch/room", b"two\nlines"), read_for=0.3)
    stream.join()
    raw(server, req("GET", "/ch/room/sse", extra="Last-Event-ID: 1\r\n"), read_for=0.5)
    commands = [
        "sse-echo --threads 1 --trace",
        "curl -N ADDR/ch/room/sse &                                   # a subscriber",
        "curl --data hello ADDR/ch/room; curl --data-binary $'two\\nlines' ADDR/ch/room",
        "curl -N -H 'Last-Event-ID: 1' ADDR/ch/room/sse               # reconnect: replays id 2",
    ]
    return commands, server.stop()


def splice(doc, commands, transcript):
    path = DOCS / doc
    text = path.read_text()
    start = "<!-- TRACE-TRANSCRIPT -->"
    end = "<!-- /TRACE-TRANSCRIPT -->"
    transcript = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", transcript)
    block = ("\n*Generated by `just traces` (scripts/traces.py); server stderr, "
             "`<-` = received from the peer, `->` = sent.*\n\n```text\n$ "
             + "\n$ ".join(commands) + "\n```\n\n```text\n" + transcript.rstrip() + "\n```\n")
    if end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + start + block + end + after
    else:
        text = text.replace(start, start + block + end, 1)
    path.write_text(text)
    print(f"{doc}: {len(transcript.splitlines())} transcript lines")


def main():
    for doc, scenario in [("http1.md", http1), ("websocket.md", websocket), ("polling.md", polling),
                          ("long-polling.md", long_polling), ("sse.md", sse)]:
        commands, transcript = scenario()
        splice(doc, commands, transcript)


if __name__ == "__main__":
    main()
