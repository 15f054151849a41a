// The Node `ws` package (v8) as a client against talkback's ws-echo and the demo hub.
//
//   node tests/interop/ws/node_client.mjs ECHO_ADDR DEMO_ADDR     (each 127.0.0.1:PORT)
//
// Each check prints `PASS name` or `FAIL name: why`, bounded by a 5 s timeout; the exit status
// is the number of failures. Run by tests/interop/run-ws.sh, which starts both servers on port 0.

import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const TIMEOUT_MS = 5000;
const [echoAddr, demoAddr] = process.argv.slice(2);
let failures = 0;

/** Resolves with the arguments of the first `event` on `ws`; rejects on error, early close or timeout. */
function next(ws, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(reject, new Error(`no '${event}' within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const onEvent = (...args) => finish(resolve, args);
    const onError = (err) => finish(reject, err);
    const onClose = (code, reason) => finish(reject, new Error(`closed (${code} ${reason}) before '${event}'`));
    function finish(settle, value) {
      clearTimeout(timer);
      ws.off(event, onEvent).off('error', onError);
      if (event !== 'close') ws.off('close', onClose);
      settle(value);
    }
    ws.on(event, onEvent).on('error', onError);
    if (event !== 'close') ws.on('close', onClose);
  });
}

async function open(url) {
  // perMessageDeflate on (ws's default, said outright): the client offers it, and talkback
  // accepts it (RFC 7692).
  const ws = new WebSocket(url, { maxPayload: 4 << 20, perMessageDeflate: true });
  await next(ws, 'open');
  return ws;
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS node-ws ${name}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL node-ws ${name}: ${err && err.message ? err.message : err}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Text of exactly `size` UTF-8 bytes mixing 1- to 4-byte characters. */
function mixedText(size) {
  const unit = 'talkback é € 🦀 ';
  const text = unit.repeat(Math.floor(size / Buffer.byteLength(unit)));
  return text + '.'.repeat(size - Buffer.byteLength(text));
}

async function expectEcho(ws, data, binary) {
  const reply = next(ws, 'message');
  ws.send(data, { binary });
  const [got, isBinary] = await reply;
  assert(isBinary === binary, `sent ${binary ? 'binary' : 'text'}, got ${isBinary ? 'binary' : 'text'}`);
  const sent = Buffer.isBuffer(data) ? data : Buffer.from(data);
  assert(Buffer.compare(got, sent) === 0, `echo of ${sent.length} bytes differs (${got.length} back)`);
}

async function echoChecks() {
  const url = `ws://${echoAddr}/`;
  let ws;
  await check('ws-echo: handshake', async () => {
    ws = await open(url);
    assert(ws.protocol === '', `subprotocol ${ws.protocol}`);
    // RFC 7692: ws-echo keeps its context (no server_no_context_takeover in the answer).
    assert(ws.extensions === 'permessage-deflate', `extensions ${JSON.stringify(ws.extensions)}`);
    const params = ws._extensions['permessage-deflate']?.params ?? {};
    assert(!params.server_no_context_takeover, `accepted parameters ${JSON.stringify(params)}`);
  });
  if (!ws) return;
  await check('ws-echo: compressible 256 KiB JSON echoed, compressed both ways', () =>
    expectEcho(ws, JSON.stringify([...Array(4000).keys()].map((i) => ({ seq: i, user: 'ada', text: 'hello' }))), false));
  await check('ws-echo: text echoed', () => expectEcho(ws, 'hello from node ws é € 🦀', false));
  await check('ws-echo: binary echoed', () => expectEcho(ws, Buffer.from([...Array(256).keys()]), true));
  await check('ws-echo: 1 MiB binary echoed', () => expectEcho(ws, randomBytes(1 << 20), true));
  await check('ws-echo: 1 MiB text echoed', () => expectEcho(ws, mixedText(1 << 20), false));
  await check('ws-echo: fragmented text reassembled', async () => {
    // { fin: false } sends a fragment (RFC 6455 §5.4); the "ö" (c3 b6) is split between two.
    const bytes = Buffer.from('fragmented wörld');
    const split = bytes.indexOf(0xc3) + 1;
    const reply = next(ws, 'message');
    ws.send(bytes.subarray(0, 4), { binary: false, fin: false });
    ws.send(bytes.subarray(4, split), { binary: false, fin: false });
    ws.send(bytes.subarray(split), { binary: false, fin: true });
    const [got, isBinary] = await reply;
    assert(!isBinary && got.toString() === 'fragmented wörld', `got ${JSON.stringify(got.toString())}`);
  });
  await check('ws-echo: ping answered by pong', async () => {
    const pong = next(ws, 'pong');
    ws.ping(Buffer.from('are you there?'));
    const [data] = await pong;
    assert(data.toString() === 'are you there?', `pong payload ${JSON.stringify(data.toString())}`);
  });
  await check('ws-echo: close 1000 echoed, server closes TCP first', async () => {
    const closed = next(ws, 'close');
    const started = Date.now();
    ws.close(1000, 'bye');
    const [code, reason] = await closed;
    assert(code === 1000, `close code ${code} reason ${JSON.stringify(reason.toString())}`);
    // ws waits 30 s for the server to end TCP before destroying the socket itself (§7.1.1).
    const elapsed = Date.now() - started;
    assert(elapsed < 2000, `'close' took ${elapsed} ms: the server did not close TCP`);
  });
}

async function hubChecks() {
  const url = `ws://${demoAddr}/ch/x/ws`;
  await check('demo: text broadcast to every subscriber of /ch/x/ws', async () => {
    const alice = await open(url);
    const bob = await open(url);
    try {
      // The hub compresses a broadcast once, so it keeps no context (RFC 7692 §7.1.1). ws
      // shows only the names in `extensions`; the accepted parameters are its extension's.
      assert(alice.extensions === 'permessage-deflate', `extensions ${JSON.stringify(alice.extensions)}`);
      const params = alice._extensions['permessage-deflate']?.params ?? {};
      assert(params.server_no_context_takeover === true && params.client_no_context_takeover === true,
        `accepted parameters ${JSON.stringify(params)}`);
      const toAlice = next(alice, 'message');
      const toBob = next(bob, 'message');
      const message = 'hello from alice é🦀 '.repeat(20); // over the threshold: compressed
      alice.send(message);
      for (const [who, pending] of [['alice', toAlice], ['bob', toBob]]) {
        const [data, isBinary] = await pending;
        assert(!isBinary, `${who} got a binary frame`);
        assert(data.toString() === message, `${who} got ${JSON.stringify(data.toString())}`);
      }
    } finally {
      alice.terminate();
      bob.terminate();
    }
  });
  await check('demo: binary message closed with 1003', async () => {
    const ws = await open(url);
    const closed = next(ws, 'close');
    ws.send(Buffer.from([0, 1, 2]), { binary: true });
    const [code] = await closed;
    assert(code === 1003, `close code ${code}`);
  });
}

await echoChecks();
await hubChecks();
process.exit(Math.min(failures, 100));
