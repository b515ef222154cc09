// Differential test of Bulwark's Cedar engine against the official one
// (@cedar-policy/cedar-wasm): random entities, policies and requests; the
// official engine's answers are written as Cedar integration-test files, and
// `bulwark policy test` must agree on every decision, determining policy and
// erroring policy.
//
// Usage: node cedar_differential.mjs BULWARK_BINARY [FILES] [SEED]
// (50 requests a file; the seed also comes from BULWARK_CEDAR_SEED.)
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './seeded_random.mjs';

const [bulwark, filesArg = '100', seedArg = process.env.BULWARK_CEDAR_SEED ?? '20261125'] =
  process.argv.slice(2);
const FILES = Number(filesArg);
const POLICIES_PER_FILE = 6;
const REQUESTS_PER_FILE = 50;

const { random, int, pick, chance } = seededRandom(seedArg);

const quote = (s) => JSON.stringify(s);
const ref = (e) => `${e.type}::${quote(e.id)}`;

const STRINGS = ['', 'a', 'b', 'ab', 'ba', 'a*b', 'abc', 'x'];
const PATTERNS = ['*', 'a*', '*b', 'a*b', '\\*', 'a\\*b', '*a*', 'ab', '', '**'];
const LONGS = [0, 1, -1, 2, 7, 42, 1000, 9223372036854775807n, -9223372036854775808n,
  4611686018427387904n, 3037000500];
const DECIMALS = ['0.0', '1.5', '-1.5', '0.7500', '2.25', '922337203685477.5807', '-0.0001'];
const IPS = ['10.0.0.1', '10.0.0.0/8', '10.1.2.3', '192.168.1.0/24', '127.0.0.1', '::1',
  '2001:db8::1', '2001:db8::/32', '224.0.0.1', '0.0.0.0/0', 'ff02::1'];
const DATETIMES = ['2024-01-01', '2024-01-01T00:00:00Z', '2024-01-01T01:00:00+0100',
  '1969-12-31T23:00:00Z', '2024-02-29', '2023-02-29', '2024-01-01T00:00:00.001Z',
  '2024-06-15T12:30:45-0530', '0000-01-01', '9999-12-31T23:59:59.999Z', '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:00.1Z', '1970-01-01'];
const DURATIONS = ['1d', '2h', '-90m', '1d2h3m4s5ms', '1000ms', '1s', '0ms', '-1d',
  '106751991167d', '1h1d', '', '9223372036854775807ms', '-9223372036854775808ms', '1m1ms'];
const ATTRS = ['age', 'name', 'flag', 'tags', 'manager', 'profile', 'owner', 'level'];

const longText = (v) => (typeof v === 'bigint' ? v.toString() : String(v));

// The world: users, groups, documents, folders and actions.
function makeWorld() {
  const users = ['alice', 'bob', 'carol', 'dave'].map((id) => ({ type: 'User', id }));
  const groups = ['eng', 'ops', 'all'].map((id) => ({ type: 'Group', id }));
  const docs = ['d1', 'd2', 'd3'].map((id) => ({ type: 'Doc', id }));
  const folders = ['f1', 'f2'].map((id) => ({ type: 'Folder', id }));
  const actions = ['read', 'write', 'delete', 'all'].map((id) => ({ type: 'Action', id }));
  const entities = [];
  const attrValue = (name) => {
    switch (name) {
      case 'age': case 'level': return Number(pick(LONGS.filter((v) => typeof v === 'number')));
      case 'name': return pick(STRINGS);
      case 'flag': return chance(0.5);
      case 'tags': return STRINGS.filter(() => chance(0.3));
      case 'manager': case 'owner': return { __entity: pick(users) };
      case 'profile': return { level: int(5), city: pick(STRINGS) };
      default: return 0;
    }
  };
  const attrs = () => Object.fromEntries(ATTRS.filter(() => chance(0.6)).map((a) => [a, attrValue(a)]));
  // Parents only point forward in this list, so the hierarchy has no cycle.
  const order = [...users, ...docs, ...groups, ...folders];
  order.forEach((uid, i) => {
    const later = order.slice(i + 1).filter((p) => p.type === 'Group' || p.type === 'Folder');
    const parents = later.filter(() => chance(0.35));
    entities.push({ uid, attrs: attrs(), parents, tags: chance(0.3) ? { color: pick(STRINGS) } : {} });
  });
  const all = actions[3];
  for (const a of actions.slice(0, 3)) entities.push({ uid: a, attrs: {}, parents: chance(0.7) ? [all] : [] });
  entities.push({ uid: all, attrs: {}, parents: [] });
  return { users, groups, docs, folders, actions, entities };
}

