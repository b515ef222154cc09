// A WebSocket client (the `ws` package) for the gateway's end-to-end tests.
// It opens URL (with a bearer token if given), reads the service's greeting,
// sends a text message and a 1 MiB binary one and checks both come back,
// then closes; in `idle` mode it sends nothing after the greeting and waits
// to be closed. Prints one JSON line: what it got, the refusal's status, or
// the error ("timed out" after WAIT seconds, 15 by default, with the
// tunnel still open).
// Usage: node websocket_client.mjs URL [TOKEN] [idle] [WAIT]
import WebSocket from 'ws';

const [url, token, mode, wait] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const ws = new WebSocket(url, { headers });  // wss: verified (NODE_EXTRA_CA_CERTS)
const big = Buffer.alloc(1 << 20);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
const out = {};
const opened = Date.now();
const done = (extra) => {
  console.log(JSON.stringify({ ...out, ...extra }));
  process.exit(0);
};
ws.on('unexpected-response', (_req, res) => done({ status: res.statusCode }));
ws.on('error', (e) => done({ error: e.message }));
let step = 0;
ws.on('message', (data, isBinary) => {
  if (step === 0) {
    out.greeting = JSON.parse(data.toString());
    if (mode !== 'idle') ws.send('hello through the gateway');
  } else if (step === 1) {
    out.text = data.toString();
    ws.send(big);
  } else if (step === 2) {
    out.binary = isBinary && Buffer.compare(data, big) === 0;
    ws.close(1000, 'done');
  }
  step++;
});
ws.on('close', (code) => done({ close: code, seconds: Math.round((Date.now() - opened) / 100) / 10 }));
setTimeout(() => done({ error: 'timed out' }), Number(wait || 15) * 1000);
