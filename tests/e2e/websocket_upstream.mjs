// A WebSocket service (the `ws` package) for the gateway's end-to-end tests:
// it greets each connection with the identity the gateway forwarded and the
// path it was asked for, then echoes every message, text or binary. A plain
// request (no upgrade) gets 426 naming the Upgrade it saw; a POST or PUT,
// its body's size, framing and SHA-256. Given a
// certificate and key, it serves over TLS (wss).
// Usage: node websocket_upstream.mjs PORT [CERT KEY]
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const [port, cert, key] = process.argv.slice(2);
const plain = (req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    // An upload: its size, how it was framed, and its digest.
    const hash = crypto.createHash('sha256');
    let size = 0;
    req.on('data', (piece) => {
      size += piece.length;
      hash.update(piece);
    });
    req.on('end', () => {
      const framing = req.headers['transfer-encoding'] ? 'chunked' : 'length';
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${req.method} ${size} ${framing} ${hash.digest('hex')}\n`);
    });
    return;
  }
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
