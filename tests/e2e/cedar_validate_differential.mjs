// Differential test of Bulwark's Cedar validator against the official one
// (@cedar-policy/cedar-wasm, strict mode): random schemas (in the text and
// the JSON format) and random policies, most of them well typed and the rest
// wrong in one of the ways policies go wrong (a mistyped operand, a missing
// or unguarded optional attribute, an undeclared entity type or action, an
// empty set, a bad extension literal). `bulwark policy validate` must accept
// exactly the policies the official validator accepts.
//
// Usage: node cedar_validate_differential.mjs BULWARK_BINARY [SCHEMAS] [SEED]
// (30 policies a schema; the seed also comes from BULWARK_CEDAR_SEED.)
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './seeded_random.mjs';

const [bulwark, roundsArg = '60', seedArg = process.env.BULWARK_CEDAR_SEED ?? '20261201'] =
  process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const POLICIES = 30;

const { random, int, pick, chance } = seededRandom(seedArg);
const quote = (s) => JSON.stringify(s);

// Types: {k: 'Long'|'String'|'Bool'|'ext', name} | {k: 'Entity', name} |
// {k: 'Set', el} | {k: 'Record', attrs: [{name, type, req}]}.
const EXTS = ['ipaddr', 'decimal', 'datetime', 'duration'];
const ATTR_NAMES = ['age', 'name', 'flag', 'tags', 'owner', 'level', 'info', 'ip', 'score', 'when'];

function makeSchema() {
  const n = 3 + int(3);
  const types = Array.from({ length: n }, (_, i) => `T${i}`);
  const primitive = () => pick([{ k: 'Long' }, { k: 'String' }, { k: 'Bool' },
    { k: 'ext', name: pick(EXTS) }]);
  const anyType = (depth) => {
    const r = int(10);
    if (r < 5 || depth > 1) return primitive();
    if (r < 7) return { k: 'Entity', name: pick(types) };
    if (r < 9) return { k: 'Set', el: chance(0.5) ? primitive() : { k: 'Entity', name: pick(types) } };
    return record(depth + 1, 1 + int(3));
  };
  const record = (depth, count) => {
    const names = [...ATTR_NAMES].sort(() => random() - 0.5).slice(0, count);
    return { k: 'Record', attrs: names.map((name) => ({ name, type: anyType(depth), req: chance(0.7) })) };
  };
  const entities = types.map((name) => ({
    name,
    memberOf: types.filter(() => chance(0.3)),
    shape: record(0, int(4)),
    tags: chance(0.2) ? primitive() : null,
  }));
  const actions = ['view', 'edit', 'share', 'admin'].map((id) => ({
    id,
    memberOf: [],
    principals: [pick(types), ...types.filter(() => chance(0.3))].filter((t, i, xs) => xs.indexOf(t) === i),
    resources: [pick(types), ...types.filter(() => chance(0.3))].filter((t, i, xs) => xs.indexOf(t) === i),
    context: record(0, int(4)),
  }));
  actions.push({ id: 'group', memberOf: [], principals: null });
  for (const a of actions.slice(0, 4)) if (chance(0.5)) a.memberOf.push('group');
  return { types, entities, actions };
}

function typeText(t) {
  switch (t.k) {
    case 'ext': return t.name;
    case 'Entity': return t.name;
    case 'Set': return `Set<${typeText(t.el)}>`;
    case 'Record': return `{ ${t.attrs.map((a) => `${a.name}${a.req ? '' : '?'}: ${typeText(a.type)}`).join(', ')} }`;
    default: return t.k;
  }
}

function schemaText(s) {
  let out = '';
  for (const e of s.entities) {
    out += `entity ${e.name}`;
    if (e.memberOf.length) out += ` in [${e.memberOf.join(', ')}]`;
    if (e.shape.attrs.length) out += ` = ${typeText(e.shape)}`;
    if (e.tags) out += ` tags ${typeText(e.tags)}`;
    out += ';\n';
  }
  for (const a of s.actions) {
    out += `action ${a.id}`;
    if (a.memberOf.length) out += ` in [${a.memberOf.map(quote).join(', ')}]`;
    if (a.principals) {
      out += ` appliesTo { principal: [${a.principals.join(', ')}], resource: [${a.resources.join(', ')}], context: ${typeText(a.context)} }`;
    }
    out += ';\n';
  }
  return out;
}

