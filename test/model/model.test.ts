/**
 * Model-based tests: random sequences of operations run against the server
 * over HTTP (a cookie-jar client per browser, the injected clock moved between
 * steps) and against the reference model in model.ts; every response (data,
 * or error code and the argument its message names, and what Set-Cookie does)
 * and the whole session state after every step must agree.
 *
 *   npm test                                  200 sequences of up to 25 steps
 *   SESSIONQL_MODEL_RUNS=5000 npx vitest run test/model    a long run
 *   SESSIONQL_MODEL_SEED=… SESSIONQL_MODEL_PATH=…          replay a failure (fast-check prints both)
 *   SESSIONQL_MODEL_STATS=1                   print what was exercised (outcomes per mutation, time per step kind)
 *
 * Two sessions' worth of clients: client 1 may replay any cookie a client was
 * given (old keys must be dead), and either may forge or drop its cookie.
 *
 * Strings include U+0000, lone surrogates and their escaped look-alikes
 * (the text `\u0000`), and JSON values nest up to 1001 levels. Numbers are any finite JS double (huge, tiny, -0): a
 * JSON variable is a JS double once the server has parsed it (so a number
 * beyond a double's range cannot be sent, and precision beyond a double's is
 * lost on the way; neither is tested), and the size limit counts it as
 * JSON.stringify prints it, on every engine.
 */

import fc from 'fast-check';
import { describe, it } from 'vitest';
import { setup } from '../helpers/app.js';
import { type CookieClient, type GraphQLResponse, requestErrorStatus } from '../helpers/client.js';
import type { TestClock } from '../helpers/clock.js';
import {
  type ClientCookie,
  type CookieAction,
  type ExpectedError,
  type FilterInput,
  type Json,
  jsonEqual,
  type ModelConfig,
  type ModelOp,
  type PreferencesInput,
  SessionModel,
  type SessionView,
  THEMES,
  wire,
} from './model.js';

const RUNS = Number(process.env.SESSIONQL_MODEL_RUNS || 200);
const SEED = process.env.SESSIONQL_MODEL_SEED ? Number(process.env.SESSIONQL_MODEL_SEED) : undefined;
const PATH = process.env.SESSIONQL_MODEL_PATH || undefined;

/**
 * Room for fillCart's up to 105 aliased mutations in one request, and no
 * statement timeout to trip on a busy machine (timeouts are tested elsewhere).
 */
const LIMITS_ENV = {
  GRAPHQL_MAX_ROOT_FIELDS: '120',
  GRAPHQL_MAX_ALIASES: '120',
  GRAPHQL_MAX_TOKENS: '5000',
  DATABASE_TIMEOUT_MS: '600000',
};

/** Two configurations, so that both expiry defaults and two size limits are exercised. */
const CONFIGS: { env: Record<string, string>; model: ModelConfig }[] = [
  {
    env: { ...LIMITS_ENV, SESSION_MAX_BYTES: '2048', SESSION_COOKIE_AGE: '600' },
    model: { maxBytes: 2048, ageSeconds: 600, expireAtBrowserClose: false },
  },
  {
    env: { ...LIMITS_ENV, SESSION_MAX_BYTES: '4096', SESSION_COOKIE_AGE: '3600', SESSION_EXPIRE_AT_BROWSER_CLOSE: 'true' },
    model: { maxBytes: 4096, ageSeconds: 3600, expireAtBrowserClose: true },
  },
];

// ---------------------------------------------------------------------------
// Steps: what the generators produce (plain data, so a shrunk failure prints readably).

/** setSessionExpiry(at:), relative to the clock when the step runs, or a raw string. */
type AtSpec = { rel: number; offset: boolean } | { raw: string };

type OpSpec =
  | Exclude<ModelOp, { op: 'setSessionExpiry' }>
  | { op: 'setSessionExpiry'; seconds?: number | null; at?: AtSpec | null; browserClose?: boolean | null }
  /** `count` aliased addToCart(sku: "f<n>") in one request, to reach the 100-line limit. */
  | { op: 'fillCart'; from: number; count: number };

type Step =
  | { step: 'mutate'; client: number; ops: OpSpec[] }
  | { step: 'read'; client: number; probes: string[] }
  | { step: 'advance'; ms: number }
  | { step: 'advanceToExpiry'; client: number; offsetMs: number }
  /** Client 1 sends a cookie client 0 or 1 was given earlier (an old, replayed cookie). */
  | { step: 'replay'; index: number }
  | { step: 'forge'; client: number; how: 'signature' | 'garbage' | 'unsigned' }
  | { step: 'drop'; client: number };

