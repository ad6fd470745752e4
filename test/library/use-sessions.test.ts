import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { SessionStore } from '../../src/engines/postgres/store.js';
import { cart, openDbEngine, type Session } from '../../src/index.js';
import { createFastHandler, type SessionsPlugin, useSessions } from '../../src/yoga.js';
import { CookieClient } from '../helpers/client.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';
import { ownPostgres, postgresBinariesPresent } from '../helpers/own-postgres.js';
import { EventStream } from '../helpers/sse.js';

// A user's own Yoga app: createSchema (no Pothos), resolvers calling Django's
// request.session API on ctx.session. Served by plain node:http (createServer(yoga))
// and by the exported fast handler; on PostgreSQL with DATABASE_URL, else PGlite.

const SECRET = 'library-test-secret-0123456789-abcdefghij';

const typeDefs = /* GraphQL */ `
  scalar JSON
  type Query {
    get(key: String!): JSON
    has(key: String!): Boolean!
    keys: [String!]!
    items: JSON!
    isEmpty: Boolean!
    expiryAge: Int!
    cartTotal: Int!
    boom: Boolean
  }
  type Mutation {
    set(key: String!, value: JSON): Boolean
    setNotJson(kind: String!): Boolean
    delete(key: String!): Boolean
    pop(key: String!, default: JSON): JSON
    setdefault(key: String!, default: JSON): JSON
    visit: Int!
    clear: Boolean
    flush: Boolean
    cycle: Boolean
    setExpiry(seconds: Int, at: String): Int!
    addToCart(sku: String!): Int!
  }
  type Subscription {
    visits: Int
  }
`;

type Ctx = { session: Session };
const resolvers = {
  JSON: new GraphQLScalarType({ name: 'JSON', serialize: (v) => v, parseValue: (v) => v }),
  Query: {
    get: (_: unknown, { key }: { key: string }, { session }: Ctx) => session.get(key, null),
    has: (_: unknown, { key }: { key: string }, { session }: Ctx) => session.has(key),
    keys: (_: unknown, __: unknown, { session }: Ctx) => session.keys(),
    items: async (_: unknown, __: unknown, { session }: Ctx) => Object.fromEntries(await session.items()),
    isEmpty: (_: unknown, __: unknown, { session }: Ctx) => session.isEmpty(),
    expiryAge: (_: unknown, __: unknown, { session }: Ctx) => session.getExpiryAge(),
    cartTotal: async (_: unknown, __: unknown, { session }: Ctx) => (await session.read(cart)).totalQuantity,
    boom: () => {
      throw new Error('secret internals: connection string postgres://x');
    },
  },
  Mutation: {
    set: async (_: unknown, { key, value }: { key: string; value: unknown }, { session }: Ctx) => {
      await session.set(key, value);
      return true;
    },
    // A developer's mistake: values JSON cannot hold as they are.
    setNotJson: async (_: unknown, { kind }: { kind: string }, { session }: Ctx) => {
      const values: Record<string, unknown> = { map: new Map([['a', 1]]), date: new Date(0), bigint: 1n, nested: { at: [new Set([1])] } };
      await session.set('odd', values[kind]);
      return true;
    },
    delete: async (_: unknown, { key }: { key: string }, { session }: Ctx) => {
      await session.delete(key);
      return true;
    },
    pop: (_: unknown, a: { key: string; default?: unknown }, { session }: Ctx) => session.pop(a.key, a.default ?? null),
    setdefault: (_: unknown, a: { key: string; default: unknown }, { session }: Ctx) => session.setdefault(a.key, a.default),
    visit: (_: unknown, __: unknown, { session }: Ctx) => session.update<number>('visits', (n) => (n ?? 0) + 1),
    clear: async (_: unknown, __: unknown, { session }: Ctx) => {
      await session.clear();
      return true;
    },
    flush: async (_: unknown, __: unknown, { session }: Ctx) => {
      await session.flush();
      return true;
    },
    cycle: async (_: unknown, __: unknown, { session }: Ctx) => {
      await session.cycleKey();
      return true;
    },
    setExpiry: async (_: unknown, a: { seconds?: number | null; at?: string | null }, { session }: Ctx) => {
      await session.setExpiry(a.at ? new Date(a.at) : (a.seconds ?? null));
      return session.getExpiryAge();
    },
    addToCart: async (_: unknown, { sku }: { sku: string }, { session }: Ctx) => (await session.apply(cart, 'add', { sku })).totalQuantity,
  },
  Subscription: {
    // A user's own live field on ctx.session.changes(): the visit count after every change.
    visits: {
      subscribe: async (_: unknown, __: unknown, { session }: Ctx) => session.changes(),
      resolve: (state: { data: Record<string, unknown> }) => state.data.visits ?? null,
    },
  },
};

