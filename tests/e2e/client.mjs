// talkback.js in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, against the hub itself and behind a misbehaving proxy.
//
//   node tests/e2e/client.mjs path/to/demo     (scripts/e2e-client.sh builds demo and runs this)
//
// Starts two hubs: A (every technique) and B (`--transports sse,longpoll,poll`: an operator
// who turned WebSockets off; the upgrade answers 404). In front of A runs a small proxy in this
// process — the middlebox — that can refuse WebSocket upgrades (403), swallow them (never
// answer), hold event streams back (forward the head, never the body: a buffering proxy), and
// cut every open WebSocket (the connection closes under the client). Checks, from a page on the
// proxy's origin that imports /talkback.js:
//   1. upgrades refused (403 at the proxy; 404 from hub B; swallowed) → the client uses SSE;
//   2. the event stream held back as well → the client uses long polling;
//   3. 500 messages published while the WebSockets are cut and refused, then allowed again:
//      every message arrives once, in order (websocket → sse → websocket), none missed;
//   4. the client returns to the WebSocket once it is allowed again;
//   5. the demo page's fifth pane on hub B shows "sse" and why.
// Measures the fallback cost — time from subscribe() to the first message under each failure,
// messages lost — and writes it to $E2E_ARTIFACTS/client-fallback.json (default
// artifacts/e2e). Prints PASS/FAIL lines, then "N passed, M failed"; exits 1 on failure.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";

const demo = process.argv[2];
if (!demo) {
  console.error("usage: node client.mjs path/to/demo");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = process.env.E2E_ARTIFACTS || "artifacts/e2e";
const MESSAGES = 500;

let passed = 0;
let failed = 0;
function check(ok, name, detail = "") {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
}

/** Starts a hub; resolves with it and its base URL once it prints its address. */
function startHub(args) {
  const child = spawn(demo, ["--addr", "127.0.0.1:0", "--threads", "2", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolve({ child, base: line.replace(/^listening on /, "") }));
    child.once("exit", (code) => reject(new Error(`demo exited with ${code}`)));
  });
}

/**
 * The middlebox in front of `base`: forwards requests and upgrades, except as `mode` says.
 * mode.ws: "pass" | "refuse" (403) | "drop" (the upgrade is never answered);
 * mode.sse: "pass" | "hold" (the head goes through, the body never does).
 */
