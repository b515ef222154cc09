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
// Models in OpenFGA's JSON form: read the current one, write it back, and a
// check still answers as before (the JSON went through the DSL and back).
const { authorization_models: models } = await client.readAuthorizationModels();
expect("one model", models.length, 1);
const { id, ...body } = models[0];
expect("the model has the drive types", body.type_definitions.map((t) => t.type),
       ["user", "group", "folder", "document"]);
const written = await client.writeAuthorizationModel(body);
if (!written.authorization_model_id) {
  console.error("FAIL: no authorization_model_id");
  process.exit(1);
}
await client.writeTuples([{ user: "user:sdk-bea", relation: "owner", object: "document:sdk-doc" }]);
expect("check after the model round trip",
       (await client.check({ user: "user:sdk-bea", relation: "can_share", object: "document:sdk-doc" })).allowed,
       true);
const again = (await client.readAuthorizationModels()).authorization_models[0];
expect("the round trip keeps the model", { ...again, id: undefined }, { ...models[0], id: undefined });
// A JSON model that names an undefined type is refused.
let bad = false;
try {
  await client.writeAuthorizationModel({
    schema_version: "1.1",
    type_definitions: [{ type: "document", relations: { viewer: { this: {} } },
                         metadata: { relations: { viewer: { directly_related_user_types: [{ type: "nobody" }] } } } }],
  });
} catch (e) {
  bad = true;
}
expect("a bad JSON model is refused", bad, true);
// A condition expression cannot close its braces and smuggle in more model.
let smuggled = false;
try {
  await client.writeAuthorizationModel({
    ...body,
    conditions: { sneaky: { name: "sneaky", expression: "true\n}\ntype injected\ncondition x(a: int) {\n  a == 1",
                            parameters: {} } },
  });
} catch (e) {
  smuggled = true;
}
expect("an expression that closes its braces is refused", smuggled, true);
smuggled = false;
try {
  await client.writeAuthorizationModel({
    ...body,
    conditions: { sneaky: { name: "sneaky", expression: "p == 1",
                            parameters: { p: { type_name: "TYPE_NAME_INT) {\n  true\n}\ntype injected\ncondition y(q: INT" } } } },
  });
} catch (e) {
  smuggled = true;
}
expect("a parameter type that is not one is refused", smuggled, true);
console.log("openfga sdk: ok");
