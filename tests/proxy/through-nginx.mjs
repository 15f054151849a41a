// All four techniques through nginx (deploy/nginx/talkback.conf) in front of the hub:
//   1. short polling: POST and /poll answered through the proxy (200 with the batch, then 204);
//   2. long polling: a request held by the hub (not answered early, not cut by nginx) and
//      released by a publish; a hold that ends with 204 comes back as 204, not as nginx's 504;
//   3. SSE: streamed unbuffered (each event arrives on its own, right after its publish), a
//      new request with Last-Event-ID gets exactly the later events, and a reader that stops
//      reading is still dropped by the hub as a slow consumer (nginx does not absorb it);
//   4. WebSocket: the upgrade passes (101, subprotocol talkback.json), ?after= replays, a text
//      message sent is published and comes back, a POSTed one arrives as a frame.
// Every response must come from nginx (`Server: nginx…`), proving the proxy is in the path.
// Prints PASS/FAIL lines; exits non-zero on any failure (run-nginx.sh counts them).
//
//   node through-nginx.mjs http://127.0.0.1:NGINX_PORT
//   LONG_HOLD=1 node through-nginx.mjs …   # also a 70 s hold, past nginx's default 60 s timeout

import http from 'node:http';
import WebSocket from 'ws';
import { check, finish, publish, within } from '../interop/push/report.mjs';

const base = process.argv[2];
const wsBase = base.replace(/^http:/, 'ws:');
const tag = Math.random().toString(36).slice(2, 8);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fromNginx = (headers) => /^nginx/.test(headers.get ? headers.get('server') ?? '' : headers.server ?? '');

async function shortPolling() {
  const channel = `poll-${tag}`;
  try {
    const id = await publish(base, channel, 'one');
    await publish(base, channel, 'two');
    const batch = await fetch(`${base}/ch/${channel}/poll?after=${id - 1}`);
    const body = await batch.json();
    check('short poll: 200 with the JSON batch through nginx',
      batch.status === 200 && fromNginx(batch.headers) && body.length === 2 && body[0].data === 'one' &&
        body[1].id === id + 1, `${batch.status} ${batch.headers.get('server')} ${JSON.stringify(body)}`);
    const empty = await fetch(`${base}/ch/${channel}/poll?after=${id + 1}`);
    check('short poll: 204 when nothing is newer', empty.status === 204, `status ${empty.status}`);
  } catch (error) {
    check('short poll', false, error.message);
  }
}

async function longPolling() {
  const channel = `longpoll-${tag}`;
  try {
    const started = Date.now();
    let answered = null;
    const held = fetch(`${base}/ch/${channel}/longpoll?after=0&timeout=20`).then(async (response) => {
      answered = Date.now();
      return { response, body: await response.text() };
    });
    await sleep(1500);
    check('long poll: the request is held (no answer before a publish)', answered === null,
      `answered after ${answered && answered - started} ms`);
    const published = Date.now();
    await publish(base, channel, 'news');
    const { response, body } = await within(5000, 'the held long-poll', held);
    check('long poll: released with 200 and the message right after the publish',
      response.status === 200 && fromNginx(response.headers) && JSON.parse(body)[0]?.data === 'news' &&
        answered - published < 1000, `${response.status} ${body} after ${answered - published} ms`);
    const t0 = Date.now();
    const timedOut = await fetch(`${base}/ch/${channel}/longpoll?after=1&timeout=2`);
    const took = Date.now() - t0;
    check("long poll: a hold that times out is the hub's 204, passed through (not nginx's 504)",
      timedOut.status === 204 && took >= 1900 && took < 5000, `${timedOut.status} after ${took} ms`);
    if (process.env.LONG_HOLD) {
      // nginx's default proxy_read_timeout is 60 s; the config's 130 s must let this one end.
      const t1 = Date.now();
      const long = await fetch(`${base}/ch/${channel}/longpoll?after=1&timeout=70`);
      const held = Date.now() - t1;
      check('long poll: a 70 s hold outlasts nginx\'s default 60 s and ends with the hub\'s 204',
        long.status === 204 && held >= 69_000, `${long.status} after ${held} ms`);
    }
  } catch (error) {
    check('long poll', false, error.message);
  }
}

/** Opens GET `path` with `headers` and collects SSE events (split on blank lines) as they come. */
function openStream(path, headers = {}) {
  const events = [];
  const waiters = [];
  let buffer = '';
  let response;
  const request = http.get(`${base}${path}`, { headers });
  const opened = new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
          if (Object.keys(fields).length === 0) continue;   // a comment (heartbeat) only
          events.push({ ...fields, at: Date.now() });
          for (const wake of waiters.splice(0)) wake();
        }
      });
      resolve(res);
    });
  });
  /** Resolves when `count` events have arrived. */
  const count = (n) => new Promise((resolve) => {
    const test = () => (events.length >= n ? resolve(events) : waiters.push(test));
    test();
  });
  return { opened, events, count, close: () => request.destroy(), head: () => response };
}

