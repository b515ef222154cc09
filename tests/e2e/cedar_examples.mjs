// The policy examples of docs/policy.md, checked against the official Cedar
// engine (@cedar-policy/cedar-wasm): every expected decision, determining
// policy and erroring policy in examples/policy/*/tests.json must be what
// Cedar itself answers, so the examples teach Cedar as it is.
//
// With DOCS_FILE, each example's policies must also appear there verbatim.
//
// Usage: node cedar_examples.mjs EXAMPLES_DIR [DOCS_FILE]
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [root, docsFile] = process.argv.slice(2);
const docs = docsFile ? readFileSync(docsFile, 'utf8') : null;
let checked = 0;
let wrong = 0;
for (const model of readdirSync(root)) {
  const test = JSON.parse(readFileSync(join(root, model, 'tests.json'), 'utf8'));
  const text = readFileSync(join(root, test.policies), 'utf8');
  if (docs !== null && !docs.includes(text)) {
    wrong++;
    console.log(`${model}: ${docsFile} does not show ${test.policies} as it is`);
  }
  // The SDKs take templates apart from static policies, by id.
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(`${model}: ${JSON.stringify(parts.errors)}`);
  // Ids as the Cedar integration tests give them: @id, else policy<N>.
  const idOf = (text, n) => /@id\("([^"]+)"\)/.exec(text)?.[1] ?? `policy${n}`;
  const statics = Object.fromEntries(parts.policies.map((t, n) => [idOf(t, n), t]));
  const templates = Object.fromEntries(
    parts.policy_templates.map((t, n) => [idOf(t, parts.policies.length + n), t]));
  const entities = JSON.parse(readFileSync(join(root, test.entities), 'utf8'));
  for (const r of test.requests) {
    const answer = cedar.isAuthorized({
      principal: r.principal, action: r.action, resource: r.resource, context: r.context,
      policies: { staticPolicies: statics, templates, templateLinks: test.templateLinks ?? [] },
      entities,
    });
    checked++;
    const got = answer.type === 'success'
      ? { decision: answer.response.decision, reason: [...answer.response.diagnostics.reason].sort(),
          errors: answer.response.diagnostics.errors.map((e) => e.policyId).sort() }
      : { failure: answer.errors };
    const want = { decision: r.decision, reason: [...r.reason].sort(), errors: [...r.errors].sort() };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      wrong++;
      console.log(`${model}: ${r.description}\n  expected ${JSON.stringify(want)}\n  cedar    ${JSON.stringify(got)}`);
    }
  }
}
console.log(`${checked} example requests checked against cedar-wasm ${cedar.getCedarVersion()}, ${wrong} wrong`);
process.exitCode = wrong === 0 && checked > 0 ? 0 : 1;