// ---------------------------------------------------------------------------
// Generators.

const HOSTILE = [
  '',
  ' ',
  'a',
  'A',
  "'",
  '"',
  '\\',
  '\\"',
  "''",
  '{a,b}',
  '{cart}',
  '$.x[0]',
  '$',
  '@',
  '--',
  '/*',
  '%',
  '_',
  '_x',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'cart',
  'preferences',
  'Cart',
  'cart ',
  ' preferences',
  "x'; DROP TABLE sessionql_session; --",
  "' OR '1'='1",
  '\n',
  '\r\n',
  '\t',
  '\b\f',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u2028\u2029',
  'é',
  'e\u0301',
  'e\u0301\u0302\u0303',
  '😀',
  '👩‍👩‍👧',
  '🇫🇷',
  '\u{10FFFF}',
  '\u{1D11E}',
  '\uFFFF',
  '\uFEFF',
  '\uFFFD',
  '\uE000',
  '日本語',
  'עברית',
  '{}',
  '[]',
  'null',
  'true',
  '0',
  '1',
  '-1',
  '1e3',
  '.',
  '*',
  '?',
  '#',
  '/',
  '..',
  'a.b',
  'a[0]',
  '{"a":1}',
  'a-b',
  'a b',
  // what PostgreSQL cannot store, and text that only looks like it
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00',
  '\uDBFF\uDBFF',
  '\uDE00\uD83D',
  '\\u0000',
  '\\ud800',
  '\\uD83D\\uDE00',
  '\\\\u0000',
];

const string = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.5,
  -0.25,
  0.30000000000000004,
  1.5e-7,
  1e-7,
  -1e-7,
  0.000001,
  1e21,
  -1e21,
  1.2e21,
  123456789012345680000,
  1e300,
  1e-300,
  5e-324,
  -5e-324,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53,
  2 ** 64,
  2 ** 31,
  -(2 ** 31) - 1,
];

const number = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100) },
);

const leaf: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), number, string);

/** An object with own keys only (`__proto__` included), as JSON.parse makes them. */
const object = (entries: fc.Arbitrary<[string, Json][]>) => entries.map((e) => Object.fromEntries(e) as Json);

const { json } = fc.letrec<{ json: Json; array: Json[]; object: Json }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 5 }),
  object: object(fc.array(fc.tuple(string, tie('json')), { maxLength: 5 })),
}));

/** Deep nesting: arrays, or objects under hostile keys. */
const deep = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constantFrom(999, 1000, 1001)),
    leaf,
    fc.constantFrom<string | null>(null, 'a', '__proto__', '$.x[0]', "'"),
  )
  .map(([depth, inner, key]) => {
    let v: Json = inner;
    for (let i = 0; i < depth; i++) v = key === null ? [v] : (Object.fromEntries([[key, v]]) as Json);
    return v;
  });

/** Around the size limits (2048 and 4096 bytes). */
const big = fc.oneof(
  fc.integer({ min: 300, max: 4200 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 1100 }).map((n) => '😀'.repeat(n)),
  fc.integer({ min: 100, max: 1500 }).map((n) => '"'.repeat(n)),
  fc.integer({ min: 50, max: 700 }).map((n) => '\u0001'.repeat(n)),
  fc.integer({ min: 1, max: 14 }).map((n) => Array.from({ length: n }, () => Number.MAX_VALUE)),
  fc.integer({ min: 1, max: 14 }).map((n) => Array.from({ length: n }, () => 5e-324)),
  fc.integer({ min: 10, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => i)),
);

const value: fc.Arbitrary<Json> = fc.oneof({ weight: 6, arbitrary: json }, { weight: 1, arbitrary: deep }, { weight: 2, arbitrary: big });

const LONG_KEYS = [
  'k'.repeat(256),
  'k'.repeat(257),
  '😀'.repeat(256),
  '😀'.repeat(257),
  'e\u0301'.repeat(128),
  'e\u0301'.repeat(129),
  'é'.repeat(256),
  '_'.repeat(256),
];
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c', 'k', 'cart', 'preferences', 'toString', '__proto__') },
  { weight: 4, arbitrary: string },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_KEYS) },
);