let sessions: SessionsPlugin;
const servers: Server[] = [];
const apps: Record<'createServer(yoga)' | 'createFastHandler', { fetch(url: string, init?: RequestInit): Promise<Response> }> = {} as never;

async function listen(server: Server) {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { fetch: (url: string, init?: RequestInit) => fetch(url.replace(/^http:\/\/localhost/, base), init) };
}

beforeAll(async () => {
  const databaseUrl = postgresUrl ? await emptyDatabaseUrl('library') : undefined;
  sessions = useSessions({ secret: SECRET, databaseUrl, dataDir: 'memory://', areas: [cart], maxBytes: 4096 });
  const schema = createSchema<Ctx>({ typeDefs, resolvers });
  const yoga = createYoga({ schema, plugins: [sessions], logging: false });
  apps['createServer(yoga)'] = await listen(createServer(yoga));
  const quiet = { warn() {}, error() {}, debug() {} };
  apps.createFastHandler = await listen(createServer(createFastHandler(yoga as never, sessions, { schema, logger: quiet })));
  await sessions.engine;
}, 60_000);

afterAll(async () => {
  for (const server of servers) server.close();
  // Closing twice (yoga.dispose() and close()) is safe.
  await Promise.all([sessions?.close(), sessions?.close()]);
});

