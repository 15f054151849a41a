// talkback.js — one subscription to a talkback channel that uses the best technique the network
// allows: a WebSocket, else Server-Sent Events, else long polling, else short polling.
//
//   import { subscribe } from "/talkback.js";
//   const sub = subscribe("room");
//   sub.addEventListener("message", (e) => console.log(e.detail.id, e.detail.data));
//   sub.addEventListener("state", (e) => console.log(e.detail.state, e.detail.transport, e.detail.reason));
//   await sub.publish("hello");   // resolves with the new message's id
//
// One ES module, no build step, no dependency; the hub serves it at GET /talkback.js. The whole
// design rests on one property of the hub: a message id is a plain number, the same on every
// route (and every node), and every route resumes from one (`?after=N`, `?lastEventId=N`). So
// the client keeps a single cursor — the last id it delivered — and can change technique at any
// moment: whatever it opens next starts after that cursor, and an id at or below it is never
// delivered twice. docs/client.md tells the story with a sequence diagram.

/** The techniques, best first: the default order of attempts. */
export const TRANSPORTS = Object.freeze(["websocket", "sse", "longpoll", "poll"]);

/** The defaults of every option `subscribe` takes (each can be overridden). */
export const DEFAULTS = Object.freeze({
  transports: TRANSPORTS,
  base: null, // the hub's URL; null: the page's own origin
  token: null, // the publish token, sent as `Authorization: Bearer` on publish (never on reads)
  after: null, // a starting cursor; null: start at the channel's newest message
  // How long each technique has to show a sign of life — a message, a heartbeat, an answer —
  // before it counts as failed. A socket that cannot open fails sooner, when it errors.
  window: { websocket: 4000, sse: 4000, longpoll: 4000, poll: 4000 },
  // The hub's SSE heartbeat interval (`--heartbeat`, 15 s): on a quiet channel with nothing to
  // replay, a healthy stream shows life only then, so its window stretches to this plus 2 s.
  heartbeat: 15000,
  retryFirst: 500, // the first reconnect waits about this long; each failure doubles it…
  retryCap: 8000, // …up to this cap
  upgradeEvery: 30000, // after a fallback, try the better techniques again this often
  pollInterval: 1000, // short polling: the wait between asks
  longpollTimeout: 25, // long polling: seconds the hub may hold a request (it caps at --max-hold)
});

/** Subscribes to `channel` (1–64 of `A–Z a–z 0–9 - _`); see DEFAULTS for the options. */
export function subscribe(channel, options = {}) {
  return new Subscription(channel, options);
}

/**
 * One channel, one cursor, whichever technique carries it. An EventTarget: `message`
 * ({id, data}), `state` ({state, transport, reason}) and `missed` ({count}) are CustomEvents.
 */
export class Subscription extends EventTarget {
  #channel;
  #options;
  #cursor; // the id of the last message delivered (null until known)
  #transport = null; // the technique delivering now, or null
  #closed = new AbortController(); // aborted by close(): ends every request, socket and wait
  #wake = new Set(); // ends the current back-off early (the browser came back online)