const sku = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('A', 'B', 'C', 'book', 'sku-1') },
  { weight: 3, arbitrary: string },
  { weight: 1, arbitrary: fc.constantFrom('s'.repeat(64), 's'.repeat(65), '😀'.repeat(64), '😀'.repeat(65), 'f7') },
);

const label = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: string },
  { weight: 1, arbitrary: fc.constantFrom('l'.repeat(200), 'l'.repeat(201), '😀'.repeat(200), '😀'.repeat(201)) },
);

/** Ints the schema refuses (400, nothing runs). */
const NOT_INT = [2 ** 31, -(2 ** 31) - 1, 1.5];

const addQuantity = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 5 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, -1, 400, 500, 500, 998, 999, 999, 1000, 2 ** 31 - 1, -(2 ** 31)) },
  { weight: 1, arbitrary: fc.constantFrom(...NOT_INT) },
);
const setQuantity = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom(-1, 998, 999, 1000, 2 ** 31 - 1) },
  { weight: 1, arbitrary: fc.constantFrom(...NOT_INT) },
);

/** Well-formed tags in any case, with their canonical forms known to the model's grammar. */
const languageTag = fc
  .tuple(
    fc.constantFrom('en', 'fr', 'de', 'pt', 'zh', 'ja', 'es', 'ar', 'sr', 'yue', 'haw'),
    fc.option(fc.constantFrom('Latn', 'Cyrl', 'Hant', 'Hans', 'Arab'), { nil: undefined }),
    fc.option(fc.constantFrom('US', 'GB', 'BR', 'TW', 'CN', 'DE', '419', '001'), { nil: undefined }),
    fc.option(fc.constantFrom('1996', 'u-ca-gregory'), { nil: undefined }),
    fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
  )
  .map(([lang, script, region, tail, upper]) =>
    [lang, script, region, tail]
      .filter((p) => p !== undefined)
      .join('-')
      .split('')
      .map((ch, i) => (upper[i % 24] ? ch.toUpperCase() : ch.toLowerCase()))
      .join(''),
  );
const BAD_LANGUAGES = [
  '',
  'e',
  'en_US',
  'en--US',
  '-en',
  'en-',
  'en-US-',
  'toolongsubtag9',
  '123',
  'en US',
  "en'; --",
  'en-a',
  'é',
  'a'.repeat(65),
];
const language = fc.oneof(languageTag, fc.constantFrom(...BAD_LANGUAGES), string);

const filterField = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('color', 'size', 'brand') },
  { weight: 2, arbitrary: string },
  { weight: 1, arbitrary: fc.constantFrom('', 'f'.repeat(64), 'f'.repeat(65), '😀'.repeat(64), '😀'.repeat(65)) },
);
const filter: fc.Arbitrary<FilterInput> = fc.record({
  field: filterField,
  values: fc.oneof(
    { weight: 5, arbitrary: fc.array(string, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 49, max: 52 }).map((n) => Array.from({ length: n }, (_, i) => `v${i}`)) },
  ),
});
const filters = fc.oneof(
  { weight: 5, arbitrary: fc.array(filter, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 19, max: 22 }).map((n) => Array.from({ length: n }, (_, i) => ({ field: `f${i}`, values: ['x'] }))),
  },
);
const maybe = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: a });
const preferencesInput: fc.Arbitrary<PreferencesInput> = fc
  .record({
    theme: maybe(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...THEMES) }, { weight: 1, arbitrary: fc.constant('PINK') })),
    language: maybe(language),
    pageSize: maybe(fc.oneof(fc.integer({ min: -2, max: 102 }), fc.constantFrom(1, 20, 100, ...NOT_INT))),
    filters: maybe(filters),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as PreferencesInput);