// Expressions, mostly well typed, sometimes not (to compare the errors too).
function gen(world, type, depth) {
  if (depth > 3 || chance(0.15)) return leaf(world, type);
  if (chance(0.06)) type = pick(['bool', 'long', 'string', 'entity', 'set']);  // a type error
  switch (type) {
    case 'bool': return genBool(world, depth + 1);
    case 'long': return genLong(world, depth + 1);
    case 'string': return pick([() => `principal.name`, () => `context.s`, () => leaf(world, 'string'),
      () => `(if ${gen(world, 'bool', depth + 1)} then ${gen(world, 'string', depth + 1)} else ${quote(pick(STRINGS))})`])();
    case 'entity': return pick([() => 'principal', () => 'resource', () => 'action', () => 'principal.manager',
      () => 'resource.owner', () => leaf(world, 'entity')])();
    case 'set': return pick([() => 'principal.tags', () => 'context.list',
      () => `[${Array.from({ length: int(3) }, () => gen(world, pick(['long', 'string']), depth + 1)).join(', ')}]`,
      () => `[${Array.from({ length: int(3) }, () => gen(world, 'entity', depth + 1)).join(', ')}]`])();
    default: return leaf(world, type);
  }
}

function leaf(world, type) {
  switch (type) {
    case 'bool': return pick(['true', 'false', 'principal.flag', 'context.flag']);
    case 'long': return pick([longText(pick(LONGS)), 'principal.age', 'context.n', 'resource.level']);
    case 'string': return quote(pick(STRINGS));
    case 'entity': return ref(pick([...world.users, ...world.groups, ...world.docs, ...world.folders,
      { type: 'User', id: 'ghost' }]));
    default: return '[]';
  }
}

function genLong(world, depth) {
  return pick([
    () => `(${gen(world, 'long', depth)} ${pick(['+', '-', '*'])} ${gen(world, 'long', depth)})`,
    () => `-${gen(world, 'long', depth)}`,
    () => `principal.profile.level`,
    () => `(if ${gen(world, 'bool', depth)} then ${gen(world, 'long', depth)} else ${gen(world, 'long', depth)})`,
    () => leaf(world, 'long'),
  ])();
}

// Relations do not chain in Cedar (`a has b == c` is a syntax error), so
// they are parenthesized, except now and then to check that both parsers
// refuse the same text.
const wrap = (text) => (chance(0.97) ? `(${text})` : text);

function genBool(world, depth) {
  const g = (t) => gen(world, t, depth);
  const target = () => pick(['principal', 'resource', 'context', 'principal.profile', 'principal.manager']);
  return pick([
    () => `(${g('long')} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${g('long')})`,
    () => `(${g(pick(['long', 'string', 'entity', 'set', 'bool']))} == ${g(pick(['long', 'string', 'entity', 'set', 'bool']))})`,
    () => `(${g('bool')} ${pick(['&&', '||'])} ${g('bool')})`,
    () => `!${g('bool')}`,
    () => wrap(`${target()} has ${pick([...ATTRS, 'city', 'n', 's', 'flag'])}`),
    () => wrap(`principal has profile.${pick(['level', 'city', 'zip'])}`),
    () => wrap(`${g('string')} like ${quote(pick(PATTERNS)).replace(/\\\\\*/g, '\\*')}`),
    () => `(${g('entity')} in ${g('entity')})`,
    () => `(${g('entity')} in ${g('set')})`,
    () => `(${g('entity')} is ${pick(['User', 'Group', 'Doc', 'Folder'])})`,
    () => `(${g('entity')} is ${pick(['User', 'Doc'])} in ${g('entity')})`,
    () => `${g('set')}.contains(${g(pick(['long', 'string', 'entity']))})`,
    () => `${g('set')}.${pick(['containsAll', 'containsAny'])}(${g('set')})`,
    () => `${g('set')}.isEmpty()`,
    () => `(if ${g('bool')} then ${g('bool')} else ${g('bool')})`,
    () => `decimal(${quote(pick(DECIMALS))}).${pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${pick(['context.dec', `decimal(${quote(pick(DECIMALS))})`])})`,
    () => `${pick(['context.addr', `ip(${quote(pick(IPS))})`])}.${pick(['isIpv4()', 'isIpv6()', 'isLoopback()', 'isMulticast()', `isInRange(ip(${quote(pick(IPS))}))`])}`,
    () => `(${dt()} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${dt()})`,
    () => `(${dur()} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${dur()})`,
    () => `(${dt()}.toDate() == ${dt()})`,
    () => `(${dur()}.${pick(['toMilliseconds', 'toSeconds', 'toMinutes', 'toHours', 'toDays'])}() ${pick(['<', '==', '>='])} ${g('long')})`,
    () => `(${dt()} < ${dur()})`,
    () => `${pick(['principal', 'resource'])}.hasTag(${quote(pick(['color', 'size']))})`,
    () => `(${pick(['principal', 'resource'])}.getTag(${quote(pick(['color', 'size']))}) == ${quote(pick(STRINGS))})`,
    () => `(context.rec.a ${pick(['<', '=='])} ${g('long')})`,
    () => leaf(world, 'bool'),
  ])();
}

