// The `ws` package with the `talkback.json` subprotocol: the hub selects it, frames carry
// `{"id":N,"data":"…"}`, and `?after=N` replays what was retained after N before live ones.
//
//   node ws-json.mjs http://127.0.0.1:PORT

import WebSocket from 'ws';
import { check, finish, publish, within } from './report.mjs';

const base = process.argv[2];
const wsBase = base.replace(/^http:/, 'ws:');
const channel = 'x-ws-json';

async function resume() {
  for (const text of ['one', 'two "quoted"', 'three']) await publish(base, channel, text);
  const socket = new WebSocket(`${wsBase}/ch/${channel}/ws?after=1`, 'talkback.json');
  const frames = [];
  let wake = null;
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString('utf8')));
    if (wake) wake();
  });
  const count = (n) => new Promise((resolve) => {
    const look = () => (frames.length >= n ? resolve() : (wake = look));
    look();
  });
  try {
    await within(5000, 'the WebSocket to open', new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }));
    check('ws talkback.json: the server selects the subprotocol', socket.protocol === 'talkback.json', socket.protocol);
    await within(5000, 'the replay', count(2));
    await publish(base, channel, 'four');
    await within(5000, 'the live message', count(3));
    const expected = [{ id: 2, data: 'two "quoted"' }, { id: 3, data: 'three' }, { id: 4, data: 'four' }];
    check('ws talkback.json: ?after=1 replays 2 and 3, then 4 live, as JSON with ids',
      JSON.stringify(frames) === JSON.stringify(expected), JSON.stringify(frames));
  } catch (error) {
    check('ws talkback.json', false, error.message);
  } finally {
    socket.terminate();
  }
}

await resume();
finish();