const at: fc.Arbitrary<AtSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ rel: fc.integer({ min: 1, max: 4_000_000 }), offset: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ rel: fc.constantFrom(0, -1, -1000, 1000, 3_600_000, 31_536_000_000), offset: fc.boolean() }) },
  // expiryAge is an Int: a deadline up to 2^31 - 1 seconds away, and just beyond (refused)
  {
    weight: 1,
    arbitrary: fc.record({
      rel: fc.constantFrom(2_147_483_647_000, 2_147_483_646_500, 2_147_483_647_001, 2_147_483_648_000, 3_155_760_000_000),
      offset: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('yesterday', '', '2026-11-26', '2026-11-26T10:00:00', '2026-13-01T00:00:00Z', 'T10:00:00Z', '2026-11-26 10:00:00Z')
      .map((raw) => ({ raw })),
  },
);
const seconds = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 1200 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 2 ** 31 - 1, 31_536_000) },
  { weight: 1, arbitrary: fc.constantFrom(...NOT_INT) },
);
const expiryArgs = fc.oneof(
  { weight: 2, arbitrary: fc.constant({}) },
  { weight: 3, arbitrary: seconds.map((s) => ({ seconds: s })) },
  { weight: 3, arbitrary: at.map((a) => ({ at: a })) },
  { weight: 2, arbitrary: fc.boolean().map((b) => ({ browserClose: b })) },
  {
    weight: 2,
    arbitrary: fc.record({ seconds: fc.option(seconds), at: fc.option(at), browserClose: fc.option(fc.boolean()) }, { requiredKeys: [] }),
  },
);

const op: fc.Arbitrary<OpSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('setSessionValue' as const), key, value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setSessionValue' as const), key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('removeSessionValue' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clearSession' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flushSession' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'cycleSessionKey' as const }) },
  { weight: 3, arbitrary: expiryArgs.map((a) => ({ op: 'setSessionExpiry' as const, ...a })) },
  {
    weight: 6,
    arbitrary: fc
      .record({ sku, quantity: addQuantity, label })
      .map((a) => ({ op: 'addToCart' as const, ...Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) }) as OpSpec),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('setCartItemQuantity' as const), sku, quantity: setQuantity }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('removeFromCart' as const), sku }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clearCart' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('updatePreferences' as const), input: preferencesInput }) },
  { weight: 1, arbitrary: fc.constant({ op: 'resetPreferences' as const }) },
);

const client = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });

/** Lines for fillCart: mostly a few, sometimes enough to reach the 100-line limit. */
const fill = fc
  .tuple(
    fc.integer({ min: 0, max: 60 }),
    fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 10 }) }, { weight: 1, arbitrary: fc.integer({ min: 95, max: 105 }) }),
  )
  .map(([from, count]) => [{ op: 'fillCart' as const, from, count }]);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 56, arbitrary: fc.record({ step: fc.constant('mutate' as const), client, ops: op.map((o) => [o]) }) },
  { weight: 12, arbitrary: fc.record({ step: fc.constant('mutate' as const), client, ops: fc.array(op, { minLength: 2, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('mutate' as const), client: fc.constant(0), ops: fill }) },
  { weight: 8, arbitrary: fc.record({ step: fc.constant('read' as const), client, probes: fc.array(key, { maxLength: 3 }) }) },
  {
    weight: 12,
    arbitrary: fc.record({
      step: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 400 }).map((n) => n * 125),
        fc.integer({ min: 1, max: 4000 }).map((n) => n * 1000),
      ),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      step: fc.constant('advanceToExpiry' as const),
      client,
      offsetMs: fc.constantFrom(-1000, -1, 0, 1, 999, 1000),
    }),
  },
  { weight: 4, arbitrary: fc.record({ step: fc.constant('replay' as const), index: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      step: fc.constant('forge' as const),
      client,
      how: fc.constantFrom('signature' as const, 'garbage' as const, 'unsigned' as const),
    }),
  },
  { weight: 4, arbitrary: fc.record({ step: fc.constant('drop' as const), client }) },
);

// ---------------------------------------------------------------------------
// GraphQL documents.

const CART = 'items { sku label quantity } totalQuantity isEmpty';
const PREFS = 'theme language pageSize filters { field values }';
const SESSION = `exists isEmpty keys items { key value } expiresAt expiryAge expireAtBrowserClose cart { ${CART} } preferences { ${PREFS} }`;

type Selection = 'session' | 'cart' | 'preferences' | 'total';
const SELECTIONS: Record<Selection, string> = { session: SESSION, cart: CART, preferences: PREFS, total: 'totalQuantity' };

function project(view: SessionView, selection: Selection): unknown {
  if (selection === 'session') return view;
  if (selection === 'cart') return view.cart;
  if (selection === 'preferences') return view.preferences;
  return { totalQuantity: view.cart.totalQuantity };
}

interface Field {
  alias: string;
  text: string;
  selection: Selection;
  /** variable name → [GraphQL type, value] */
  variables: Record<string, [string, unknown]>;
  /** argument → variable, for the 400s of variable coercion */
  argumentVariables: Record<string, string>;
}