function dt() {
  return pick([
    () => `datetime(${quote(pick(DATETIMES))})`,
    () => 'context.when',
    () => `${dt()}.offset(${dur()})`,
  ])();
}

function dur() {
  return pick([
    () => `duration(${quote(pick(DURATIONS))})`,
    () => 'context.wait',
    () => `${dt()}.durationSince(${dt()})`,
    () => `${dt()}.toTime()`,
  ])();
}

function scope(world, variable, pool, types) {
  const roll = int(6);
  if (roll === 0) return variable;
  if (roll === 1) return `${variable} == ${ref(pick(pool))}`;
  if (roll === 2) return `${variable} in ${ref(pick([...world.groups, ...world.folders, ...pool]))}`;
  if (roll === 3) return `${variable} is ${pick(types)}`;
  if (roll === 4) return `${variable} is ${pick(types)} in ${ref(pick([...world.groups, ...world.folders]))}`;
  return variable;
}

function makePolicies(world) {
  const out = [];
  for (let i = 0; i < POLICIES_PER_FILE; i++) {
    const effect = chance(0.65) ? 'permit' : 'forbid';
    const roll = int(4);
    const action = roll === 0 ? 'action' : roll === 1 ? `action == ${ref(pick(world.actions))}`
      : roll === 2 ? `action in ${ref(pick(world.actions))}`
      : `action in [${world.actions.filter(() => chance(0.5)).map(ref).join(', ')}]`;
    let text = `${effect} (${scope(world, 'principal', world.users, ['User', 'Group'])}, ${action}, ` +
      `${scope(world, 'resource', world.docs, ['Doc', 'Folder'])})`;
    for (let c = int(3); c > 0; c--) text += ` ${chance(0.7) ? 'when' : 'unless'} { ${gen(world, 'bool', 0)} }`;
    out.push(text + ';');
  }
  return out.join('\n');
}

// Templates (slots in the scope) and their links, as the SDKs take them.
function makeTemplates(world) {
  const templates = {};
  const links = [];
  for (let t = int(3); t > 0; t--) {
    const id = `T${t}`;
    const usesPrincipal = chance(0.7);
    const usesResource = !usesPrincipal || chance(0.5);
    const principal = usesPrincipal ? `principal ${pick(['==', 'in'])} ?principal`
      : scope(world, 'principal', world.users, ['User', 'Group']);
    const resource = usesResource
      ? pick([`resource == ?resource`, `resource in ?resource`, `resource is Doc in ?resource`])
      : scope(world, 'resource', world.docs, ['Doc', 'Folder']);
    let text = `${chance(0.7) ? 'permit' : 'forbid'} (${principal}, action, ${resource})`;
    if (chance(0.5)) text += ` when { ${gen(world, 'bool', 0)} }`;
    templates[id] = text + ';';
    for (let l = 1 + int(2); l > 0; l--) {
      const values = {};
      if (usesPrincipal) values['?principal'] = pick([...world.users, ...world.groups]);
      if (usesResource) values['?resource'] = pick([...world.docs, ...world.folders]);
      links.push({ templateId: id, newId: `L${t}_${l}`, values });
    }
  }
  return { templates, links };
}

