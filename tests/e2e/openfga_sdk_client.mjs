// The official OpenFGA JavaScript SDK (@openfga/sdk) against Bulwark's
// OpenFGA-compatible paths: write tuples, check (with contextual tuples and
// condition context), list objects and users, read. Exits non-zero on the
// first answer that is not what OpenFGA would give.
// Usage: node openfga_sdk_client.mjs BASE_URL   (token in BULWARK_RELATIONS_TOKEN)
import { CredentialsMethod, OpenFgaClient } from "@openfga/sdk";

const client = new OpenFgaClient({
  apiUrl: process.argv[2],
  storeId: "01HVMMBCMGZNT3SED4Z17ECXCA",  // any id: Bulwark serves one store
  credentials: {
    method: CredentialsMethod.ApiToken,
    config: { token: process.env.BULWARK_RELATIONS_TOKEN },
  },
});

function expect(what, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) {
    console.error(`FAIL: ${what}: got ${g}, want ${w}`);
    process.exit(1);
  }
}

await client.writeTuples([
  { user: "user:sdk-anne", relation: "member", object: "group:sdk" },
  { user: "group:sdk#member", relation: "viewer", object: "document:sdk-doc" },
]);
expect("check through the group",
       (await client.check({ user: "user:sdk-anne", relation: "viewer", object: "document:sdk-doc" })).allowed,
       true);
expect("check a stranger",
       (await client.check({ user: "user:sdk-zed", relation: "viewer", object: "document:sdk-doc" })).allowed,
       false);
expect("contextual tuple",
       (await client.check({
         user: "user:sdk-zed", relation: "viewer", object: "document:sdk-doc",
         contextualTuples: [{ user: "user:sdk-zed", relation: "member", object: "group:sdk" }],
       })).allowed,
       true);
expect("list objects",
       (await client.listObjects({ user: "user:sdk-anne", relation: "viewer", type: "document" })).objects,
       ["document:sdk-doc"]);
expect("list users",
       (await client.listUsers({
         object: { type: "document", id: "sdk-doc" }, relation: "viewer",
         user_filters: [{ type: "user" }],
       })).users,
       [{ object: { type: "user", id: "sdk-anne" } }]);
const read = await client.read({ object: "document:sdk-doc" });
expect("read", read.tuples.map((t) => t.key),
       [{ user: "group:sdk#member", relation: "viewer", object: "document:sdk-doc" }]);
// A write the model refuses is an error the SDK raises, and nothing is written.
let refused = false;
try {
  await client.writeTuples([{ user: "user:sdk-anne", relation: "admin", object: "document:sdk-doc" }]);
} catch (e) {
  refused = true;
}
expect("an undefined relation is refused", refused, true);
await client.deleteTuples([{ user: "user:sdk-anne", relation: "member", object: "group:sdk" }]);
expect("revoked",
       (await client.check({ user: "user:sdk-anne", relation: "viewer", object: "document:sdk-doc" })).allowed,
       false);
console.log("openfga sdk: ok");