function field(op: ModelOp, i: number, selection: Selection | null): Field {
  const variables: Record<string, [string, unknown]> = {};
  const argumentVariables: Record<string, string> = {};
  const args: string[] = [];
  const arg = (name: string, variable: string, type: string, v: unknown) => {
    if (v === undefined) return;
    variables[`${variable}${i}`] = [type, v];
    argumentVariables[name] = `${variable}${i}`;
    args.push(`${name}: $${variable}${i}`);
  };
  let sel: Selection = 'session';
  switch (op.op) {
    case 'setSessionValue':
      arg('key', 'k', 'String!', op.key);
      arg('value', 'v', 'JSON', op.value);
      break;
    case 'removeSessionValue':
      arg('key', 'k', 'String!', op.key);
      break;
    case 'setSessionExpiry':
      arg('seconds', 's', 'Int', op.seconds);
      arg('at', 'a', 'DateTime', op.at);
      arg('browserClose', 'b', 'Boolean', op.browserClose);
      break;
    case 'addToCart':
      arg('sku', 'sku', 'String!', op.sku);
      arg('quantity', 'q', 'Int!', op.quantity);
      arg('label', 'l', 'String', op.label);
      sel = 'cart';
      break;
    case 'setCartItemQuantity':
      arg('sku', 'sku', 'String!', op.sku);
      arg('quantity', 'q', 'Int!', op.quantity);
      sel = 'cart';
      break;
    case 'removeFromCart':
      arg('sku', 'sku', 'String!', op.sku);
      sel = 'cart';
      break;
    case 'clearCart':
      sel = 'cart';
      break;
    case 'updatePreferences':
      arg('input', 'i', 'PreferencesInput!', op.input);
      sel = 'preferences';
      break;
    case 'resetPreferences':
      sel = 'preferences';
      break;
  }
  const selected = selection ?? sel;
  const alias = `r${i}`;
  const text = `${alias}: ${op.op}${args.length ? `(${args.join(', ')})` : ''} { ${SELECTIONS[selected]} }`;
  return { alias, text, selection: selected, variables, argumentVariables };
}

function document(kind: 'mutation' | 'query', fields: string[], variables: Record<string, [string, unknown]>) {
  const defs = Object.entries(variables).map(([name, [type]]) => `$${name}: ${type}`);
  return {
    query: `${kind}${defs.length ? `(${defs.join(', ')})` : ''} { ${fields.join(' ')} }`,
    variables: Object.fromEntries(Object.entries(variables).map(([name, [, v]]) => [name, v])),
  };
}

/** The ModelOps a generated op stands for at `now`. */
function resolve(spec: OpSpec, now: number): { op: ModelOp; selection: Selection | null }[] {
  if (spec.op === 'fillCart') {
    return Array.from({ length: spec.count }, (_, i) => ({
      op: { op: 'addToCart' as const, sku: `f${spec.from + i}` },
      selection: 'total' as const,
    }));
  }
  if (spec.op === 'setSessionExpiry') {
    const { at: a, ...rest } = spec;
    let atString: string | null | undefined = a === null ? null : undefined;
    if (a && 'raw' in a) atString = a.raw;
    else if (a)
      atString = a.offset ? new Date(now + a.rel + 7_200_000).toISOString().replace('Z', '+02:00') : new Date(now + a.rel).toISOString();
    const op: ModelOp = { ...rest, op: 'setSessionExpiry' };
    if (atString !== undefined) op.at = atString;
    return [{ op, selection: null }];
  }
  if (spec.op === 'setSessionValue' && 'value' in spec) return [{ op: { ...spec, value: wire(spec.value) }, selection: null }];
  return [{ op: spec, selection: null }];
}

// ---------------------------------------------------------------------------
// Running a sequence.

class Mismatch extends Error {
  override name = 'Mismatch';
}

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s.length > 1500 ? `${s.slice(0, 1500)}…(${s.length} chars)` : s;
};

function check(condition: boolean, what: string, expected: unknown, actual: unknown): void {
  if (!condition) throw new Mismatch(`${what}\n  model:  ${show(expected)}\n  server: ${show(actual)}`);
}

type ServerError = NonNullable<GraphQLResponse['body']['errors']>[number];