async function serverSentEvents() {
  const channel = `sse-${tag}`;
  const stream = openStream(`/ch/${channel}/sse`);
  try {
    const res = await within(5000, 'the stream head', stream.opened);
    check('sse: 200 text/event-stream through nginx, no length (an endless response)',
      res.statusCode === 200 && /^text\/event-stream/.test(res.headers['content-type'] ?? '') &&
        fromNginx(res.headers) && res.headers['content-length'] === undefined,
      `${res.statusCode} ${JSON.stringify(res.headers)}`);
    // Unbuffered: each event must reach us on its own, before the next one is published.
    const delays = [];
    for (let i = 1; i <= 3; i += 1) {
      const sent = Date.now();
      await publish(base, channel, `event ${i}`);
      const events = await within(2000, `event ${i} (nginx buffering the stream?)`, stream.count(i));
      delays.push(events[i - 1].at - sent);
      await sleep(200);
    }
    const ids = stream.events.map((e) => e.id);
    check('sse: each event arrives as soon as it is published (proxy_buffering off)',
      stream.events.map((e) => e.data).join(',') === 'event 1,event 2,event 3' && delays.every((d) => d < 1000),
      `ids ${ids}, delays ${delays.join(', ')} ms`);
    stream.close();
    // The browser's reconnect: Last-Event-ID through nginx gets exactly what came after.
    await publish(base, channel, 'event 4');
    await publish(base, channel, 'event 5');
    const resumed = openStream(`/ch/${channel}/sse`, { 'Last-Event-ID': ids[2] });
    const later = await within(3000, 'the replay after Last-Event-ID', resumed.count(2));
    await sleep(300);   // anything more would be a wrong replay
    check('sse: Last-Event-ID through nginx resumes after that id',
      resumed.events.map((e) => `${e.id}:${e.data}`).join(',') ===
        `${Number(ids[2]) + 1}:event 4,${Number(ids[2]) + 2}:event 5`,
      JSON.stringify(later.map(({ id, data }) => ({ id, data }))));
    resumed.close();
  } catch (error) {
    check('sse', false, error.message);
    stream.close();
  }
}

/** The value of a counter on /metrics (through nginx, from 127.0.0.1). */
async function metric(name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// The hub's defence against a reader that stops reading (drop it once --output-cap, 1 MiB, is
// queued; EventSource then reconnects with Last-Event-ID) must still work behind nginx: nginx
// may not swallow the backlog on the reader's behalf.
async function backpressure() {
  const channel = `slow-${tag}`;
  const stream = openStream(`/ch/${channel}/sse`);
  try {
    const res = await within(5000, 'the stream head', stream.opened);
    res.pause();   // a reader that stops reading
    const before = await metric('talkback_slow_consumers_dropped_total');
    const body = 'x'.repeat(60_000);
    let dropped = before;
    for (let i = 0; i < 400 && dropped === before; i += 1) {
      await publish(base, channel, body);
      if (i % 20 === 19) dropped = await metric('talkback_slow_consumers_dropped_total');
    }
    check('sse: a reader that stops reading is felt by the hub through nginx (dropped as a slow consumer)',
      dropped === before + 1, `slow consumers dropped ${before} -> ${dropped}`);
  } catch (error) {
    check('sse: backpressure', false, error.message);
  } finally {
    stream.close();
  }
}

/** A WebSocket whose messages queue up for `next()`. */
function connect(url, protocols) {
  const socket = new WebSocket(url, protocols);
  const queue = [];
  const waiters = [];
  let upgrade = null;
  socket.on('upgrade', (res) => { upgrade = res; });
  socket.on('message', (data) => {
    const text = data.toString('utf8');
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else queue.push(text);
  });
  const next = () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  const opened = new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
    socket.once('unexpected-response', (_, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
  return { socket, next, opened, upgrade: () => upgrade };
}

async function webSockets() {
  const channel = `ws-${tag}`;
  let plain;
  let resumed;
  try {
    // Plain: what we send is published and comes back; a POSTed message arrives as text.
    plain = connect(`${wsBase}/ch/${channel}/ws`);
    await within(5000, 'the WebSocket upgrade', plain.opened);
    const res = plain.upgrade();
    check('ws: the upgrade passes nginx (101 from nginx, Upgrade: websocket)',
      res?.statusCode === 101 && fromNginx(res.headers) && /websocket/i.test(res.headers.upgrade ?? ''),
      `${res?.statusCode} ${JSON.stringify(res?.headers)}`);
    plain.socket.send('hello over ws');
    const echoed = await within(5000, 'our message back', plain.next());
    const pushed = publish(base, channel, 'from POST');
    const frame = await within(5000, 'the POSTed message', plain.next());
    const id = await pushed;
    check('ws: a sent message is published and comes back; a POSTed one arrives',
      echoed === 'hello over ws' && frame === 'from POST' && id === 2, `${echoed} / ${frame} / id ${id}`);
    // talkback.json with ?after=: the replay, with ids.
    resumed = connect(`${wsBase}/ch/${channel}/ws?after=1`, ['talkback.json']);
    await within(5000, 'the talkback.json upgrade', resumed.opened);
    const replay = JSON.parse(await within(5000, 'the replay', resumed.next()));
    check('ws: talkback.json through nginx, ?after=1 replays id 2',
      resumed.socket.protocol === 'talkback.json' && replay.id === 2 && replay.data === 'from POST',
      `${resumed.socket.protocol} ${JSON.stringify(replay)}`);
  } catch (error) {
    check('ws', false, error.message);
  } finally {
    plain?.socket.terminate();
    resumed?.socket.terminate();
  }
}

async function thePageAndTheScrape() {
  try {
    const page = await fetch(`${base}/`);
    check('the page: GET / answers 200 through nginx', page.status === 200 && fromNginx(page.headers) &&
      (await page.text()).includes('talkback'), `status ${page.status}`);
    const metrics = await fetch(`${base}/metrics`);
    check('/metrics is scraped through nginx from 127.0.0.1',
      metrics.status === 200 && (await metrics.text()).includes('talkback_messages_published_total'),
      `status ${metrics.status}`);
  } catch (error) {
    check('the page and /metrics', false, error.message);
  }
}

await shortPolling();
await longPolling();
await serverSentEvents();
await backpressure();
await webSockets();
await thePageAndTheScrape();
finish();
