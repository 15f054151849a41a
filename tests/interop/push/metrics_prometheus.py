"""Python's prometheus_client parser against the hub's GET /metrics: the exposition parses as
the Prometheus text format (0.0.4), every family the README names is there with its type, and
the counters move with a publish and a poll.

    python3 metrics_prometheus.py http://127.0.0.1:PORT
"""

import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

BASE = sys.argv[1]
CHANNEL = "x-metrics"
failed = 0

EXPECTED = {
    "talkback_connections": "gauge",
    "talkback_messages_published": "counter",
    "talkback_deliveries": "counter",
    "talkback_slow_consumers_dropped": "counter",
    "talkback_retained_bytes": "gauge",
    "talkback_channels": "gauge",
    "talkback_bytes_received": "counter",
    "talkback_bytes_sent": "counter",
}


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name}{': ' + why if why else ''}", flush=True)


def scrape():
    """Families by name, and every sample as (name, labels) -> value."""
    with urllib.request.urlopen(f"{BASE}/metrics", timeout=5) as response:
        content_type = response.headers.get("Content-Type")
        text = response.read().decode("utf-8")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {}
    for family in families.values():
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, families, samples


def request(path, data=None):
    with urllib.request.urlopen(f"{BASE}{path}", data=data, timeout=5) as response:
        return response.read()


content_type, families, before = scrape()
check("metrics: Content-Type is the 0.0.4 text format", content_type == "text/plain; version=0.0.4; charset=utf-8",
      str(content_type))
for name, kind in EXPECTED.items():
    family = families.get(name)
    check(f"metrics: {name} parses as a {kind} with its HELP", family is not None and family.type == kind
          and bool(family.documentation), repr(family))
techniques = {dict(labels).get("technique") for (name, labels) in before if name == "talkback_connections"}
check("metrics: connections by technique", techniques == {"http", "sse", "websocket", "longpoll"}, str(techniques))

request(f"/ch/{CHANNEL}", b"one")
request(f"/ch/{CHANNEL}", b"two")
request(f"/ch/{CHANNEL}/poll?after=0")
_, _, after = scrape()
published = ("talkback_messages_published_total", ())
check("metrics: two publishes counted", after[published] - before[published] == 2,
      f"{before[published]} -> {after[published]}")
polled = ("talkback_deliveries_total", (("technique", "poll"),))
check("metrics: a poll's two messages delivered", after[polled] - before[polled] == 2,
      f"{before[polled]} -> {after[polled]}")
for name in ("talkback_bytes_received_total", "talkback_bytes_sent_total"):
    key = (name, ())
    check(f"metrics: {name} grows", after[key] > before[key], f"{before[key]} -> {after[key]}")
check("metrics: history retained", after[("talkback_retained_bytes", ())] > 0)

sys.exit(1 if failed else 0)