/** The error matches one the model accepts: its code, and for BAD_USER_INPUT the argument(s) its message names. */
function errorMatches(actual: ServerError, expected: ExpectedError): boolean {
  if (actual.extensions?.code !== expected.code) return false;
  if (expected.code !== 'BAD_USER_INPUT') return true;
  const colon = actual.message.indexOf(':');
  if (colon < 0) return false;
  const named = actual.message.slice(0, colon).split(/,\s*/).sort().join(', ');
  return named === expected.argument.split(', ').sort().join(', ');
}

type SetCookie = { kind: 'none' } | { kind: 'clear' } | { kind: 'set'; value: string; maxAge: number | null; expires: boolean };

function parseSetCookie(response: GraphQLResponse): SetCookie {
  const lines = response.headers.getSetCookie();
  if (lines.length === 0) return { kind: 'none' };
  if (lines.length > 1) throw new Mismatch(`more than one Set-Cookie: ${show(lines)}`);
  const [pair = '', ...attrs] = lines[0]!.split(';').map((s) => s.trim());
  const value = pair.slice(pair.indexOf('=') + 1);
  const maxAge = attrs.find((a) => /^max-age=/i.test(a));
  const expires = attrs.some((a) => /^expires=/i.test(a));
  if (value === '' && maxAge !== undefined && Number(maxAge.split('=')[1]) <= 0) return { kind: 'clear' };
  return { kind: 'set', value, maxAge: maxAge === undefined ? null : Number(maxAge.split('=')[1]), expires };
}

/** What the runs exercised (printed at the end, so a vacuous property shows). */
const stats = new Map<string, number>();
const timing = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);

interface Run {
  model: SessionModel;
  clock: TestClock;
  clients: CookieClient[];
  /** The cookie value the server gave for each key id the model issued. */
  values: Map<number, string>;
  seen: Set<string>;
  /** Key ids whose cookie reached a client, in order (for replays). */
  history: number[];
  /** What a client's jar holds after a forge step. */
  forged: Map<number, string>;
}

function checkCookieAction(run: Run, expected: CookieAction, response: GraphQLResponse, where: string): void {
  const got = parseSetCookie(response);
  check(got.kind === expected.kind, `${where}: Set-Cookie`, expected, got);
  if (expected.kind !== 'set' || got.kind !== 'set') return;
  check(got.maxAge === expected.maxAge, `${where}: cookie Max-Age`, expected, got);
  check(got.expires === (expected.maxAge !== null), `${where}: cookie Expires present with Max-Age`, expected, got);
  if (expected.fresh) {
    check(!run.seen.has(got.value), `${where}: a new session key (never sent before)`, expected, got);
    run.values.set(expected.id, got.value);
    run.seen.add(got.value);
    run.history.push(expected.id);
  } else {
    check(got.value === run.values.get(expected.id), `${where}: the same session key`, run.values.get(expected.id), got.value);
  }
}

function checkJar(run: Run, c: number, where: string): void {
  const cookie: ClientCookie = run.model.cookieOf(c);
  const held = run.clients[c]!.sessionCookie;
  const want = cookie === null ? undefined : cookie.kind === 'forged' ? run.forged.get(c) : run.values.get(cookie.id);
  check(held === want, `${where}: client ${c}'s cookie`, cookie, held);
}

function checkSessionHeaders(response: GraphQLResponse, where: string): void {
  const vary = response.headers.get('vary') ?? '';
  const cache = response.headers.get('cache-control');
  check(/\bcookie\b/i.test(vary) && cache === 'private, no-store', `${where}: Vary / Cache-Control`, 'Cookie / private, no-store', [
    vary,
    cache,
  ]);
}