  constructor(channel, options = {}) {
    super();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(channel)) throw new TypeError(`not a channel name: ${channel}`);
    const base = options.base ?? globalThis.location?.origin;
    if (!base) throw new TypeError("no base URL: pass options.base");
    this.#channel = channel;
    this.#options = { ...DEFAULTS, ...options, base: String(base).replace(/\/+$/, "") };
    this.#options.window = { ...DEFAULTS.window, ...options.window };
    const unknown = this.#options.transports.filter((t) => !RUNNERS[t]);
    if (unknown.length || !this.#options.transports.length) throw new TypeError(`bad transports: ${unknown}`);
    this.#cursor = options.after ?? null;
    // A timer set during an outage knows nothing of the network's return; the browser does.
    const wake = () => this.#wake.forEach((done) => done());
    globalThis.addEventListener?.("online", wake, { signal: this.#closed.signal });
    this.#run().catch((error) => this.#emit("state", { state: "closed", transport: null, reason: String(error) }));
  }

  /** The attempt carrying the channel now (its `send`, for a WebSocket, publishes on it). */
  #carrying = null;

  /** The technique delivering now: "websocket", "sse", "longpoll", "poll", or null. */
  get transport() {
    return this.#transport;
  }

  /** The id of the last message delivered (null before the first, without `after`). */
  get cursor() {
    return this.#cursor;
  }

  /**
   * Publishes `text`; resolves with its id. Over the WebSocket while it carries the channel:
   * the hub answers each text message a `talkback.json` socket sends with `{"published":N}`,
   * in order (in cluster mode once Redis stored it), so the promise still means "stored as
   * N". Otherwise by `POST /ch/{c}`, whose 200 says the same, with the token in the
   * `Authorization` header. A socket that closes before its answers came rejects what it was
   * still owed: the message may or may not be published, and only the caller can decide
   * whether sending it again is right.
   */
  async publish(text) {
    const viaSocket = this.#carrying?.send?.(String(text));
    if (viaSocket) return viaSocket;
    const headers = { "Content-Type": "text/plain;charset=utf-8" };
    if (this.#options.token) headers.Authorization = `Bearer ${this.#options.token}`;
    const response = await fetch(this.#url(""), { method: "POST", body: String(text), headers });
    const body = (await response.text()).trim();
    if (!response.ok) throw new Error(`publish: HTTP ${response.status}${body ? `: ${body}` : ""}`);
    return Number(body);
  }

  /** Stops for good: closes the socket or stream, cancels requests; one last `state` event. */
  close() {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    this.#transport = null;
    this.#emit("state", { state: "closed", transport: null, reason: "closed by the page" });
  }

  // ── the engine ────────────────────────────────────────────────────────────────────────────

  /**
   * Tries the techniques in order. The first to show life within its window carries the
   * channel; if it is lost, the same one is reconnected after a back-off (a dropped socket is
   * usually the network, not the technique); if one fails its window, the next is tried at
   * once; a whole round of failures backs off before starting over. While a lesser technique
   * carries the channel, the better ones are probed alongside it now and then.
   */
  async #run() {
    const order = this.#options.transports;
    if (this.#cursor === null) await this.#learnCursor();
    let index = 0;
    let failures = 0; // consecutive losses or failed rounds: sets the back-off
    let ready = null; // an attempt already alive (a probe that succeeded), to carry on with
    let reason = "the first choice";
    this.#emit("state", { state: "connecting", transport: order[0], reason: `trying ${order[0]}` });
    while (!this.#stopped()) {
      const name = order[index];
      const attempt = ready ?? this.#launch(name);
      ready = null;
      const first = await this.#firstSign(attempt);
      if (this.#stopped()) return attempt.stop();
      if (first !== "alive") {
        attempt.stop();
        const why = `${name} failed: ${first}`;
        index = (index + 1) % order.length;
        if (index === 0) {
          reason = `every technique failed (last: ${why})`;
          this.#emit("state", { state: "reconnecting", transport: null, reason });
          await this.#backoff(failures++);
          this.#emit("state", { state: "connecting", transport: order[0], reason: `trying ${order[0]} again` });
        } else {
          reason = why;
          this.#emit("state", { state: "fallback", transport: order[index], reason: `${why}; trying ${order[index]}` });
        }
        continue;
      }
      const since = Date.now();
      this.#transport = name;
      this.#carrying = attempt;
      this.#emit("state", { state: "open", transport: name, reason: index === 0 ? `${name} works` : reason });
      const probing = new AbortController();
      const probe = index > 0 ? this.#probeBetter(order.slice(0, index), probing.signal) : new Promise(() => {});
      const outcome = await Promise.race([attempt.ended.then((why) => ({ why })), probe]);
      probing.abort();
      attempt.stop();
      this.#transport = null;
      this.#carrying = null;
      if (this.#stopped()) return undefined;
      if (outcome.better) {
        // A better technique showed life while this one carried the channel: carry on with it.
        // (Both delivered meanwhile; the cursor let through each id once.)
        ready = outcome.better;
        index = order.indexOf(outcome.better.name);
        reason = `${outcome.better.name} works again (moved up from ${name})`;
        continue;
      }
      // Lost after it worked: reconnect the same technique, after a back-off that starts
      // afresh only if the connection lived a while (one that dies at once is not "working").
      if (Date.now() - since > 10000) failures = 0;
      reason = `${name} lost: ${outcome.why}`;
      this.#emit("state", { state: "reconnecting", transport: null, reason });
      await this.#backoff(failures++);
      reason = `${name} reconnected after: ${outcome.why}`;
    }
    return undefined;
  }

  /**
   * Without a starting cursor, "from now" would be ambiguous: a message published between two
   * techniques could fall in the gap. So ask the channel for its newest id once, as the demo
   * page does (`GET /poll` without `after` answers what is retained; 204: the channel is
   * empty). A hub without `/poll` (sse-echo) leaves the cursor null until the first message.
   */
  async #learnCursor() {
    try {
      const response = await fetch(this.#url("/poll"), { cache: "no-store", signal: this.#closed.signal });
      if (response.status === 204) this.#cursor = 0;
      else if (response.ok) this.#cursor = Math.max(0, ...(await response.json()).map((m) => m.id));
    } catch {
      /* unreachable now: the techniques will find out and back off */
    }
  }

  /** Starts technique `name`: its I/O runs until it fails, is lost, or `stop()` ends it. */
  #launch(name) {
    const stopper = new AbortController();
    // close() stops it too (the listener goes when the attempt does).
    this.#closed.signal.addEventListener("abort", () => stopper.abort(), { once: true, signal: stopper.signal });
    let markAlive;
    const alive = new Promise((resolve) => (markAlive = resolve));
    const attempt = { send: null, stop: () => stopper.abort() };
    const io = {
      channel: this.#channel,
      signal: stopper.signal,
      cursor: () => this.#cursor,
      url: (path, query) => this.#url(path, query),
      alive: () => markAlive(),
      begin: (id) => {
        markAlive();
        if (this.#cursor === null) this.#cursor = id;
      },
      message: (id, data) => {
        markAlive();
        // The message that proves a technique alive is carried by it: say so before delivering.
        if (this.#transport === null) this.#transport = name;
        this.#deliver(id, data);
      },
      missed: (from, count) => {
        markAlive();
        this.#missed(from, count);
      },
      // A technique that can publish on its own connection says how (the WebSocket).
      sender: (send) => {
        attempt.send = send;
      },
    };
    const options = this.#options;
    const ended = RUNNERS[name](io, options).then(
      (why) => why ?? "ended",
      (error) => (stopper.signal.aborted ? "stopped" : error.message || String(error)),
    );
    // Heartbeat-only life on a stream with nothing to replay takes a heartbeat interval.
    const quiet = name === "sse" && !(this.#cursor >= 1);
    const window = quiet ? Math.max(options.window.sse, options.heartbeat + 2000) : options.window[name];
    attempt.name = name;
    attempt.alive = alive;
    attempt.ended = ended;
    attempt.window = window;
    return attempt;
  }

  /** Resolves "alive", or why the attempt failed: it ended, or showed nothing in its window. */
  #firstSign(attempt) {
    const over = new AbortController(); // removes the timer and the listener once decided
    const timeout = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(`no message or heartbeat within ${attempt.window} ms`), attempt.window);
      over.signal.addEventListener("abort", () => clearTimeout(timer));
    });
    const stopped = new Promise((resolve) => {
      this.#closed.signal.addEventListener("abort", () => resolve("closed"), { once: true, signal: over.signal });
    });
    return Promise.race([attempt.alive.then(() => "alive"), attempt.ended, timeout, stopped]).finally(() =>
      over.abort(),
    );
  }

  /**
   * Every `upgradeEvery` (doubling while they keep failing, up to 8×): open each better
   * technique beside the current one; the first to show life wins. Make-before-break: the
   * current technique delivers until the better one works, so a probe costs no latency.
   */
  async #probeBetter(better, signal) {
    const never = new Promise(() => {});
    for (let round = 0; ; round++) {
      await this.#sleep(this.#options.upgradeEvery * 2 ** Math.min(round, 3), false, signal);
      for (const name of better) {
        if (signal.aborted) return never;
        const attempt = this.#launch(name);
        signal.addEventListener("abort", attempt.stop, { once: true });
        if ((await this.#firstSign(attempt)) === "alive" && !signal.aborted) return { better: attempt };
        attempt.stop();
      }
    }
  }

  /** Delivers a message once: an id at or below the cursor was delivered already. */
  #deliver(id, data) {
    if (this.#cursor !== null && id <= this.#cursor) return;
    this.#cursor = id;
    this.#emit("message", { id, data });
  }

  /**
   * The hub says `count` messages after `from` (the cursor a request carried) are gone. Only
   * those after our cursor are news: two techniques open at once, or a request that asked
   * from just before the cursor, see the same gap and must not report it twice.
   */
  #missed(from, count) {
    const through = from + count;
    const news = this.#cursor === null ? count : through - this.#cursor;
    if (news <= 0) return;
    this.#cursor = through;
    this.#emit("missed", { count: news });
  }

  /**
   * "Equal jitter" back-off: half the ceiling fixed, half random. Doubling keeps a hub that is
   * down from being asked ten times a second by every page; the random half spreads out the
   * pages one outage cut off together, so they do not all come back in the same instant.
   */
  #backoff(failures) {
    const { retryFirst, retryCap } = this.#options;
    const ceiling = Math.min(retryCap, retryFirst * 2 ** failures);
    return this.#sleep(ceiling / 2 + Math.random() * (ceiling / 2), true);
  }

  /** Waits `ms`, or less: close() (or `signal`) ends the wait, the `online` event a back-off. */
  #sleep(ms, wakeOnline, signal = this.#closed.signal) {
    return new Promise((resolve) => {
      const over = new AbortController();
      const done = () => {
        clearTimeout(timer);
        this.#wake.delete(done);
        over.abort();
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeOnline) this.#wake.add(done);
      for (const s of [this.#closed.signal, signal]) s.addEventListener("abort", done, { once: true, signal: over.signal });
    });
  }

  #stopped() {
    return this.#closed.signal.aborted;
  }

  #url(path, query = "") {
    return `${this.#options.base}/ch/${this.#channel}${path}${query ? `?${query}` : ""}`;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ── the techniques ──────────────────────────────────────────────────────────────────────────
// Each runner does its technique's I/O until it fails or is stopped (`io.signal`), and says
// what it sees: `io.alive()` (a sign of life with no message), `io.message(id, data)`,
// `io.missed(from, count)`, `io.begin(id)` (the cursor, when it had none). It resolves (or rejects) with why it ended.

/** Stops `promise`-based work when `signal` aborts: rejects with "stopped". */
function abortable(signal) {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped")), { once: true }));
}

/** Waits `ms` unless `signal` aborts first (then rejects). */
function wait(ms, signal) {
  return Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), abortable(signal)]);
}

/** A fetch that fails on anything but 2xx, with the status in the message. */
async function get(url, signal) {
  const response = await fetch(url, { cache: "no-store", signal });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

/** A poll or long-poll answer: 200 with `[{"id","data"},…]` or 204; `Talkback-Missed: K`. */
async function readBatch(io, from, response) {
  io.alive(); // any answer at all is life: the path works
  const missed = Number(response.headers.get("Talkback-Missed") || 0);
  if (missed > 0) io.missed(from, missed);
  if (response.status === 204) return;
  for (const { id, data } of await response.json()) io.message(id, data);
}

/** The cursor as a query value; a null cursor asks for nothing before now. */
const cursorQuery = (key, cursor) => (cursor === null ? "" : `${key}=${cursor}`);

const RUNNERS = {
  /**
   * A WebSocket with the `talkback.json` subprotocol: frames `{"id":N,"data":…}`, after a
   * `{"missed":K}` when the cursor is older than the history; `?after=N` replays what we lack;
   * `{"published":N}` answers each message we send, in order. The open itself is the sign of
   * life: a 101 means the path carries frames. With a token, the URL carries it (`?token=`:
   * a browser cannot set headers on a WebSocket), which the hub's security notes accept for
   * pages — and proxies may log.
   */
  websocket(io, options) {
    return new Promise((resolve, reject) => {
      const from = io.cursor();
      const query = [cursorQuery("after", from), options.token ? `token=${encodeURIComponent(options.token)}` : ""];
      const url = io.url("/ws", query.filter(Boolean).join("&")).replace(/^http/, "ws");
      const socket = new WebSocket(url, ["talkback.json"]);
      const owed = []; // publishes sent, oldest first, waiting for their {"published":N}
      io.signal.addEventListener("abort", () => socket.close(1000, "client switched"), { once: true });
      io.sender((text) => {
        if (socket.readyState !== WebSocket.OPEN) return null; // the caller POSTs instead
        return new Promise((resolveId, rejectId) => {
          owed.push({ resolveId, rejectId });
          socket.send(text);
        });
      });
      socket.onopen = () => {
        // A server that ignores the subprotocol sends bare text: no ids, so no resuming.
        if (socket.protocol !== "talkback.json") reject(new Error("no talkback.json subprotocol"));
        else io.alive();
      };
      socket.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return; // not what talkback.json promises
        }
        if (typeof frame.published === "number") owed.shift()?.resolveId(frame.published);
        else if (typeof frame.missed === "number") io.missed(from ?? 0, frame.missed);
        else if (typeof frame.id === "number") io.message(frame.id, frame.data);
      };
      // A refused upgrade (403, 404) and a dropped one both end here, as code 1006.
      socket.onclose = (event) => {
        const why = `socket closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`;
        for (const { rejectId } of owed.splice(0)) rejectId(new Error(`publish: unanswered, ${why}`));
        resolve(why);
      };
    });
  },

