// The `eventsource` package (the WHATWG EventSource API for Node) against the hub's SSE route:
// every message arrives in order with its id as `lastEventId`, a message with a newline
// survives, and a new EventSource with `?lastEventId=15` gets the replay of 16..20.
//
//   node sse-eventsource.mjs http://127.0.0.1:PORT

import { EventSource } from 'eventsource';
import { check, finish, publish, within } from './report.mjs';

const base = process.argv[2];
const channel = 'x';
const COUNT = 20;
const text = (i) => (i === 7 ? 'line one\nline two' : `message ${i}`);

/** Opens an EventSource and collects `count` message events (and any `missed` events). */
function subscribe(url, count) {
  const source = new EventSource(url);
  const received = [];
  const missed = [];
  let opened;
  let failed;
  const error = new Promise((_, reject) => {
    failed = reject;
  });
  error.catch(() => {}); // observed through `open` and `done`
  source.onerror = (event) => failed(new Error(`EventSource error: ${event.message ?? 'unknown'}`));
  const open = Promise.race([new Promise((resolve) => { opened = resolve; }), error]);
  const done = Promise.race([
    new Promise((resolve) => {
      source.onopen = () => opened();
      source.addEventListener('missed', (event) => missed.push(event.data));
      source.onmessage = (event) => {
        received.push({ id: event.lastEventId, data: event.data });
        if (received.length === count) resolve();
      };
    }),
    error,
  ]);
  done.catch(() => {}); // awaited later; do not count as unhandled meanwhile
  return { source, received, missed, open, done };
}

async function live() {
  const sub = subscribe(`${base}/ch/${channel}/sse`, COUNT);
  try {
    await within(5000, 'the stream to open', sub.open);
    for (let i = 1; i <= COUNT; i += 1) {
      const id = await publish(base, channel, text(i));
      if (id !== i) throw new Error(`publish ${i} got id ${id}`);
    }
    await within(5000, `${COUNT} messages`, sub.done);
    const wrong = sub.received.findIndex((m, i) => m.id !== String(i + 1) || m.data !== text(i + 1));
    check('eventsource: 20 messages in order with lastEventId', wrong === -1,
      wrong === -1 ? '' : `at ${wrong}: ${JSON.stringify(sub.received[wrong])}`);
    check('eventsource: a message with a newline arrives whole', sub.received[6]?.data === 'line one\nline two',
      JSON.stringify(sub.received[6]));
    check('eventsource: no missed event for a fresh stream', sub.missed.length === 0, JSON.stringify(sub.missed));
  } catch (error) {
    check('eventsource: live stream', false, error.message);
  } finally {
    sub.source.close();
  }
}

async function replay() {
  const sub = subscribe(`${base}/ch/${channel}/sse?lastEventId=15`, 5);
  try {
    await within(5000, 'the replay', sub.done);
    const ids = sub.received.map((m) => m.id).join(',');
    check('eventsource: ?lastEventId=15 replays 16..20', ids === '16,17,18,19,20', ids);
    check('eventsource: replayed data matches', sub.received.every((m) => m.data === text(Number(m.id))));
  } catch (error) {
    check('eventsource: replay', false, error.message);
  } finally {
    sub.source.close();
  }
}

await live();
await replay();
finish();