describe.each(['createServer(yoga)', 'createFastHandler'] as const)('useSessions on a plain Yoga app, through %s', (entry) => {
  const client = () => new CookieClient(apps[entry]);

  it('set, get, has, keys, items and isEmpty: the cookie is HttpOnly, SameSite=Lax, signed; responses vary by Cookie', async () => {
    const c = client();
    const r = await c.gql('mutation { a: set(key: "user", value: {id: 7}) b: set(key: "lang", value: "fr") }');
    expect(r.body.errors).toBeUndefined();
    expect(r.setCookie).toMatch(/^sessionid=[^;]+;/);
    for (const attribute of ['Max-Age=1209600', 'Path=/', 'HttpOnly', 'SameSite=Lax']) expect(r.setCookie).toContain(attribute);
    expect(r.setCookie).not.toContain('Secure');
    expect(r.headers.get('vary')).toMatch(/Cookie/);
    expect(r.headers.get('cache-control')).toBe('private, no-store');
    const d = await c.data('{ get(key: "user") has(key: "lang") no: has(key: "x") keys items isEmpty expiryAge }');
    expect(d).toEqual({
      get: { id: 7 },
      has: true,
      no: false,
      keys: ['lang', 'user'],
      items: { lang: 'fr', user: { id: 7 } },
      isEmpty: false,
      // A real clock: the write's deadline is rounded up to a whole second, so a read that falls in a
      // later second than that sees one second less (test/api/expiry.test.ts checks it exactly, on a test clock).
      expiryAge: d.expiryAge >= 1_209_599 ? d.expiryAge : 1_209_600,
    });
    expect(d.expiryAge).toBeLessThanOrEqual(1_209_600);
  });

  it('a read never stores a session and never sets a cookie', async () => {
    const c = client();
    const r = await c.gql('{ keys isEmpty get(key: "x") }');
    expect(r.body.data).toEqual({ keys: [], isEmpty: true, get: null });
    expect(r.setCookie).toBeNull();
  });

  it('update(key, fn) is atomic: 50 concurrent visits on one session end at exactly 50', async () => {
    const c = client();
    expect((await c.data('mutation { visit }')).visit).toBe(1);
    const results = await Promise.all(Array.from({ length: 50 }, () => c.data<{ visit: number }>('mutation { visit }')));
    expect(new Set(results.map((r) => r.visit)).size).toBe(50);
    expect((await c.data('{ get(key: "visits") }')).get).toBe(51);
  });

  it('pop is atomic: of 20 concurrent pops of one key exactly one gets the value', async () => {
    const c = client();
    await c.data('mutation { set(key: "token", value: "once") }');
    const popped = await Promise.all(Array.from({ length: 20 }, () => c.data<{ pop: unknown }>('mutation { pop(key: "token") }')));
    expect(popped.filter((p) => p.pop === 'once')).toHaveLength(1);
    expect(popped.filter((p) => p.pop === null)).toHaveLength(19);
    expect((await c.data('{ has(key: "token") }')).has).toBe(false);
  });

  it('setdefault sets only when absent and returns the stored value', async () => {
    const c = client();
    expect((await c.data('mutation { setdefault(key: "k", default: 1) }')).setdefault).toBe(1);
    expect((await c.data('mutation { setdefault(key: "k", default: 2) }')).setdefault).toBe(1);
  });

  it('an area operation (the built-in cart) and its key guarded from set()', async () => {
    const c = client();
    await c.data('mutation { set(key: "first", value: true) }');
    const added = await Promise.all(Array.from({ length: 20 }, () => c.data<{ addToCart: number }>('mutation { addToCart(sku: "A") }')));
    expect(Math.max(...added.map((a) => a.addToCart))).toBe(20);
    expect((await c.data('{ cartTotal }')).cartTotal).toBe(20);
    const e = await c.error('mutation { set(key: "cart", value: []) }');
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.extensions?.argument).toBe('key');
    expect((await c.data('{ cartTotal }')).cartTotal).toBe(20);
  });

  it('key rules and the size limit: BAD_USER_INPUT / SESSION_TOO_LARGE, nothing written', async () => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    for (const key of ['', '_reserved', 'x'.repeat(257)]) {
      const e = await c.error('mutation($k: String!) { set(key: $k, value: 1) }', { k: key });
      expect(e.code, key).toBe('BAD_USER_INPUT');
      expect(e.extensions?.argument).toBe('key');
    }
    const big = await c.error('mutation($v: JSON) { set(key: "big", value: $v) }', { v: 'x'.repeat(5000) });
    expect(big.code).toBe('SESSION_TOO_LARGE');
    // Within the limit on its own, over it with what is stored: refused by the engine.
    await c.data('mutation($v: JSON) { set(key: "half", value: $v) }', { v: 'y'.repeat(2500) });
    const over = await c.error('mutation($v: JSON) { set(key: "more", value: $v) }', { v: 'z'.repeat(2500) });
    expect(over.code).toBe('SESSION_TOO_LARGE');
    expect((await c.data('{ keys }')).keys).toEqual(['a', 'half']);
  });

  it.each(['map', 'date', 'bigint', 'nested'])('set() of a value JSON cannot hold (%s) fails, masked, and writes nothing', async (kind) => {
    const c = client();
    const e = await c.error(`mutation { setNotJson(kind: "${kind}") }`);
    expect([e.code, e.message, e.response.setCookie]).toEqual(['INTERNAL_SERVER_ERROR', 'Unexpected error.', null]);
  });

  it('flush: the cookie is expired and the old key never comes back (no resurrection)', async () => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    const old = c.sessionCookie!;
    const r = await c.gql('mutation { flush }');
    expect(r.setCookie).toMatch(/Max-Age=0/);
    const replay = new CookieClient(apps[entry]);
    replay.jar.set('sessionid', old);
    expect((await replay.data('{ keys }')).keys).toEqual([]);
    await replay.data('mutation { set(key: "b", value: 2) }');
    expect(replay.sessionCookie).not.toBe(old);
  });

  it('cycleKey: the same data under a new key; the old key stops working', async () => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    const old = c.sessionCookie!;
    await c.data('mutation { cycle }');
    expect(c.sessionCookie).not.toBe(old);
    expect((await c.data('{ get(key: "a") }')).get).toBe(1);
    const replay = new CookieClient(apps[entry]);
    replay.jar.set('sessionid', old);
    expect((await replay.data('{ keys }')).keys).toEqual([]);
  });

  it('a forged or unknown cookie is never adopted: a write gets a fresh key', async () => {
    for (const forged of ['not-signed', `${'A'.repeat(43)}:forgedsignature`]) {
      const c = client();
      c.jar.set('sessionid', forged);
      expect((await c.data('{ keys }')).keys).toEqual([]);
      await c.data('mutation { set(key: "a", value: 1) }');
      expect(c.sessionCookie).toBeDefined();
      expect(c.sessionCookie).not.toBe(forged);
    }
  });

  it('setExpiry: seconds, 0 (browser close), a Date, null (the default)', async () => {
    const c = client();
    // A real clock: a deadline is a whole second (rounded up), so the age read back may be one second less
    // (test/api/expiry.test.ts checks it exactly, on a test clock).
    const within = (age: number, seconds: number) => expect([seconds - 1, seconds]).toContain(age);
    within((await c.data('mutation { setExpiry(seconds: 60) }')).setExpiry, 60);
    const browser = await c.gql('mutation { setExpiry(seconds: 0) }');
    expect(browser.setCookie).not.toMatch(/Max-Age/);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const age = (await c.data('mutation($at: String) { setExpiry(at: $at) }', { at })).setExpiry;
    expect(age).toBeGreaterThan(3590);
    expect(age).toBeLessThanOrEqual(3600);
    within((await c.data('mutation { setExpiry }')).setExpiry, 1_209_600);
    const e = await c.error('mutation { setExpiry(seconds: -1) }');
    expect(e.code).toBe('BAD_USER_INPUT');
  });

  it('a cross-site form POST is refused before any resolver runs (CSRF), and nothing is written', async () => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    const r = await c.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({ query: 'mutation { clear }' }),
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect((await c.data('{ keys }')).keys).toEqual(['a']);
  });

  it('a GET query as Apollo (useGETForQueries) and urql (preferGetMethod) send it reads the session', async () => {
    const c = client();
    await c.data('mutation { set(key: "lang", value: "fr") }');
    for (const accept of [
      'application/graphql-response+json,application/json;q=0.9',
      'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
    ]) {
      const query = encodeURIComponent('query Lang { get(key: "lang") }');
      const r = await c.fetch(`/graphql?query=${query}&operationName=Lang`, { headers: { accept } });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ data: { get: 'fr' } });
      expect(r.headers.get('vary')).toMatch(/Cookie/);
    }
  });

  it('a cross-site form post to /graphql/ (the trailing-slash spelling) is refused too, and nothing is written', async () => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    const r = await c.fetch('/graphql/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: `query=${encodeURIComponent('mutation { clear }')}`,
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect((await c.data('{ keys }')).keys).toEqual(['a']);
  });

  // Yoga chooses a response format after running the operation: the plugin refuses first, at either spelling.
  it.each(['/graphql', '/graphql/'])('a mutation to %s whose Accept allows no response is 406 and writes nothing', async (path) => {
    const c = client();
    await c.data('mutation { set(key: "a", value: 1) }');
    const r = await c.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/xml' },
      body: JSON.stringify({ query: 'mutation { clear }' }),
    });
    expect([r.status, (await r.json()).errors[0].extensions.code]).toEqual([406, 'NOT_ACCEPTABLE']);
    expect((await c.data('{ keys }')).keys).toEqual(['a']);
  });

  it('a subscription of its own on ctx.session.changes(): the state now, then after each write', async () => {
    const c = client();
    await c.data('mutation { visit }');
    const stream = await EventStream.open(c, { query: 'subscription { visits }' });
    try {
      expect((await stream.result()).data).toEqual({ visits: 1 });
      await c.data('mutation { visit }');
      expect((await stream.result()).data).toEqual({ visits: 2 });
      await c.data('mutation { flush }');
      expect((await stream.result()).data).toEqual({ visits: null });
      await stream.completes();
    } finally {
      stream.close();
    }
  });

  // Your own route (no request signal): each stream, once over, leaves nothing on the plugin's shutdown signal.
  it('session.changes() outside a request, many times over: each releases its slot and leaves no listener behind', async () => {
    const c = client();
    await c.data('mutation { visit }');
    const warnings: Error[] = [];
    const warned = (warning: Error) => void warnings.push(warning);
    process.on('warning', warned);
    onTestFinished(() => void process.off('warning', warned));
    const engine = await sessions.engine;
    const before = sessions.subscriptions.size;
    for (let i = 0; i < 12; i++) {
      const stream = await sessions.sessionFor(c.cookieHeader(), engine).changes();
      expect((await stream.next()).value).toMatchObject({ exists: true });
      await stream.return(undefined);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(sessions.subscriptions.size).toBe(before);
    expect(warnings.map((w) => w.message)).not.toContainEqual(expect.stringMatching(/abort listeners/));
  });

  it('an unexpected failure is masked for the client', async () => {
    const r = await client().gql('{ boom }');
    expect(r.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(r.body)).not.toContain('postgres://');
  });
});

