// Prints the SPKI PEM of the public JWK in the file given (for HAProxy's
// jwt_verify, which takes PEM keys).
import { readFileSync } from 'node:fs';
import { importJWK, exportSPKI } from 'jose';

const jwk = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const key = await importJWK(jwk, jwk.alg ?? 'ES256', { extractable: true });
process.stdout.write(await exportSPKI(key));
