// Interop with node `jose`, a widely used independent JOSE implementation.
//   node jose_interop.mjs sign ALG PRIVATE_JWK_FILE CLAIMS_JSON  -> prints a JWT signed by jose
//   node jose_interop.mjs verify ALG PUBLIC_JWK_FILE TOKEN       -> exit 0 if jose accepts it
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT, jwtVerify } from 'jose';

const [mode, alg, keyFile, arg] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(keyFile, 'utf8'));
const key = await importJWK(jwk, alg);
if (mode === 'sign') {
  const token = await new SignJWT(JSON.parse(arg))
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .sign(key);
  console.log(token);
} else if (mode === 'verify') {
  try {
    const { payload } = await jwtVerify(arg, key, { algorithms: [alg] });
    console.log(JSON.stringify(payload));
  } catch (e) {
    console.error(`jose refused: ${e.code || e.message}`);
    process.exit(1);
  }
} else {
  console.error('usage: jose_interop.mjs sign|verify ALG JWK_FILE ARG');
  process.exit(2);
}
