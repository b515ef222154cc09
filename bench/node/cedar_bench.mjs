// The official Cedar engine (@cedar-policy/cedar-wasm) on the workloads that
// cedar_bench writes: the policy set is parsed once (preparsePolicySet), and
// each request carries the entities it needs (principal and resource with
// their ancestors and the entities their attributes name), as callers of
// the SDK pass them.
//
// Usage: node cedar_bench.mjs WORKLOAD_DIR MAX_REQUESTS NAME...
// Prints per workload: name, p50 and p99 in µs, decisions/s, allowed share.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, maxArg, ...names] = process.argv.slice(2);
const max = Number(maxArg);
const key = (uid) => `${uid.type}::${uid.id}`;

for (const name of names) {
  const text = readFileSync(join(dir, `${name}.cedar`), 'utf8');
  const links = JSON.parse(readFileSync(join(dir, `${name}.links.json`), 'utf8'));
  const entities = JSON.parse(readFileSync(join(dir, `${name}.entities.json`), 'utf8'));
  const requests = JSON.parse(readFileSync(join(dir, `${name}.requests.json`), 'utf8')).slice(0, max);

  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(JSON.stringify(parts.errors));
  const idOf = (t, n) => /@id\("([^"]+)"\)/.exec(t)?.[1] ?? `policy${n}`;
  const staticPolicies = Object.fromEntries(parts.policies.map((t, n) => [idOf(t, n), t]));
  const templates = Object.fromEntries(
    parts.policy_templates.map((t, n) => [idOf(t, parts.policies.length + n), t]));
  const parsed = cedar.preparsePolicySet(name, { staticPolicies, templates, templateLinks: links });
  if (parsed.type !== 'success') throw new Error(JSON.stringify(parsed.errors));

  const byKey = new Map(entities.map((e) => [key(e.uid), e]));
  const slice = (roots) => {
    const out = new Map();
    const visit = (uid, depth) => {
      const e = byKey.get(key(uid));
      if (!e || out.has(key(uid))) return;
      out.set(key(uid), e);
      for (const p of e.parents) visit(p, depth);
      if (depth > 0) {
        for (const v of Object.values(e.attrs)) {
          for (const item of Array.isArray(v) ? v : [v]) {
            if (item && item.__entity) visit(item.__entity, depth - 1);
          }
        }
      }
    };
    for (const r of roots) visit(r, 1);
    return [...out.values()];
  };
  const calls = requests.map((r) => ({
    principal: r.principal, action: r.action, resource: r.resource, context: {},
    preparsedPolicySetId: name, entities: slice([r.principal, r.resource]),
  }));

  let allowed = 0;
  for (const c of calls) {  // warm-up
    const a = cedar.statefulIsAuthorized(c);
    if (a.type !== 'success') throw new Error(JSON.stringify(a.errors));
  }
  const us = [];
  const start = process.hrtime.bigint();
  for (const c of calls) {
    const t0 = process.hrtime.bigint();
    const a = cedar.statefulIsAuthorized(c);
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (a.response.decision === 'allow') allowed++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  us.sort((x, y) => x - y);
  console.log(`${name} p50_us=${us[us.length >> 1].toFixed(2)} ` +
    `p99_us=${us[Math.floor(us.length * 0.99)].toFixed(2)} ` +
    `decisions_per_s=${Math.round(us.length / seconds)} allowed=${(allowed / us.length).toFixed(2)}`);
}
