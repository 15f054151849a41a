"""httpx + httpx-sse against the hub's SSE route: 20 messages in order with their ids, a
message with a newline, a Last-Event-ID replay, and the `missed` event when the cursor is
older than the retained history (run-push.sh starts the hub with --history 8).

    python3 sse_httpx.py http://127.0.0.1:PORT
"""

import sys

import httpx
from httpx_sse import connect_sse

BASE = sys.argv[1]
CHANNEL = "x-httpx"
COUNT = 20
failed = 0


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name}{': ' + why if why else ''}", flush=True)


def text(i):
    return "line one\nline two" if i == 7 else f"message {i}"


def take(events, count):
    """The next `count` SSE events (heartbeats are comments, never events)."""
    out = []
    for sse in events:
        out.append(sse)
        if len(out) == count:
            break
    return out


# trust_env=False: talk to 127.0.0.1 directly whatever proxy the environment names.
with httpx.Client(timeout=httpx.Timeout(5.0), trust_env=False) as client:
    url = f"{BASE}/ch/{CHANNEL}/sse"
    try:
        with connect_sse(client, "GET", url) as source:
            ctype = source.response.headers.get("content-type", "")
            check("httpx-sse: text/event-stream", ctype.startswith("text/event-stream"), ctype)
            check("httpx-sse: Cache-Control no-cache", source.response.headers.get("cache-control") == "no-cache")
            with httpx.Client(timeout=5.0, trust_env=False) as publisher:
                for i in range(1, COUNT + 1):
                    r = publisher.post(f"{BASE}/ch/{CHANNEL}", content=text(i).encode())
                    assert r.status_code == 200 and r.text == str(i), (r.status_code, r.text)
            got = [(sse.event, sse.id, sse.data) for sse in take(source.iter_sse(), COUNT)]
            want = [("message", str(i), text(i)) for i in range(1, COUNT + 1)]
            check("httpx-sse: 20 messages in order with ids", got == want, f"{got[:3]}...")
            check("httpx-sse: a message with a newline arrives whole", got[6][2] == "line one\nline two", repr(got[6]))
    except Exception as error:  # noqa: BLE001 - any failure is a FAIL line
        check("httpx-sse: live stream", False, repr(error))

    try:
        with connect_sse(client, "GET", url, headers={"Last-Event-ID": "15"}) as source:
            got = [(sse.id, sse.data) for sse in take(source.iter_sse(), 5)]
            check("httpx-sse: Last-Event-ID: 15 replays 16..20", got == [(str(i), text(i)) for i in range(16, 21)], repr(got))
    except Exception as error:  # noqa: BLE001
        check("httpx-sse: replay", False, repr(error))

    try:
        # History is 8: after 20 messages ids 13..20 are kept, so a cursor of 2 missed 3..12.
        with connect_sse(client, "GET", url, headers={"Last-Event-ID": "2"}) as source:
            got = [(sse.event, sse.id, sse.data) for sse in take(source.iter_sse(), 9)]
            check("httpx-sse: an old cursor gets `missed` first", got[0][0] == "missed" and got[0][2] == "10", repr(got[0]))
            ids = [int(g[1]) for g in got[1:]]
            check("httpx-sse: then the retained messages", ids == list(range(13, 21)), repr(ids))
    except Exception as error:  # noqa: BLE001
        check("httpx-sse: missed", False, repr(error))

sys.exit(1 if failed else 0)
