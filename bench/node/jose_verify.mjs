// Verifies the same tokens as jwt_bench with node `jose`, one core, and
// prints "<alg> <ops/s>" per algorithm. Usage: node jose_verify.mjs DIR SECONDS ALG...
import { readFileSync } from 'node:fs';
import { importJWK, jwtVerify } from 'jose';

const [dir, secondsArg, ...algs] = process.argv.slice(2);
const seconds = Number(secondsArg || '2');

for (const alg of algs) {
  const jwk = JSON.parse(readFileSync(`${dir}/${alg}.pub.jwk`, 'utf8'));
  const token = readFileSync(`${dir}/${alg}.jwt`, 'utf8').trim();
  const key = await importJWK(jwk, alg);
  const options = { algorithms: [alg], clockTolerance: 3600 };
  await jwtVerify(token, key, options);  // fails loudly if the token does not verify
  // Warm up, then count completed verifications for `seconds`.
  for (let i = 0; i < 200; i++) await jwtVerify(token, key, options);
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) await jwtVerify(token, key, options);
    n += 50;
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  console.log(`${alg} ${(n / elapsed).toFixed(0)}`);
}