describe('useSessions refuses settings browsers would drop, before opening anything', () => {
  it.each([
    [{ secret: 'short' }, /secret/],
    [{ secret: SECRET, cookie: { name: '__Host-sid' } }, /__Host-/],
    [{ secret: SECRET, cookie: { name: '__host-sid', secure: true, path: '/app' } }, /__Host-/],
    [{ secret: SECRET, cookie: { name: '__Secure-sid' } }, /__Secure-/],
    [{ secret: SECRET, cookie: { sameSite: 'None' as const } }, /sameSite/],
    // The server's variables' rules: a `;` would add attributes to Set-Cookie, CR/LF break the header,
    // an age of 0 makes every session born expired, NaN fails every write.
    [{ secret: SECRET, cookie: { path: 'x; Domain=evil.example' } }, /cookie\.path must start with \/ and hold no ; or space/],
    [{ secret: SECRET, cookie: { name: 'bad name;' } }, /cookie\.name must be a cookie name token/],
    [{ secret: SECRET, cookie: { name: 'sid\r\nSet-Cookie: x=1' } }, /cookie\.name/],
    [{ secret: SECRET, cookie: { domain: 'evil.example; Secure' } }, /cookie\.domain must be a domain name/],
    [{ secret: SECRET, cookie: { ageSeconds: 0 } }, /cookie\.ageSeconds must be a whole number from 1/],
    [{ secret: SECRET, cookie: { ageSeconds: -5 } }, /cookie\.ageSeconds/],
    [{ secret: SECRET, maxBytes: Number.NaN }, /maxBytes must be a whole number from 256/],
    [{ secret: SECRET, requestMaxBytes: 10 }, /requestMaxBytes must be a whole number from 1024/],
  ])('%o', (options, message) => {
    expect(() => useSessions(options)).toThrow(message);
  });
});