  /**
   * Server-Sent Events, read with fetch rather than EventSource, for two reasons: EventSource
   * hides the heartbeat comments, and a heartbeat is the only sign of life a quiet stream
   * gives; and its own reconnects would compete with ours. The stream opens one id before
   * the cursor, so the hub's replay of the last message we have (delivered once: dropped by
   * the cursor) proves at once that events flow — a proxy that buffers the stream sends nothing.
   */
  async sse(io) {
    const cursor = io.cursor();
    const from = cursor >= 1 ? cursor - 1 : cursor;
    const response = await get(io.url("/sse", cursorQuery("lastEventId", from)), io.signal);
    if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      throw new Error("not text/event-stream");
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    io.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    let buffer = "";
    let event = { id: null, type: "", data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "the stream ended";
      buffer += value;
      // WHATWG "Parsing an event stream": lines end in CRLF, LF or CR; a blank line dispatches.
      const lines = buffer.split(/\r\n|\n|\r(?!$)/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (event.type === "missed") io.missed(from ?? 0, Number(event.data.join("\n")));
          else if (event.data.length && event.id !== null) io.message(event.id, event.data.join("\n"));
          event = { id: null, type: "", data: [] };
          continue;
        }
        if (line.startsWith(":")) {
          io.alive(); // a comment: the heartbeat
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") event.data.push(text);
        else if (field === "id") event.id = Number(text);
        else if (field === "event") event.type = text;
      }
    }
  },

  /**
   * Long polling: ask with `after=`; the hub holds the request until there is news. The first
   * ask has `timeout=0` (answer now: 200 or 204), so a path that works says so at once; the
   * rest may be held `longpollTimeout` seconds. Every answer, 200 or 204, means "ask again".
   */
  async longpoll(io, options) {
    for (let first = true; ; first = false) {
      const from = io.cursor();
      const hold = first ? 0 : options.longpollTimeout;
      const query = [cursorQuery("after", from), `timeout=${hold}`].filter(Boolean).join("&");
      await readBatch(io, from, await get(io.url("/longpoll", query), io.signal));
    }
  },

  /** Short polling: ask, wait the interval, ask again; the hub answers at once (often 204). */
  async poll(io, options) {
    for (;;) {
      const from = io.cursor();
      const response = await get(io.url("/poll", cursorQuery("after", from)), io.signal);
      if (from === null) {
        // Without a cursor /poll answers everything retained: that is history, not news.
        // Start after its newest id (204: the channel is empty).
        const ids = response.status === 200 ? (await response.json()).map((m) => m.id) : [];
        io.begin(Math.max(0, ...ids));
      } else {
        await readBatch(io, from, response);
      }
      await wait(options.pollInterval, io.signal);
    }
  },
};
