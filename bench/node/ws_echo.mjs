// WebSocket peers for bench/streams.sh (the `ws` package).
//   node ws_echo.mjs serve PORT
//     an echo service: every message comes back as it was; and an upload
//     sink: a POST's body is read to its end and dropped, then answered
//     with `taken N` (its size in bytes).
//   node ws_echo.mjs load URL TOKEN CONNECTIONS SECONDS SIZE
//     CONNECTIONS clients through the proxy at URL (bearer TOKEN), each
//     sending a SIZE-byte binary message and the next once the echo is back,
//     for SECONDS; prints `messages N seconds S`.
import http from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve') {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') return res.writeHead(426).end();
    let size = 0;
    req.on('data', (piece) => (size += piece.length));
    req.on('end', () => res.end(`taken ${size}\n`));
  });
  new WebSocketServer({ server, perMessageDeflate: false }).on('connection', (ws) =>
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })),
  );
  server.listen(Number(args[0]), '127.0.0.1');
} else {
  const [url, token, connections, seconds, size] = args;
  const payload = Buffer.alloc(Number(size), 7);
  let messages = 0;
  let open = 0;
  let started = 0;
  let stopping = false;
  const sockets = [];
  const finish = () => {
    const took = (performance.now() - started) / 1000;
    console.log(`messages ${messages} seconds ${took.toFixed(3)}`);
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  };
  for (let i = 0; i < Number(connections); i++) {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
    sockets.push(ws);
    ws.on('error', (e) => {
      console.error(`websocket: ${e.message}`);
      process.exit(1);
    });
    ws.on('open', () => {
      if (++open === sockets.length) {
        started = performance.now();
        setTimeout(() => {
          stopping = true;
          finish();
        }, Number(seconds) * 1000);
        for (const s of sockets) s.send(payload);
      }
    });
    ws.on('message', () => {
      messages++;
      if (!stopping) ws.send(payload);
    });
  }
}
