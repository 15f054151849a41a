// The publish token, the Origin allow-list and CORS in a real browser: headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core, with pages on two other origins.
//
//   node tests/e2e/guard.mjs path/to/demo      (scripts/e2e-guard.sh builds demo and runs this)
//
// Serves a blank page on two loopback ports — two origins, A and B — starts the hub with
// `--allow-origin A --publish-token T`, and checks from inside each page what the browser
// itself enforces: from A, a `fetch` POST with `Authorization` (preflighted) publishes, one
// without the token reads its 401, `fetch` of /poll reads the JSON and `Talkback-Missed`,
// EventSource streams, a `talkback.json` WebSocket with `?token=` publishes and gets ids; from
// B, the browser refuses to hand `fetch` and EventSource the answers, and the WebSocket
// handshake fails (403). Prints PASS/FAIL lines, then "N passed, M failed"; exits 1 on failure.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createInterface } from "node:readline";

const demo = process.argv[2];
if (!demo) {
  console.error("usage: node guard.mjs path/to/demo");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const TOKEN = "e2e-T0ken";

let passed = 0;
let failed = 0;
function check(ok, name, detail = "") {
  if (ok) passed += 1; else failed += 1;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
}

/** A server of one blank page, on a free loopback port: its origin. */
async function pageServer() {
  const server = createServer((_, res) => res.end("<!doctype html><title>elsewhere</title>"));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Starts the hub; resolves with it and its base URL once it prints its address. */
function startHub(args) {
  const child = spawn(demo, ["--addr", "127.0.0.1:0", "--threads", "2", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolve({ child, base: line.replace(/^listening on /, "") }));
    child.once("exit", (code) => reject(new Error(`demo exited with ${code}`)));
  });
}

const a = await pageServer();
const b = await pageServer();
const { child: hub, base } = await startHub(["--allow-origin", a.origin, "--publish-token", TOKEN, "--history", "2"]);
const wsBase = base.replace(/^http:/, "ws:");
let browser = null;
const overall = setTimeout(() => {
  check(false, "whole test finished within 50 s");
  finish(1);
}, 50_000);

function finish(code) {
  console.log(`${passed} passed, ${failed} failed`);
  clearTimeout(overall);
  hub.kill();
  a.server.close();
  b.server.close();
  const done = browser ? browser.close().catch(() => {}) : Promise.resolve();
  done.then(() => process.exit(code));
}

try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  await page.goto(`${a.origin}/`);

  // ─── from the listed origin A ───
  const published = await page.evaluate(async ({ base, token }) => {
    const res = await fetch(`${base}/ch/cors`, {
      method: "POST", body: "from A", headers: { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" },
    });
    return { status: res.status, id: await res.text() };
  }, { base, token: TOKEN });
  check(published.status === 200 && published.id === "1",
    "A: a preflighted fetch POST with Authorization: Bearer publishes", JSON.stringify(published));
  const refused = await page.evaluate(async (base) => {
    const res = await fetch(`${base}/ch/cors`, { method: "POST", body: "no token" });
    return { status: res.status, challenge: res.headers.get("www-authenticate") };
  }, base);
  check(refused.status === 401 && refused.challenge === 'Bearer realm="talkback"',
    "A: a POST without the token reads its 401 and the Bearer challenge", JSON.stringify(refused));
  for (let i = 0; i < 3; i++) {
    await page.evaluate(async ({ base, token }) => {
      await fetch(`${base}/ch/cors`, { method: "POST", body: "more", headers: { Authorization: `Bearer ${token}` } });
    }, { base, token: TOKEN });
  }
  const polled = await page.evaluate(async (base) => {
    const res = await fetch(`${base}/ch/cors/poll?after=0`);
    return { status: res.status, missed: res.headers.get("talkback-missed"), batch: await res.json() };
  }, base);
  check(polled.status === 200 && polled.batch.length === 2 && polled.missed === "2",
    "A: fetch reads /poll's JSON and its Talkback-Missed header (history 2)", JSON.stringify(polled));
  const streamed = await page.evaluate((base) => new Promise((resolve) => {
    const source = new EventSource(`${base}/ch/cors/sse?lastEventId=3`);
    source.onmessage = (e) => { source.close(); resolve({ id: e.lastEventId, data: e.data }); };
    source.onerror = () => { source.close(); resolve({ error: true }); };
  }), base);
  check(streamed.id === "4" && streamed.data === "more", "A: EventSource streams cross-origin", JSON.stringify(streamed));
  const socket = await page.evaluate(({ wsBase, token }) => new Promise((resolve) => {
    const ws = new WebSocket(`${wsBase}/ch/cors/ws?after=3&token=${encodeURIComponent(token)}`, "talkback.json");
    const frames = [];
    const acks = [];
    ws.onopen = () => ws.send("over the socket");
    ws.onmessage = (e) => {
      const frame = JSON.parse(e.data);
      // {"published":N}: the hub's answer to what this socket sent (talkback.json).
      if ("published" in frame) acks.push(frame.published);
      else frames.push(frame);
      if (frames.length === 2) { ws.close(); resolve({ protocol: ws.protocol, frames, acks }); }
    };
    ws.onerror = () => resolve({ error: true });
  }), { wsBase, token: TOKEN });
  check(socket.protocol === "talkback.json"
    && JSON.stringify(socket.frames) === JSON.stringify([{ id: 4, data: "more" }, { id: 5, data: "over the socket" }])
    && JSON.stringify(socket.acks) === "[5]",
  "A: a talkback.json WebSocket with ?token= resumes after 3 and publishes", JSON.stringify(socket));

  // ─── from the unlisted origin B ───
  await page.goto(`${b.origin}/`);
  const blocked = await page.evaluate(async (base) => {
    try {
      await fetch(`${base}/ch/cors/poll?after=0`);
      return "read";
    } catch (error) {
      return error.name;
    }
  }, base);
  check(blocked === "TypeError", "B: the browser keeps /poll's answer from an unlisted origin", blocked);
  const sourceB = await page.evaluate((base) => new Promise((resolve) => {
    const source = new EventSource(`${base}/ch/cors/sse?lastEventId=0`);
    source.onmessage = () => { source.close(); resolve("message"); };
    source.onerror = () => { source.close(); resolve("error"); };
  }), base);
  check(sourceB === "error", "B: EventSource from an unlisted origin fails", sourceB);
  const socketB = await page.evaluate((wsBase) => new Promise((resolve) => {
    const ws = new WebSocket(`${wsBase}/ch/cors/ws`);
    ws.onopen = () => { ws.close(); resolve("open"); };
    ws.onerror = () => resolve("error");
  }), wsBase);
  check(socketB === "error", "B: a WebSocket from an unlisted origin is refused (403)", socketB);
  finish(failed === 0 ? 0 : 1);
} catch (error) {
  check(false, "the guard test ran", error.stack);
  finish(1);
}
