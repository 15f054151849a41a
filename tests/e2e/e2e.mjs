// The demo page in a real browser: headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded one) driven by playwright-core.
//
//   node tests/e2e/e2e.mjs 127.0.0.1:PORT      (scripts/e2e.sh starts the server and runs this)
//
// Loads the page, waits for the four panes to connect, publishes by POST, over the page's
// WebSocket, and from outside the page (Node fetch), and checks that every pane shows every
// message exactly once and that the server's counters moved. Then the network drops twice: the
// page goes offline (`context.setOffline(true)`) and every connection it has is cut, messages are
// published from this process meanwhile, the page comes back online, and every pane must show
// every one of them once and in order — the second time more than the server's history (the
// server runs with `--history 8`), so each pane must also say how many it missed.
// Saves a full-page screenshot to artifacts/e2e/demo.png. Prints PASS/FAIL lines, then
// "N passed, M failed"; exits 1 on failure. The whole run is bounded (well under 90 s).
//
// The page is loaded through a TCP relay in this process (see `relay`), so the test can cut the
// page's connections the way a network drop does. Chromium's offline mode alone refuses new
// requests but may leave an open WebSocket or EventSource untouched.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const addr = process.argv[2];
if (!addr) {
  console.error("usage: node e2e.mjs HOST:PORT");
  process.exit(2);
}
const base = `http://${addr}`;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// Where the screenshots go (tests/proxy/run-nginx.sh, running this through nginx, picks another).
const screenshot = resolve(process.env.E2E_ARTIFACTS || resolve(root, "artifacts/e2e"), "demo.png");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const TECHS = ["poll", "longpoll", "sse", "ws"];
const STEP_MS = 8_000;       // the longest any single check may wait
const RESUME_MS = 15_000;    // the longest a pane may take to come back after the network does
const TOTAL_MS = 85_000;     // the whole test
const HISTORY = 8;           // the server's --history (scripts/e2e.sh)

let passed = 0;
let failed = 0;
function check(ok, name, detail = "") {
  if (ok) passed += 1; else failed += 1;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
  return ok;
}

