// Holds one keep-alive TLS connection to Bulwark across a certificate swap:
// GET <path> once, print the server certificate's serial, wait until the file
// <go> exists, GET again on the same connection, and print whether the socket
// was reused and the status. Usage: node tls_keepalive.mjs URL CA_FILE GO_FILE
import fs from 'node:fs';
import https from 'node:https';

const [url, caFile, goFile] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(caFile) });

function get() {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent }, (res) => {
      const serial = res.socket.getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket, serial }));
    });
    req.on('error', reject);
  });
}

const first = await get();
console.log(`first ${first.status} ${first.serial}`);
while (!fs.existsSync(goFile)) await new Promise((r) => setTimeout(r, 20));
const second = await get();
console.log(`second ${second.status} reused=${second.reused} ${second.serial}`);
agent.destroy();
