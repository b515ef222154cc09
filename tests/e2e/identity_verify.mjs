// What a service behind Bulwark does with X-Bulwark-Identity: verify it with
// node `jose` against the JWKS Bulwark publishes, for its own audience.
//   node identity_verify.mjs JWKS_URL ISSUER AUDIENCE TOKEN -> prints the claims, exit 0 if valid
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience, token] = process.argv.slice(2);
try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload } = await jwtVerify(token, jwks, { issuer, audience, maxTokenAge: '5m' });
  console.log(JSON.stringify(payload));
} catch (e) {
  console.error(`jose refused: ${e.code || e.message}`);
  process.exit(1);
}