let browser = null;
const overall = setTimeout(async () => {
  check(false, `whole test finished within ${TOTAL_MS / 1000} s`);
  console.log(`${passed} passed, ${failed} failed`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}, TOTAL_MS);

/** Polls `probe()` in the page until `ok(value)` or the step times out; returns the last value. */
async function waitFor(page, probe, arg, ok, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await page.evaluate(probe, arg);
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A TCP relay on 127.0.0.1:0 in front of `target` (HOST:PORT). The browser talks to the relay;
 * `down()` resets every connection through it and refuses new ones until `up()` — to the
 * browser, the network is gone — while the server and this process's own requests (which go to
 * `target` directly) carry on. (Refusing matters: Chromium silently retries a request whose
 * kept-alive connection was reset, below the layer its offline emulation works at.)
 */
function relay(target) {
  const colon = target.lastIndexOf(":");
  const [host, port] = [target.slice(0, colon), Number(target.slice(colon + 1))];
  const pairs = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(port, host);
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  return new Promise((resolveListening) => {
    server.listen(0, "127.0.0.1", () => resolveListening({
      addr: `127.0.0.1:${server.address().port}`,
      down() {
        refusing = true;
        const n = pairs.size;
        for (const { client, upstream } of pairs) {
          client.resetAndDestroy();   // a TCP RST to the browser
          upstream.destroy();
        }
        pairs.clear();
        return n;
      },
      up() {
        refusing = false;
      },
      close: () => server.close(),
    }));
  });
}

/** Every pane's connection state, drop count and missed-messages note. */
function readLinks(techs) {
  const out = {};
  for (const tech of techs) {
    const pane = document.querySelector(`[data-testid=pane-${tech}]`);
    out[tech] = {
      state: pane.dataset.state,
      reconnects: Number(pane.dataset.reconnects),
      note: pane.querySelector("[data-testid=note]").textContent,
    };
  }
  return out;
}

/** Each pane's shown messages among `texts`, oldest first (the list shows the newest on top). */
function shownAmong([techs, texts]) {
  const wanted = new Set(texts);
  const out = {};
  for (const tech of techs) {
    const items = document.querySelectorAll(`[data-testid=pane-${tech}] [data-testid=messages] li .text`);
    out[tech] = Array.from(items, (el) => el.textContent).filter((t) => wanted.has(t)).reverse();
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Publishes from this process, straight to the server (not through the relay). */
async function publishDirect(channel, text) {
  const response = await fetch(`${base}/ch/${channel}`, { method: "POST", body: text });
  return response.status;
}

/**
 * One network drop: the page goes offline and loses every connection, `count` messages are
 * published meanwhile, the page comes back; every pane must show the ones the server still
 * retains (the last HISTORY of them) once and in order, and say how many it missed, if any.
 */
async function outage(page, context, link, channel, count, label) {
  const before = await page.evaluate(readLinks, TECHS);
  await context.setOffline(true);
  const cut = link.down();
  check(!(await page.evaluate(() => navigator.onLine)), `${label}: the browser reports itself offline`);
  const down = await waitFor(page, readLinks, TECHS,
    (v) => TECHS.every((t) => v[t].reconnects > before[t].reconnects && v[t].state === "reconnecting"));
  for (const tech of TECHS) {
    check(down[tech].reconnects > before[tech].reconnects && down[tech].state === "reconnecting",
      `${label}: ${tech} pane notices the drop and shows "reconnecting"`,
      `state ${down[tech].state}, drops ${before[tech].reconnects} -> ${down[tech].reconnects} (${cut} connections cut)`);
  }

  const texts = Array.from({ length: count }, (_, i) => `${label} #${i + 1}`);
  const statuses = [];
  for (const text of texts) statuses.push(await publishDirect(channel, text));
  check(statuses.every((s) => s === 200), `${label}: ${count} messages published from the test while the page is offline`,
    statuses.join(","));
  // Give the panes time to try (and fail) to reconnect while offline: nothing may arrive.
  await sleep(1500);
  const during = await page.evaluate(shownAmong, [TECHS, texts]);
  check(TECHS.every((t) => during[t].length === 0), `${label}: while offline no pane receives anything`,
    JSON.stringify(during));

  link.up();
  await context.setOffline(false);
  const online = Date.now();
  const kept = texts.slice(-HISTORY);
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const back = await waitFor(page, shownAmong, [TECHS, texts], (v) => TECHS.every((t) => v[t].length >= kept.length),
    RESUME_MS);
  const caughtUp = Date.now() - online;
  // The page's `online` listener ends every back-off wait at once, so this is quick.
  check(caughtUp < 3000, `${label}: every pane caught up within 3 s of going online`, `${caughtUp} ms`);
  for (const tech of TECHS) {
    check(same(back[tech], kept), `${label}: ${tech} pane shows every retained message once and in order`,
      `${back[tech].length}/${kept.length} within ${caughtUp} ms of going online: ${JSON.stringify(back[tech])}`);
  }
  const missed = count - kept.length;
  const up = await waitFor(page, readLinks, TECHS, (v) => TECHS.every((t) => v[t].state === "connected"), RESUME_MS);
  for (const tech of TECHS) {
    check(up[tech].state === "connected", `${label}: ${tech} pane is connected again`, `state ${up[tech].state}`);
    const said = up[tech].note;
    check(missed === 0 ? said === "" : said.startsWith(`Missed ${missed} message`),
      `${label}: ${tech} pane ${missed === 0 ? "reports nothing missed" : `says it missed ${missed}`}`, `note "${said}"`);
  }
  const stats = await waitFor(page, () => document.querySelector("#stats-state").textContent, null,
    (v) => v === "live", RESUME_MS);
  check(stats === "live", `${label}: the counter stream is live again`, `"${stats}"`);
}

/** Every pane's counters, as numbers (from `data-value`; null when empty). */
function readCounters(techs) {
  const out = {};
  for (const tech of techs) {
    const pane = document.querySelector(`[data-testid=pane-${tech}]`);
    const value = (id) => {
      const raw = pane.querySelector(`[data-testid=${id}]`).dataset.value;
      return raw === "" ? null : Number(raw);
    };
    out[tech] = {
      received: value("received"), requests: value("requests"), empty: value("empty"),
      up: value("bytes-up"), down: value("bytes-down"), latency: value("latency"),
      state: pane.dataset.state,
    };
  }
  return out;
}

/** How many times each pane's message list shows `text` (as a whole message). */
function countShown([techs, text]) {
  const out = {};
  for (const tech of techs) {
    const items = document.querySelectorAll(`[data-testid=pane-${tech}] [data-testid=messages] li .text`);
    out[tech] = Array.from(items).filter((el) => el.textContent === text).length;
  }
  return out;
}

/** Waits until every pane shows `text` and checks each shows it exactly once. */
async function expectEverywhere(page, text, how) {
  const shown = await waitFor(page, countShown, [TECHS, text], (v) => TECHS.every((t) => v[t] >= 1));
  for (const tech of TECHS) {
    check(shown[tech] === 1, `${tech} pane shows the message sent ${how} exactly once`, `seen ${shown[tech]}×`);
  }
}

async function send(page, text, via) {
  await page.selectOption("[data-testid=send-via]", via);
  await page.fill("[data-testid=message-input]", text);
  await page.click("[data-testid=send-button]");
}

async function main() {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    timeout: 20_000,
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (msg) => { if (msg.type() === "error") pageErrors.push(`console: ${msg.text()}`); });

  const link = await relay(addr);
  const response = await page.goto(`http://${link.addr}/`, { waitUntil: "load" });
  check(response && response.status() === 200, "GET / answers 200 with the page", `status ${response && response.status()}`);
  check((await page.title()).includes("talkback"), "the page has its title");

  // Short polling at its fastest, so that empty answers pile up quickly.
  await page.selectOption("[data-testid=poll-interval]", "250");

  const connected = await waitFor(page, readCounters, TECHS, (v) => TECHS.every((t) => v[t].state === "connected"));
  for (const tech of TECHS) {
    check(connected[tech].state === "connected", `${tech} pane connects`, `state ${connected[tech].state}`);
  }

  // Chromium offers permessage-deflate on every WebSocket; the hub accepts it (RFC 7692)
  // without context takeover, as it compresses each broadcast once for every subscriber.
  const extensions = await page.evaluate(() => session && session.socket && session.socket.extensions);
  check(typeof extensions === "string" && extensions.startsWith("permessage-deflate"),
    "the page's WebSocket negotiated permessage-deflate", `ws.extensions ${JSON.stringify(extensions)}`);
  check(typeof extensions === "string" && extensions.includes("server_no_context_takeover"),
    "the hub announces server_no_context_takeover", `ws.extensions ${JSON.stringify(extensions)}`);

  const tag = Math.random().toString(36).slice(2, 8);

  // 1. From the page, by POST.
  const viaPost = `hello by POST ${tag}`;
  await send(page, viaPost, "post");
  await expectEverywhere(page, viaPost, "by POST");
  const afterPost = await page.evaluate(readCounters, TECHS);
  for (const tech of TECHS) {
    const ms = afterPost[tech].latency;
    check(ms !== null && ms >= 0 && ms < 5000, `${tech} pane shows a latency for the page's message`, `${ms} ms`);
  }

  // 2. From the page, over its WebSocket.
  const viaWs = `hello over the WebSocket ${tag}`;
  await send(page, viaWs, "ws");
  await expectEverywhere(page, viaWs, "over the WebSocket");

  // 3. From outside the page: a plain-text message, as curl would send it.
  const outside = `hello from outside ${tag}`;
  const published = await fetch(`${base}/ch/demo`, { method: "POST", body: outside });
  check(published.status === 200, "POST /ch/demo from Node answers 200", `status ${published.status}`);
  await expectEverywhere(page, outside, "from outside the page");
  const afterOutside = await page.evaluate(readCounters, TECHS);
  for (const tech of TECHS) {
    check(afterOutside[tech].latency === null, `${tech} pane shows no latency for a plain-text message`,
      `latency ${afterOutside[tech].latency}`);
  }

  // 4. The counters: the page's own message count, the server's requests / empty / bytes
  // (they arrive on /stats every 250 ms, so wait for them to catch up).
  const settled = (v) =>
    TECHS.every((t) => v[t].received === 3 && v[t].down > 0 && v[t].up > 0) &&
    v.poll.requests > 0 && v.longpoll.requests > 0 && v.poll.empty >= 1;
  const c = await waitFor(page, readCounters, TECHS, settled);
  for (const tech of TECHS) {
    check(c[tech].received === 3, `${tech}: received counts the 3 messages`, `received ${c[tech].received}`);
    check(c[tech].down > 0, `${tech}: bytes received (server's bytes_out) > 0`, `${c[tech].down} B`);
    check(c[tech].up > 0, `${tech}: bytes sent (server's bytes_in) > 0`, `${c[tech].up} B`);
  }
  check(c.poll.requests > 0, "poll: requests > 0", `${c.poll.requests}`);
  check(c.longpoll.requests > 0, "longpoll: requests > 0", `${c.longpoll.requests}`);
  check(c.poll.empty >= 1, "poll: empty answers ≥ 1 at 250 ms", `${c.poll.empty}`);
  check(c.sse.requests === 1 && c.ws.requests === 1, "sse and ws: one request each (one long-lived connection)",
    `sse ${c.sse.requests}, ws ${c.ws.requests}`);

  // 5. One more from the page, so the latency shows again (and the screenshot has it).
  const again = `and once more by POST ${tag}`;
  await send(page, again, "post");
  await expectEverywhere(page, again, "by POST again");
  const last = await page.evaluate(readCounters, TECHS);
  check(TECHS.every((t) => last[t].latency !== null && last[t].received === 4),
    "every pane counts 4 messages and shows the last one's latency",
    TECHS.map((t) => `${t} ${last[t].received}/${last[t].latency} ms`).join(", "));

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);

  // 6. Narrow screens: the panes wrap to 2×2.
  await page.setViewportSize({ width: 820, height: 900 });
  const boxes = await page.evaluate((techs) => techs.map((t) => {
    const r = document.querySelector(`[data-testid=pane-${t}]`).getBoundingClientRect();
    return { x: Math.round(r.x), y: Math.round(r.y) };
  }), TECHS);
  const [a, b, c2, d] = boxes;
  check(a.y === b.y && c2.y === d.y && c2.y > a.y && a.x === c2.x && b.x === d.x,
    "at 820 px wide the panes are 2×2", JSON.stringify(boxes));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, "at 820 px wide nothing overflows sideways", `${overflow} px`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-narrow.png"), fullPage: true });
  await page.setViewportSize({ width: 1400, height: 900 });

  // 7. Another channel: every pane starts over there, and sees only that channel's messages.
  const channel = `e2e-${tag}`;
  await page.fill("#channel", channel);
  await page.press("#channel", "Enter");
  const moved = await waitFor(page, readCounters, TECHS,
    (v) => TECHS.every((t) => v[t].state === "connected" && v[t].received === 0));
  check(TECHS.every((t) => moved[t].state === "connected" && moved[t].received === 0),
    `after switching to channel ${channel} all panes reconnect, emptied`,
    TECHS.map((t) => `${t} ${moved[t].state}/${moved[t].received}`).join(", "));
  await fetch(`${base}/ch/demo`, { method: "POST", body: `not for ${channel}` });
  const elsewhere = `hello on ${channel}`;
  await fetch(`${base}/ch/${channel}`, { method: "POST", body: elsewhere });
  await expectEverywhere(page, elsewhere, `to channel ${channel}`);
  const shownOld = await page.evaluate(countShown, [TECHS, `not for ${channel}`]);
  check(TECHS.every((t) => shownOld[t] === 0), "no pane shows a message of the channel it left", JSON.stringify(shownOld));

  // 8. The network drops, and comes back: first within the history, then beyond it.
  await outage(page, context, link, channel, 5, `drop 1 ${tag}`);
  await outage(page, context, link, channel, HISTORY + 4, `drop 2 ${tag}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-resumed.png"), fullPage: true });

  // A page offline logs each request it could not make as a console error ("net::ERR_…"):
  // those are the outages working; anything else is a fault of the page.
  const network = /^console: (Failed to load resource: net::ERR_|WebSocket connection to .* failed: .*net::ERR_)/;
  const scriptErrors = pageErrors.filter((e) => !network.test(e));
  check(scriptErrors.length === 0, "no script errors on the page",
    `${pageErrors.length - scriptErrors.length} failed requests logged during the outages; ${scriptErrors.join(" | ")}`);
  link.close();
  await browser.close();
}

try {
  await main();
} catch (error) {
  check(false, "the test ran to the end", String(error && error.stack || error).split("\n").slice(0, 3).join(" "));
  if (browser) await browser.close().catch(() => {});
}
clearTimeout(overall);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
