// A WebSocket service (the `ws` package) for the gateway's end-to-end tests:
// it greets each connection with the identity the gateway forwarded and the
// path it was asked for, then echoes every message, text or binary. A plain
// request (no upgrade) gets 426 naming the Upgrade it saw. Given a
// certificate and key, it serves over TLS (wss).
// Usage: node websocket_upstream.mjs PORT [CERT KEY]
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const [port, cert, key] = process.argv.slice(2);
const plain = (req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end(`plain ${req.method} upgrade=${req.headers.upgrade ?? ''}\n`);
};
const server = cert
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, plain)
  : http.createServer(plain);
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  ws.send(JSON.stringify({ subject: req.headers['x-bulwark-subject'] ?? null, path: req.url }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(Number(port), '127.0.0.1');