/** Reads the whole state (and `probes` through value/has, and the shortcuts) and compares it with the model. */
async function readAndCompare(run: Run, c: number, probes: string[], where: string): Promise<void> {
  const vars: Record<string, [string, unknown]> = {};
  const extra = probes.map((p, i) => {
    vars[`p${i}`] = ['String!', p];
    return `v${i}: value(key: $p${i}) h${i}: has(key: $p${i})`;
  });
  const { query, variables } = document(
    'query',
    [`session { ${SESSION} ${extra.join(' ')} }`, `cart { ${CART} }`, `preferences { ${PREFS} }`],
    vars,
  );
  const r = await run.clients[c]!.gql(query, variables);
  const view = run.model.read(c, run.clock.now());
  count(view.exists ? 'read: stored' : 'read: not stored');
  check(r.status === 200 && !r.body.errors, `${where}: read`, 'data', r.body);
  checkSessionHeaders(r, where);
  check(parseSetCookie(r).kind === 'none', `${where}: a read sets no cookie`, 'none', r.headers.getSetCookie());
  const data = r.body.data!;
  const { session } = data;
  const expected: Record<string, unknown> = { ...view };
  probes.forEach((p, i) => {
    const item = view.items.find((it) => it.key === p);
    expected[`v${i}`] = item ? item.value : null;
    expected[`h${i}`] = item !== undefined;
  });
  for (const name of Object.keys(expected)) {
    check(jsonEqual(expected[name], session[name]), `${where}: session.${name}`, expected[name], session[name]);
  }
  check(
    Object.keys(session).length === Object.keys(expected).length,
    `${where}: session fields`,
    Object.keys(expected),
    Object.keys(session),
  );
  check(jsonEqual(view.cart, data.cart), `${where}: cart`, view.cart, data.cart);
  check(jsonEqual(view.preferences, data.preferences), `${where}: preferences`, view.preferences, data.preferences);
  checkJar(run, c, where);
}

async function mutate(run: Run, c: number, specs: OpSpec[], where: string): Promise<void> {
  const now = run.clock.now();
  const resolved = specs.flatMap((s) => resolve(s, now));
  const fields = resolved.map(({ op, selection }, i) => field(op, i, selection));
  const { query, variables } = document(
    'mutation',
    fields.map((f) => f.text),
    Object.assign({}, ...fields.map((f) => f.variables)),
  );
  const r = await run.clients[c]!.gql(query, variables);

  const refused = resolved.flatMap(({ op }, i) => SessionModel.coercionErrors(op).map((a) => fields[i]!.argumentVariables[a]!));
  if (refused.length) {
    // Variable coercion fails: a request error naming a variable (400, or 200
    // for an application/json client: GraphQL over HTTP), nothing runs, no cookie.
    const status = requestErrorStatus(run.clients[c]!.accept);
    count(`${status} (variable coercion)`);
    const message = r.body.errors?.[0]?.message ?? '';
    check(
      r.status === status && !r.body.data && refused.some((v) => message.includes(`"$${v}"`)),
      `${where}: ${status} for variable(s) ${refused.join(', ')}`,
      refused,
      { status: r.status, body: r.body },
    );
    check(parseSetCookie(r).kind === 'none', `${where}: no cookie on a request error`, 'none', r.headers.getSetCookie());
    return;
  }

  const outcome = run.model.request(
    c,
    now,
    resolved.map((x) => x.op),
  );
  check(r.status === 200, `${where}: status`, 200, { status: r.status, body: r.body });
  outcome.results.forEach((result, i) => {
    const name = resolved[i]!.op.op;
    count(
      result.ok
        ? `${name} ok`
        : `${name} ${result.errors.map((e) => (e.code === 'BAD_USER_INPUT' ? e.argument + (e.rule ? ` (${e.rule})` : '') : e.code)).join('|')}`,
    );
  });
  count(`cookie ${outcome.cookie.kind}${outcome.cookie.kind === 'set' && outcome.cookie.fresh ? ' (new key)' : ''}`);
  const last = outcome.results[outcome.results.length - 1];
  if (last && !last.ok) {
    const alias = fields[outcome.results.length - 1]!.alias;
    const errors = r.body.errors ?? [];
    check(
      r.body.data === null && errors.length === 1 && errors[0]!.path?.[0] === alias && last.errors.some((e) => errorMatches(errors[0]!, e)),
      `${where}: ${alias} fails (execution stops there)`,
      last.errors,
      r.body,
    );
  } else {
    check(!r.body.errors && !!r.body.data, `${where}: success`, 'data', r.body);
    checkSessionHeaders(r, where);
    outcome.results.forEach((result, i) => {
      const f = fields[i]!;
      const expected = result.ok ? project(result.view, f.selection) : null;
      check(jsonEqual(expected, r.body.data![f.alias]), `${where}: ${f.alias} (${resolved[i]!.op.op})`, expected, r.body.data![f.alias]);
    });
  }
  checkCookieAction(run, outcome.cookie, r, where);
}

/** Advances the test clock by exactly `ms` (TestClock takes seconds). */
function advance(clock: TestClock, ms: number): void {
  const target = clock.now() + ms;
  clock.advance(ms / 1000);
  if (clock.now() !== target) clock.advance((target - clock.now()) / 1000);
  if (clock.now() !== target) throw new Error(`clock not exact: ${clock.now()} vs ${target}`);
}