function typeJson(t) {
  switch (t.k) {
    case 'ext': return { type: 'Extension', name: t.name };
    case 'Bool': return { type: 'Boolean' };
    case 'Entity': return { type: 'Entity', name: t.name };
    case 'Set': return { type: 'Set', element: typeJson(t.el) };
    case 'Record': return {
      type: 'Record',
      attributes: Object.fromEntries(t.attrs.map((a) => [a.name, { ...typeJson(a.type), required: a.req }])),
    };
    default: return { type: t.k };
  }
}

function schemaJson(s) {
  const entityTypes = {};
  for (const e of s.entities) {
    entityTypes[e.name] = { memberOfTypes: e.memberOf, shape: typeJson(e.shape) };
    if (e.tags) entityTypes[e.name].tags = typeJson(e.tags);
  }
  const actions = {};
  for (const a of s.actions) {
    actions[a.id] = { memberOf: a.memberOf.map((id) => ({ id })) };
    if (a.principals) {
      actions[a.id].appliesTo = { principalTypes: a.principals, resourceTypes: a.resources, context: typeJson(a.context) };
    }
  }
  return { '': { entityTypes, actions } };
}

// --- Expressions --------------------------------------------------------------

function literalOf(t, s) {
  switch (t.k) {
    case 'Long': return String(int(10));
    case 'String': return quote(pick(['a', 'b', '']));
    case 'Bool': return pick(['true', 'false']);
    case 'ext': {
      const good = { ipaddr: 'ip("10.0.0.1")', decimal: 'decimal("1.5")', datetime: 'datetime("2024-01-01")', duration: 'duration("1h")' };
      const bad = { ipaddr: 'ip("10.0.0")', decimal: 'decimal("1.23456")', datetime: 'datetime("2024-13-01")', duration: 'duration("1x")' };
      return chance(0.05) ? bad[t.name] : good[t.name];
    }
    case 'Entity': return `${t.name}::${quote(pick(['a', 'b']))}`;
    case 'Set': return chance(0.05) ? '[]' : `[${literalOf(t.el, s)}, ${literalOf(t.el, s)}]`;
    case 'Record': return `{${t.attrs.filter((a) => a.req || chance(0.5)).map((a) => `${a.name}: ${literalOf(a.type, s)}`).join(', ')}}`;
    default: return 'true';
  }
}

// Expressions of entity or record type, with their types: where attributes come from.
function bases(s, depth) {
  const out = [
    { text: 'principal', t: { k: 'Entity', name: pick(s.types) } },
    { text: 'resource', t: { k: 'Entity', name: pick(s.types) } },
    { text: 'context', t: { k: 'Record', attrs: pick(s.actions.slice(0, 4)).context.attrs } },
  ];
  if (depth > 0) {
    const b = pick(out);
    const attrs = attrsOf(b.t, s);
    const nested = attrs.filter((a) => a.type.k === 'Entity' || a.type.k === 'Record');
    if (nested.length) {
      const a = pick(nested);
      out.push({ text: `${b.text}.${a.name}`, t: a.type });
    }
  }
  return out;
}

function attrsOf(t, s) {
  if (t.k === 'Record') return t.attrs;
  if (t.k === 'Entity') return s.entities.find((e) => e.name === t.name)?.shape.attrs ?? [];
  return [];
}

// An attribute access, guarded by `has` most of the time.
function access(s, depth, want) {
  const b = pick(bases(s, depth));
  const attrs = attrsOf(b.t, s).filter((a) => !want || a.type.k === want);
  const name = attrs.length && chance(0.9) ? pick(attrs).name : pick(ATTR_NAMES);
  const read = `${b.text}.${name}`;
  return chance(0.6) ? `(${b.text} has ${name} && ${wrapBool(read, want, s)})` : wrapBool(read, want, s);
}

function wrapBool(read, want, s) {
  switch (want) {
    case 'Long': return `${read} > ${int(5)}`;
    case 'String': return `${read} like "a*"`;
    case 'Set': return `${read}.contains(${literalOf({ k: pick(['Long', 'String']) }, s)})`;
    case 'ext': return pick([`${read}.isIpv4()`, `${read}.lessThan(decimal("1.0"))`, `${read} < datetime("2024-01-01")`, `${read}.toHours() > 1`]);
    case 'Entity': return `${read} in ${literalOf({ k: 'Entity', name: pick(s.types) }, s)}`;
    default: return read;
  }
}