async function startProxy(base) {
  const target = new URL(base);
  const mode = { ws: "pass", sse: "pass" };
  const sockets = new Set(); // open WebSocket pairs, so cutWebSockets() can end them
  const held = new Set(); // connections kept open and silent (held streams, swallowed upgrades)
  const server = http.createServer((req, res) => {
    if (req.url === "/blank.html") {
      res.writeHead(200, { "Content-Type": "text/html" });
      return res.end("<!doctype html><title>talkback.js test</title>");
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        answer.on("error", () => res.destroy()); // the hub cut a stream short (a drop, a close)
        res.writeHead(answer.statusCode, answer.headers);
        if (mode.sse === "hold" && /\/sse(\?|$)/.test(req.url)) {
          res.flushHeaders();
          answer.on("data", () => {}); // buffered forever: nothing reaches the browser
          held.add(res);
          res.on("close", () => answer.destroy());
          return;
        }
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.on("error", () => upstream.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    // A browser may reset a refused or swallowed upgrade: a reset is how it ends, not a failure
    // of the test, and an 'error' nobody listens for would end the whole process.
    socket.on("error", () => socket.destroy());
    if (mode.ws === "refuse") {
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    if (mode.ws === "drop") {
      held.add(socket);
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const pair = { socket, upstream };
    sockets.add(pair);
    const end = () => {
      sockets.delete(pair);
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    mode,
    cutWebSockets() {
      for (const { socket, upstream } of sockets) {
        socket.destroy();
        upstream.destroy();
      }
    },
    release() {
      for (const connection of held) connection.destroy();
      held.clear();
    },
    close() {
      this.cutWebSockets();
      this.release();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** POSTs `text` to `channel` on `base` (from Node, not the page); resolves with the id. */
async function publish(base, channel, text) {
  const response = await fetch(`${base}/ch/${channel}`, { method: "POST", body: text });
  if (!response.ok) throw new Error(`publish: HTTP ${response.status}`);
  return Number(await response.text());
}

// ─── in the page ─────────────────────────────────────────────────────────────────────────────

/**
 * Installs `window.probe(channel, options)` in the page: subscribes, publishes one message as
 * soon as the client has its cursor, and records every event with its time since subscribe().
 */
async function installProbe(page) {
  await page.evaluate(async () => {
    const { subscribe } = await import("/talkback.js");
    window.runs = {};
    window.probe = (channel, options) => {
      const run = { start: performance.now(), messages: [], states: [], missed: 0, firstAt: null, published: null };
      window.runs[channel] = run;
      const sub = subscribe(channel, options);
      run.sub = sub;
      const at = () => Math.round(performance.now() - run.start);
      sub.addEventListener("state", ({ detail }) => {
        run.states.push({ ...detail, at: at(), wall: Date.now() });
        // The cursor is known once the first state is out: publish the timed message now.
        if (run.published === null && options.publishFirst) {
          run.published = sub.publish(`first ${channel}`).then((id) => id, (error) => String(error));
        }
      });
      sub.addEventListener("message", ({ detail }) => {
        if (run.firstAt === null) run.firstAt = at();
        run.messages.push({ id: detail.id, data: detail.data, transport: sub.transport });
      });
      sub.addEventListener("missed", ({ detail }) => (run.missed += detail.count));
    };
    window.report = (channel) => {
      const run = window.runs[channel];
      return {
        transport: run.sub.transport,
        firstAt: run.firstAt,
        missed: run.missed,
        messages: run.messages,
        states: run.states,
      };
    };
  });
}

/** Polls `window.report(channel)` until `done(report)` or `ms` pass; returns the last report. */
async function waitFor(page, channel, done, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const report = await page.evaluate((c) => window.report(c), channel);
    if (done(report) || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const path = (report) => [...new Set(report.states.filter((s) => s.state === "open").map((s) => s.transport))];
const FAST = { window: { websocket: 3000, sse: 3000, longpoll: 3000, poll: 3000 }, retryFirst: 200, retryCap: 1000 };

// ─── the checks ─────────────────────────────────────────────────────────────────────────────

const hubA = await startHub(["--history", "2000"]);
// B's heartbeat is 2 s: on its quiet channel a heartbeat is the only sign of life SSE gives.
const hubB = await startHub(["--history", "2000", "--transports", "sse,longpoll,poll", "--heartbeat", "2"]);
const proxy = await startProxy(hubA.base);
let browser = null;
const figures = [];
const overall = setTimeout(() => {
  check(false, "whole test finished within 150 s");
  finish(1);
}, 150_000);

function finish(code) {
  console.log(`${passed} passed, ${failed} failed`);
  clearTimeout(overall);
  hubA.child.kill();
  hubB.child.kill();
  proxy.close();
  const done = browser ? browser.close().catch(() => {}) : Promise.resolve();
  done.then(() => process.exit(code));
}

/**
 * One failure, measured: sets the proxy's modes, subscribes on a fresh channel whose history
 * holds a message already (a returning reader's case), publishes one more message once the
 * client knows its cursor, and waits for it. Records the time to the first message.
 */
async function measure(page, name, { ws = "pass", sse = "pass", expect, options = {} }) {
  proxy.mode.ws = ws;
  proxy.mode.sse = sse;
  const channel = `fb-${name.replace(/[^a-z0-9]+/gi, "-")}`;
  await publish(hubA.base, channel, "history");
  await page.evaluate(([c, o]) => window.probe(c, { ...o, publishFirst: true }), [channel, { ...FAST, ...options }]);
  const report = await waitFor(page, channel, (r) => r.messages.length >= 1, 20_000);
  proxy.release();
  await page.evaluate((c) => window.runs[c].sub.close(), channel);
  const got = report.messages.map((m) => m.data);
  const lost = got.includes(`first ${channel}`) ? 0 : 1;
  check(
    report.messages[0]?.transport === expect && lost === 0 && report.missed === 0,
    `${name}: the client settles on ${expect} and gets the message`,
    `via ${report.messages[0]?.transport ?? "nothing"} after ${report.firstAt} ms; opened: ${path(report).join(" → ")}`,
  );
  figures.push({ failure: name, transport: report.messages[0]?.transport ?? null, firstMessageMs: report.firstAt, lost });
  return report;
}

try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  page.on("pageerror", (error) => check(false, "no uncaught error in the page", String(error)));
  await page.goto(`${proxy.origin}/blank.html`);
  await installProbe(page);

  // 1–2. Each failure, and what the first message costs under it.
  await measure(page, "nothing fails", { expect: "websocket" });
  // 1b. A publish while the WebSocket carries the channel goes over it ({"published":N}), not
  //     by POST, and resolves with the id the message arrives with.
  {
    const channel = "fb-socket-publish";
    await page.evaluate(([c, o]) => window.probe(c, o), [channel, FAST]);
    await waitFor(page, channel, (r) => r.transport === "websocket", 10_000);
    const result = await page.evaluate(async (c) => {
      let posts = 0;
      const real = window.fetch;
      window.fetch = (url, init) => {
        if (init?.method === "POST") posts++;
        return real(url, init);
      };
      try {
        const run = window.runs[c];
        const id = await run.sub.publish("over the socket");
        return { id, posts, transport: run.sub.transport };
      } finally {
        window.fetch = real;
      }
    }, channel);
    const report = await waitFor(page, channel, (r) => r.messages.some((m) => m.data === "over the socket"), 5000);
    const message = report.messages.find((m) => m.data === "over the socket");
    check(
      result.transport === "websocket" && result.posts === 0 && message?.id === result.id,
      "publish over the open WebSocket resolves with the message's id, with no POST",
      JSON.stringify({ result, message }),
    );
    await page.evaluate((c) => window.runs[c].sub.close(), channel);
  }
  await measure(page, "upgrade refused with 403", { ws: "refuse", expect: "sse" });
  await measure(page, "upgrade swallowed", { ws: "drop", expect: "sse" });
  await measure(page, "upgrade refused, event stream held back", { ws: "refuse", sse: "hold", expect: "longpoll" });
  await measure(page, "only short polling gets through", {
    ws: "refuse",
    sse: "hold",
    expect: "poll",
    options: { transports: ["websocket", "sse", "poll"] },
  });

  // 3–4. 500 messages while the WebSocket is cut from under the client and refused, then
  // allowed again: one cursor across the switch, so none is lost or repeated.
  proxy.mode.ws = "pass";
  proxy.mode.sse = "pass";
  const channel = "switch";
  const after = await publish(hubA.base, channel, "before the test");
  await page.evaluate(([c, o]) => window.probe(c, o), [channel, { ...FAST, after, upgradeEvery: 1000 }]);
  const opened = await waitFor(page, channel, (r) => r.transport === "websocket", 10_000);
  check(opened.transport === "websocket", "switch: starts on the WebSocket");
  let allowedAt = null;
  for (let i = 1; i <= MESSAGES; i++) {
    await publish(hubA.base, channel, `m${i}`);
    if (i === 100) {
      proxy.mode.ws = "refuse";
      proxy.cutWebSockets(); // the connection ends under the client, mid-stream
    }
    if (i === 300) {
      proxy.mode.ws = "pass";
      allowedAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 8)); // a steady stream: ~4 s for all of them
  }
  const end = await waitFor(
    page,
    channel,
    (r) => r.messages.length >= MESSAGES && r.transport === "websocket",
    15_000,
  );
  const texts = end.messages.map((m) => m.data);
  const expected = Array.from({ length: MESSAGES }, (_, i) => `m${i + 1}`);
  const inOrder = texts.length === MESSAGES && texts.every((t, i) => t === expected[i]);
  const ids = end.messages.map((m) => m.id);
  check(
    inOrder && end.missed === 0,
    `switch: all ${MESSAGES} messages arrive once, in order, none missed`,
    `${texts.length} delivered, ${new Set(ids).size} distinct ids, missed ${end.missed}`,
  );
  const carriers = [...new Set(end.messages.map((m) => m.transport))];
  check(carriers.includes("sse"), "switch: after the cut, SSE carried the messages", carriers.join(", "));
  const back = end.states.find((s) => s.state === "open" && s.transport === "websocket" && s.wall >= allowedAt);
  check(
    end.transport === "websocket" && back !== undefined,
    "switch: the client returns to the WebSocket once it is allowed again",
    back ? `${back.wall - allowedAt} ms after it was allowed (${back.reason})` : "",
  );
  const returnMs = back ? back.wall - allowedAt : null;
  figures.push({ failure: `${MESSAGES} messages across websocket → sse → websocket`, lost: MESSAGES - new Set(ids).size, repeated: ids.length - new Set(ids).size, carriers, returnMs });

  // 5. The demo page's fifth pane on hub B (WebSockets turned off by --transports).
  const demoPage = await browser.newPage();
  await demoPage.goto(`${hubB.base}/`);
  const pane = demoPage.locator("[data-testid=pane-client]");
  await demoPage.waitForFunction(() => document.querySelector("[data-testid=pane-client]").dataset.transport === "sse", null, { timeout: 15_000 }).catch(() => {});
  const shown = await pane.getAttribute("data-transport");
  const why = await demoPage.locator("[data-testid=client-why]").textContent();
  check(shown === "sse" && /websocket failed/.test(why), "page: the fifth pane shows sse, and why", `${shown}: ${why}`);
  await publish(hubB.base, "demo", JSON.stringify({ text: "to the fifth pane", sent: Date.now(), page: "e2e" }));
  await demoPage.waitForFunction(() => document.querySelector("[data-testid=client-received]").textContent === "1", null, { timeout: 5000 }).catch(() => {});
  check((await demoPage.locator("[data-testid=client-received]").textContent()) === "1", "page: the fifth pane shows the message");
  mkdirSync(artifacts, { recursive: true });
  await demoPage.screenshot({ path: `${artifacts}/client-pane.png`, fullPage: true });

  writeFileSync(`${artifacts}/client-fallback.json`, `${JSON.stringify(figures, null, 2)}\n`);
  console.log("fallback cost (time from subscribe() to the first message):");
  for (const f of figures) console.log(`  ${JSON.stringify(f)}`);
  finish(failed ? 1 : 0);
} catch (error) {
  check(false, "the test ran to its end", error.stack || String(error));
  finish(1);
}