function forgeCookie(run: Run, c: number, how: 'signature' | 'garbage' | 'unsigned'): string {
  const held = run.clients[c]!.sessionCookie ?? [...run.values.values()][0] ?? `${'k'.repeat(43)}.${'s'.repeat(43)}`;
  const dot = held.indexOf('.');
  const key = dot < 0 ? held : held.slice(0, dot);
  if (how === 'garbage') return 'not-a-session-cookie';
  if (how === 'unsigned') return key;
  // Every character of the signature but the last (which keeps the base64url
  // canonical, so the server gets as far as the HMAC comparison) changes:
  // forging a forged cookie again must not give back the genuine signature,
  // as flipping only the first character did after two forges in a row.
  const sig = held.slice(dot + 1);
  const flipped = [...sig.slice(0, -1)].map((ch) => (ch === 'A' ? 'B' : 'A')).join('');
  return `${key}.${flipped}${sig.slice(-1)}`;
}

async function runSteps(app: Awaited<ReturnType<typeof setup>>, config: ModelConfig, steps: Step[]): Promise<void> {
  const run: Run = {
    model: new SessionModel(config),
    clock: app.clock,
    clients: [app.client(), app.client()],
    values: new Map(),
    seen: new Set(),
    history: [],
    forged: new Map(),
  };
  for (const [i, s] of steps.entries()) {
    const where = `step ${i} (${s.step})`;
    const t0 = performance.now();
    let reader = 0;
    let probes: string[] = [];
    switch (s.step) {
      case 'mutate':
        await mutate(run, s.client, s.ops, where);
        reader = s.client;
        break;
      case 'read':
        reader = s.client;
        probes = s.probes;
        break;
      case 'advance':
        advance(run.clock, s.ms);
        break;
      case 'advanceToExpiry': {
        const expiresAt = run.model.read(s.client, run.clock.now()).expiresAt;
        const target = expiresAt === null ? 0 : Date.parse(expiresAt) + s.offsetMs;
        advance(run.clock, target > run.clock.now() ? target - run.clock.now() : 1000);
        reader = s.client;
        break;
      }
      case 'replay': {
        reader = 1;
        if (run.history.length === 0) break;
        const id = run.history[s.index % run.history.length]!;
        run.clients[1]!.jar.set('sessionid', run.values.get(id)!);
        run.model.setCookie(1, { kind: 'key', id });
        break;
      }
      case 'forge': {
        const forged = forgeCookie(run, s.client, s.how);
        run.clients[s.client]!.jar.set('sessionid', forged);
        run.forged.set(s.client, forged);
        run.model.setCookie(s.client, { kind: 'forged' });
        reader = s.client;
        break;
      }
      case 'drop':
        run.clients[s.client]!.jar.delete('sessionid');
        run.model.setCookie(s.client, null);
        reader = s.client;
        break;
    }
    await readAndCompare(run, reader, probes, where);
    const kind = s.step === 'mutate' ? (s.ops[0]!.op === 'fillCart' ? 'fill' : `mutate${s.ops.length}`) : s.step;
    timing.set(kind, (timing.get(kind) ?? 0) + performance.now() - t0);
  }
}

describe('the server agrees with the reference model (fast-check)', async () => {
  const apps = await Promise.all(CONFIGS.map((c) => setup(c.env)));

  it(
    `random operation sequences (${RUNS} runs)`,
    async () => {
      const started = Date.now();
      let steps = 0;
      await fc.assert(
        fc.asyncProperty(fc.nat(CONFIGS.length - 1), fc.array(step, { maxLength: 25, size: 'medium' }), async (which, sequence) => {
          steps += sequence.length;
          await runSteps(apps[which]!, CONFIGS[which]!.model, sequence);
        }),
        { numRuns: RUNS, seed: SEED, path: PATH },
      );
      console.log(`model: ${RUNS} runs, ${steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (process.env.SESSIONQL_MODEL_STATS) {
        for (const [what, n] of [...stats].sort()) console.log(`${String(n).padStart(6)}  ${what}`);
        for (const [what, ms] of timing) console.log(`${Math.round(ms).toString().padStart(6)} ms  ${what}`);
      }
    },
    Math.max(120_000, RUNS * 2_000),
  );
});
