// The `ws` package against the hub's WebSocket route: a text message the client sends is
// published and comes back to it as a broadcast; a message published by POST arrives as a
// text frame; a binary frame is answered with close 1003.
//
//   node ws-client.mjs http://127.0.0.1:PORT

import WebSocket from 'ws';
import { check, finish, publish, within } from './report.mjs';

const base = process.argv[2];
const wsBase = base.replace(/^http:/, 'ws:');
const channel = 'x-ws';

/** A socket whose text messages queue up for `next()`. */
function connect(url) {
  const socket = new WebSocket(url);
  const queue = [];
  const waiters = [];
  socket.on('message', (data, isBinary) => {
    const message = { text: data.toString('utf8'), isBinary };
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const next = () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  const opened = new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { socket, next, opened, closed };
}

async function broadcast() {
  const ws = connect(`${wsBase}/ch/${channel}/ws`);
  try {
    await within(5000, 'the WebSocket to open', ws.opened);
    ws.socket.send('hello from ws');
    const echoed = await within(5000, 'our own message back', ws.next());
    check('ws: a sent text message comes back as a broadcast', echoed.text === 'hello from ws' && !echoed.isBinary,
      JSON.stringify(echoed));
    const id = await publish(base, channel, 'from POST, ünïcødé 🎉');
    const pushed = await within(5000, 'the POSTed message', ws.next());
    check('ws: a message published by POST arrives as text', pushed.text === 'from POST, ünïcødé 🎉' && id === 2,
      `${JSON.stringify(pushed)} id ${id}`);
    const poll = await fetch(`${base}/ch/${channel}/poll?after=0`);
    const batch = await poll.json();
    check('ws: the message sent over the socket was published (poll sees it)',
      batch.length === 2 && batch[0].id === 1 && batch[0].data === 'hello from ws', JSON.stringify(batch));
    ws.socket.send(Buffer.from([0, 1, 2]));
    const closed = await within(5000, 'the close after a binary frame', ws.closed);
    check('ws: a binary frame is closed with 1003', closed.code === 1003, JSON.stringify(closed));
  } catch (error) {
    check('ws: broadcast', false, error.message);
  } finally {
    ws.socket.terminate();
  }
}

await broadcast();
finish();