const boolLeaves = [
  (s) => pick(['true', 'false']),
  (s) => access(s, 1, pick(['Bool', 'Long', 'String', 'Set', 'ext', 'Entity', null])),
  (s) => `principal in ${literalOf({ k: 'Entity', name: pick(s.types) }, s)}`,
  (s) => `resource in [${literalOf({ k: 'Entity', name: pick(s.types) }, s)}]`,
  (s) => `principal is ${pick(s.types)}`,
  (s) => `resource is ${pick(s.types)} in principal`,
  (s) => `principal == resource`,
  (s) => `action == Action::${quote(pick(['view', 'edit', 'share', 'admin']))}`,
  (s) => `action in Action::"group"`,
  (s) => `action in [Action::"view", Action::"edit"]`,
  (s) => `${literalOf({ k: pick(['Long', 'String', 'Bool']) }, s)} == ${literalOf({ k: pick(['Long', 'String', 'Bool']) }, s)}`,
  (s) => `${pick(bases(s, 1)).text} == ${pick(bases(s, 1)).text}`,
  (s) => `${literalOf({ k: 'Set', el: { k: pick(['Long', 'String']) } }, s)}.contains(${literalOf({ k: pick(['Long', 'String']) }, s)})`,
  (s) => `${literalOf({ k: 'Set', el: { k: 'Long' } }, s)}.containsAny(${literalOf({ k: 'Set', el: { k: pick(['Long', 'String']) } }, s)})`,
  (s) => `(if ${pick(['true', 'false', 'principal has age'])} then ${literalOf({ k: pick(['Long', 'String']) }, s)} else ${literalOf({ k: pick(['Long', 'String']) }, s)}) == 1`,
  (s) => `${literalOf({ k: 'ext', name: pick(EXTS) }, s)} == ${literalOf({ k: 'ext', name: pick(EXTS) }, s)}`,
  (s) => `ip(${pick(['"1.2.3.4"', 'principal.name', '"a"'])}).isLoopback()`,
  (s) => `${literalOf({ k: 'Record', attrs: [{ name: 'a', type: { k: pick(['Long', 'String']) }, req: true }] }, s)} == {a: 1}`,
  (s) => `principal.hasTag("k") && principal.getTag("k") == ${literalOf({ k: pick(['Long', 'String', 'Bool']) }, s)}`,
  (s) => `${pick(s.types)}::"a".${pick(ATTR_NAMES)} == 1`,
  (s) => `Undeclared::"x" == principal`,
  (s) => `action == Action::"nope"`,
  (s) => `${int(3)} + ${pick(['1', '"a"', 'principal.age'])} > 2`,
  (s) => `context == ${literalOf(pick(s.actions.slice(0, 4)).context, s)}`,
  (s) => `!${pick(['true', '1', 'principal has name'])}`,
  (s) => `principal.tags.isEmpty()`,
  (s) => `${pick(['1', 'true', '"a"'])}`,
  (s) => {
    const b = pick(bases(s, 1));
    const a = pick(attrsOf(b.t, s).concat([{ name: 'info' }]));
    return `${b.text} has ${a.name}.${pick(ATTR_NAMES)}`;
  },
  (s) => `(if ${boolExpr(s, 0)} then principal else ${pick(['resource', 'principal'])}) == principal`,
  (s) => `[principal, ${pick(['resource', 'principal', `${pick(s.types)}::"a"`])}].contains(principal)`,
  (s) => `principal.getTag(${pick(['"k"', 'principal.name'])}) == ${pick(['1', '"a"'])}`,
  (s) => `${pick(bases(s, 1)).text}.${pick(ATTR_NAMES)}.offset(duration("1h")) > datetime("2024-01-01")`,
  (s) => `principal in ${pick(bases(s, 1)).text}.${pick(ATTR_NAMES)}`,
  (s) => `${pick(bases(s, 1)).text}.${pick(ATTR_NAMES)}.containsAll([${pick(['principal', '1', '"a"'])}])`,
  (s) => `{a: ${literalOf({ k: pick(['Long', 'String']) }, s)}, b: principal} == {a: 1, b: ${pick(['principal', 'resource'])}}`,
  (s) => `Action::"view" in ${pick(['Action::"group"', '[Action::"group", Action::"edit"]', 'principal'])}`,
  (s) => `principal.${pick(ATTR_NAMES)}.${pick(ATTR_NAMES)} == ${literalOf({ k: pick(['Long', 'String']) }, s)}`,
];

