// Node `ws` (a server, perMessageDeflate on) as the peer of talkback's ws-client.
//
//   node tests/interop/ws/node_server.mjs path/to/ws-client
//
// Starts a ws server on 127.0.0.1:0 that echoes, pipes lines into `ws-client ws://ADDR/`, and
// checks what came back and what was negotiated. Prints PASS/FAIL per check; exits non-zero
// on any failure. Run by tests/interop/run-ws.sh.
import { spawn } from 'node:child_process';
import { WebSocketServer } from 'ws';

const clientBin = process.argv[2];
const LINES = ['hello from ws-client', JSON.stringify([...Array(3000).keys()].map((i) => ({ seq: i }))), 'é € 🦀'];
let failures = 0;

function check(name, fn) {
  try {
    fn();
    console.log(`PASS node-ws-server ${name}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL node-ws-server ${name}: ${err && err.message ? err.message : err}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const seen = [];
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
server.on('connection', (ws) => {
  const record = { extensions: ws.extensions, received: [] };
  seen.push(record);
  ws.on('message', (data, isBinary) => {
    record.received.push(data.toString());
    ws.send(data, { binary: isBinary });
  });
});
await new Promise((resolve) => server.on('listening', resolve));
const { port } = server.address();

// ws-client runs as a child process (asynchronously: the server must keep answering it).
const result = await new Promise((resolve) => {
  const child = spawn(clientBin, [`ws://127.0.0.1:${port}/`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill(), 10000);
  child.on('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  });
  child.stdin.end(LINES.map((l) => `${l}\n`).join(''));
});

check('ws-client exits 0', () => assert(result.code === 0, `exit ${result.code}: ${result.stderr.slice(-300)}`));
check('every line echoed back', () => {
  const got = result.stdout.split('\n').slice(0, -1);
  assert(JSON.stringify(got) === JSON.stringify(LINES), `${got.length} lines back for ${LINES.length}`);
});
check('permessage-deflate negotiated (RFC 7692)', () => {
  assert(seen.length === 1, `${seen.length} connections`);
  assert(seen[0].extensions.startsWith('permessage-deflate'), `extensions ${JSON.stringify(seen[0].extensions)}`);
  assert(JSON.stringify(seen[0].received) === JSON.stringify(LINES), 'the server got other messages');
});
server.close();
process.exit(Math.min(failures, 100));