// An engine renews deadlines and measures writes by its own settings: with other settings in useSessions,
// they held for a session's first write only, then the engine's (two weeks, 64 KiB) silently took over.
describe('useSessions with an engine of your own', () => {
  let engine: SessionStore;
  beforeAll(async () => {
    const databaseUrl = postgresUrl ? await emptyDatabaseUrl('library_engine') : undefined;
    engine = await openDbEngine({ databaseUrl, dataDir: 'memory://', ageSeconds: 60, maxBytes: 2000 });
  }, 60_000);
  afterAll(() => engine?.close());

  it('refuses settings that disagree with the engine, naming both', async () => {
    expect(() => useSessions({ secret: SECRET, engine })).toThrow(
      /cookie\.ageSeconds is 1209600, the engine's ageSeconds 60; maxBytes is 65536, the engine's 2000/,
    );
    const later = useSessions({ secret: SECRET, engine: Promise.resolve(engine), cookie: { ageSeconds: 60 } });
    await expect(later.engine).rejects.toThrow(/maxBytes is 65536, the engine's 2000/);
  });

  it('with the same settings, every write keeps them: the age and the size limit', async () => {
    const mine = useSessions({ secret: SECRET, engine, cookie: { ageSeconds: 60 }, maxBytes: 2000 });
    const yoga = createYoga({ schema: createSchema<Ctx>({ typeDefs, resolvers }), plugins: [mine], logging: false });
    const server = createServer(yoga);
    const c = new CookieClient(await listen(server));
    for (const key of ['a', 'b']) {
      const r = await c.gql(`mutation { set(key: "${key}", value: "${'x'.repeat(600)}") }`);
      expect([key, r.body.errors, r.setCookie]).toEqual([key, undefined, expect.stringMatching(/Max-Age=60;/)]);
    }
    expect((await c.data('{ expiryAge }')).expiryAge).toBeLessThanOrEqual(60);
    expect((await c.error(`mutation { set(key: "c", value: "${'x'.repeat(900)}") }`)).code).toBe('SESSION_TOO_LARGE');
    server.close();
  });
});

// The database down when useSessions opens it: requests get 503 (not a masked 500 forever), the outage is
// logged through Yoga's logger (one line a second, however many requests fail), and once the database is
// back a request opens the engine again, without a restart.
describe.skipIf(!postgresBinariesPresent)('useSessions when its database is down at start-up', { timeout: 60_000 }, () => {
  it('503 SERVICE_UNAVAILABLE and a logged cause until the database answers, then it serves', async () => {
    const pg = await ownPostgres();
    onTestFinished(() => pg.remove());
    pg.stop();
    const logged: unknown[][] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => void logged.push(args) };
    const mine = useSessions({ secret: SECRET, databaseUrl: pg.url, timeoutMs: 1000 });
    onTestFinished(() => mine.close());
    const yoga = createYoga({ schema: createSchema<Ctx>({ typeDefs, resolvers }), plugins: [mine], logging: logger });
    const server = createServer(yoga);
    onTestFinished(() => void server.close());
    const c = new CookieClient(await listen(server));
    for (let i = 0; i < 5; i++) {
      const r = await c.gql('mutation { visit }');
      expect([r.status, r.body.errors?.[0]?.extensions?.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
      expect(JSON.stringify(r.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    }
    expect(logged.length).toBe(1);
    expect(String(logged[0]![0])).toMatch(/ECONNREFUSED|connect/);

    pg.start();
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      const r = await c.gql('mutation { visit }');
      served = r.status === 200 && r.body.data?.visit === 1;
      if (!served) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(served).toBe(true);
    expect((await c.data('mutation { visit }')).visit).toBe(2);
  });
});

// A Yoga of its own at another endpoint, with its own masking: the fast handler follows both.
describe('createFastHandler with Yoga at /api/graphql and a maskError of your own', () => {
  it('answers at Yoga endpoint only, and masks as Yoga does', async () => {
    const mine = useSessions({ secret: SECRET, engine: sessions.engine, maxBytes: 4096 });
    const schema = createSchema<Ctx>({ typeDefs, resolvers });
    const maskError = (error: unknown, message: string) =>
      new GraphQLError(`custom: ${message}`, {
        extensions: { code: 'MY_CODE' },
        originalError: error instanceof Error ? error : undefined,
      });
    const yoga = createYoga({ schema, plugins: [mine], logging: false, graphqlEndpoint: '/api/graphql', maskedErrors: { maskError } });
    const quiet = { warn() {}, error() {}, debug() {} };
    const app = await listen(createServer(createFastHandler(yoga as never, mine, { schema, logger: quiet, maskError })));
    const post = (path: string, query: string) =>
      app.fetch(`http://localhost${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
    expect((await post('/graphql', 'mutation { visit }')).status).toBe(404);
    const visit = await post('/api/graphql', 'mutation { visit }');
    expect([visit.status, (await visit.json()).data]).toEqual([200, { visit: 1 }]);
    const boom = await (await post('/api/graphql', '{ boom }')).json();
    expect(boom.errors[0]).toMatchObject({ message: 'custom: Unexpected error.', extensions: { code: 'MY_CODE' } });
    // Yoga's own path for the same query (a GET it hands over) masks the same way.
    const viaYoga = await (
      await app.fetch('http://localhost/api/graphql?query=%7B%20boom%20%7D', { headers: { accept: 'text/event-stream' } })
    ).text();
    expect(viaYoga).toContain('custom: Unexpected error.');
  });
});