function boolExpr(s, depth) {
  if (depth <= 0 || chance(0.35)) return pick(boolLeaves)(s);
  switch (int(4)) {
    case 0: return `(${boolExpr(s, depth - 1)} && ${boolExpr(s, depth - 1)})`;
    case 1: return `(${boolExpr(s, depth - 1)} || ${boolExpr(s, depth - 1)})`;
    case 2: return `!(${boolExpr(s, depth - 1)})`;
    default: return `(if ${boolExpr(s, depth - 1)} then ${boolExpr(s, depth - 1)} else ${boolExpr(s, depth - 1)})`;
  }
}

function scope(s, variable) {
  const t = pick(s.types);
  switch (int(5)) {
    case 0: return `${variable} == ${t}::"a"`;
    case 1: return `${variable} in ${t}::"a"`;
    case 2: return `${variable} is ${t}`;
    case 3: return `${variable} is ${t} in ${pick(s.types)}::"b"`;
    default: return variable;
  }
}

function policy(s, i) {
  const action = pick(['action', 'action', 'action == Action::"view"', 'action in Action::"group"',
    'action in [Action::"edit", Action::"share"]', 'action == Action::"nope"']);
  const conditions = Array.from({ length: int(3) }, () =>
    `${pick(['when', 'when', 'unless'])} { ${boolExpr(s, 3)} }`).join(' ');
  return `@id("p${i}")\n${pick(['permit', 'forbid'])}(${scope(s, 'principal')}, ${action}, ${scope(s, 'resource')}) ${conditions};`;
}

// --- The comparison -------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cedar-validate-'));
let compared = 0, invalid = 0, differences = 0;
try {
  for (let round = 0; round < ROUNDS; ++round) {
    const s = makeSchema();
    const json = round % 2 === 1;
    const schema = json ? schemaJson(s) : schemaText(s);
    const schemaFile = join(dir, json ? 'schema.json' : 'schema.cedarschema');
    writeFileSync(schemaFile, json ? JSON.stringify(schema) : schema);
    const policies = Array.from({ length: POLICIES }, (_, i) => policy(s, i));
    const expected = new Map();
    for (const [i, text] of policies.entries()) {
      const answer = cedar.validate({ schema, policies: { staticPolicies: text },
        validationSettings: { mode: 'strict' } });
      if (answer.type !== 'success') {
        throw new Error(`cedar-wasm could not read round ${round}: ${JSON.stringify(answer.errors)}\n${text}`);
      }
      expected.set(`p${i}`, answer.validationErrors.length === 0);
    }
    const policyFile = join(dir, 'policies.cedar');
    writeFileSync(policyFile, policies.join('\n'));
    let output;
    try {
      output = execFileSync(bulwark, ['policy', 'validate', '--schema', schemaFile, policyFile],
        { encoding: 'utf8' });
    } catch (e) {
      if (e.status !== 1) throw new Error(`bulwark failed on round ${round}: ${e.stderr}\n${schema}`);
      output = e.stdout;
    }
    const rejected = new Set();
    for (const line of output.split('\n')) {
      const m = line.match(/: error: policy (\S+): /);
      if (m) rejected.add(m[1]);
    }
    for (const [id, ok] of expected) {
      ++compared;
      if (!ok) ++invalid;
      if (ok === !rejected.has(id)) continue;
      if (++differences <= 10) {
        const text = policies[Number(id.slice(1))];
        const mine = output.split('\n').filter((l) => l.includes(`policy ${id}:`)).join('\n');
        const theirs = cedar.validate({ schema, policies: { staticPolicies: text },
          validationSettings: { mode: 'strict' } }).validationErrors.map((e) => e.error.message);
        console.log(`DIFF round ${round} ${json ? 'json' : 'text'} schema: official ${ok ? 'valid' : 'invalid'}\n` +
          `${json ? JSON.stringify(schema) : schema}\n${text}\nbulwark: ${mine || '(valid)'}\nofficial: ${theirs.join(' | ')}\n`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${compared} policies compared (${invalid} invalid by the official validator), ${differences} differences`);
process.exit(differences === 0 && compared > 0 && invalid > compared / 10 && invalid < compared * 0.9 ? 0 : 1);