function makeContext() {
  const fields = {
    n: Number(pick(LONGS.filter((v) => typeof v === 'number'))),
    s: pick(STRINGS),
    flag: chance(0.5),
    list: [1, 2, 42].filter(() => chance(0.5)),
    dec: { __extn: { fn: 'decimal', arg: pick(DECIMALS) } },
    addr: { __extn: { fn: 'ip', arg: pick(IPS) } },
    rec: { a: int(3) },
    when: { __extn: { fn: 'datetime', arg: pick(DATETIMES.filter((d) => !['2023-02-29', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00.1Z'].includes(d))) } },
    wait: { __extn: { fn: 'duration', arg: pick(DURATIONS.filter((d) => !['1h1d', ''].includes(d))) } },
  };
  return Object.fromEntries(Object.entries(fields).filter(() => chance(0.8)));
}

const work = mkdtempSync(join(tmpdir(), 'bulwark-cedar-diff-'));
const files = [];
let requests = 0;
let skipped = 0;
let refusedTexts = 0;
const tally = { allow: 0, deny: 0, withErrors: 0, withReasons: 0, byLinks: 0 };
try {
  for (let f = 0; f < FILES; f++) {
    const world = makeWorld();
    const policies = makePolicies(world);
    const { templates, links } = chance(0.5) ? makeTemplates(world) : { templates: {}, links: [] };
    const policySet = { staticPolicies: policies, templates, templateLinks: links };
    // In the policy file, the templates follow the static policies with
    // their ids as annotations, so the static policies keep their numbers.
    const policyFile = [policies, ...Object.entries(templates).map(([id, text]) => `@id(${quote(id)})\n${text}`)].join('\n');
    if (cedar.checkParsePolicySet({ staticPolicies: policies }).type !== 'success') {
      // Bulwark must refuse the same text.
      const file = join(work, `refused_${f}.cedar`);
      writeFileSync(file, policies);
      try {
        execFileSync(bulwark, ['authorize', '--policies', file, '--principal', 'User::"a"',
          '--action', 'Action::"read"', '--resource', 'Doc::"d1"'], { stdio: 'pipe' });
        console.log(`bulwark accepted policies the official engine refuses:\n${policies}`);
        process.exitCode = 1;
      } catch (e) {
        if (e.status !== 2) {
          console.log(`bulwark did not refuse (exit ${e.status}):\n${policies}`);
          process.exitCode = 1;
        }
      }
      refusedTexts++;
      continue;
    }
    const cases = [];
    for (let r = 0; r < REQUESTS_PER_FILE; r++) {
      const principal = pick([...world.users, { type: 'User', id: 'ghost' }]);
      const action = pick(world.actions);
      const resource = pick([...world.docs, ...world.folders, { type: 'Doc', id: 'ghost' }]);
      const context = makeContext();
      const answer = cedar.isAuthorized({
        principal, action, resource, context, policies: policySet,
        entities: world.entities,
      });
      if (answer.type !== 'success') {
        skipped++;
        if (skipped < 4) console.error(`the official engine refused a case: ${JSON.stringify(answer.errors)}\n${policies}`);
        continue;
      }
      tally[answer.response.decision]++;
      if (answer.response.diagnostics.errors.length) tally.withErrors++;
      if (answer.response.diagnostics.reason.length) tally.withReasons++;
      if (answer.response.diagnostics.reason.some((id) => id.startsWith('L'))) tally.byLinks++;
      cases.push({
        description: `file ${f} request ${r}`, principal, action, resource, context,
        decision: answer.response.decision,
        reason: answer.response.diagnostics.reason,
        errors: answer.response.diagnostics.errors.map((e) => e.policyId),
      });
    }
    writeFileSync(join(work, `policies_${f}.cedar`), policyFile);
    writeFileSync(join(work, `entities_${f}.json`), JSON.stringify(world.entities));
    writeFileSync(join(work, `test_${f}.json`), JSON.stringify({
      policies: `policies_${f}.cedar`, entities: `entities_${f}.json`, schema: '',
      shouldValidate: false, templateLinks: links, requests: cases,
    }));
    files.push(join(work, `test_${f}.json`));
    requests += cases.length;
  }
  let output;
  let failed = false;
  try {
    output = execFileSync(bulwark, ['policy', 'test', '--root', work, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    output = e.stdout;
    failed = true;
  }
  const last = output.trim().split('\n').pop();
  console.log(`seed ${seedArg}: ${requests} requests compared with cedar-wasm ${cedar.getCedarVersion()}, ${skipped} refused by it (${JSON.stringify(tally)}), ${refusedTexts} policy sets both refuse to parse; bulwark: ${last}`);
  if (failed || last !== `${requests} passed, 0 failed`) {
    console.log(output.split('\n').slice(0, 60).join('\n'));
    process.exitCode = 1;
  }
  if (skipped > requests / 10) {
    console.log('too many cases refused by the official engine: the generator is off');
    process.exitCode = 1;
  }
} finally {
  if (process.exitCode) {
    console.log(`cases kept in ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}
