import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setup, testEngine } from '../helpers/app.js';
import { CLIENT_ACCEPTS, CookieClient } from '../helpers/client.js';

// Every request shape a real client sends, and the errors a broken one
// gets, answered by the fast path (src/http/fast-path.ts) and by Yoga's own
// handler: both must give the same status, body and headers, since both
// use src/http/policy/ for negotiation, statuses and serialisation.

const JSON_TYPE = 'application/json';
const RESPONSE = 'application/graphql-response+json';
const APOLLO = CLIENT_ACCEPTS.apollo;
const URQL = CLIENT_ACCEPTS.urql;

const READ =
  'query CartAndUser {\n  session {\n    value(key: "user")\n    __typename\n  }\n  cart {\n    items {\n      sku\n      quantity\n      __typename\n    }\n    __typename\n  }\n}';
const WRITE = 'mutation AddToCart($sku: String!) {\n  addToCart(sku: $sku) {\n    totalQuantity\n    __typename\n  }\n}';
const apolloExtensions = { clientLibrary: { name: '@apollo/client', version: '4.0.0' } };

interface Shape {
  name: string;
  method?: 'GET' | 'POST';
  accept?: string;
  /** A JSON-serialisable body, or a raw string. */
  body?: unknown;
  /** GET parameters (JSON-encoded where they are objects). */
  search?: Record<string, unknown>;
  /** The status the spec asks for. */
  status: number;
  /** The response's media type. */
  type?: string;
}

const get = (search: Record<string, unknown>) =>
  `?${new URLSearchParams(Object.entries(search).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()}`;

const SHAPES: Shape[] = [
  // What clients send when all is well.
  {
    name: 'Apollo Client 4, query',
    accept: APOLLO,
    body: { operationName: 'CartAndUser', variables: {}, query: READ, extensions: apolloExtensions },
    status: 200,
    type: RESPONSE,
  },
  {
    name: 'Apollo Client 4, mutation',
    accept: APOLLO,
    body: { operationName: 'AddToCart', variables: { sku: 'A' }, query: WRITE, extensions: apolloExtensions },
    status: 200,
    type: RESPONSE,
  },
  { name: 'urql 6, query', accept: URQL, body: { operationName: 'CartAndUser', query: READ, variables: {} }, status: 200, type: RESPONSE },
  {
    name: 'urql 6, mutation',
    accept: URQL,
    body: { operationName: 'AddToCart', query: WRITE, variables: { sku: 'B' } },
    status: 200,
    type: RESPONSE,
  },
  {
    name: 'Apollo useGETForQueries',
    method: 'GET',
    accept: APOLLO,
    search: { operationName: 'CartAndUser', variables: {}, query: READ, extensions: apolloExtensions },
    status: 200,
    type: RESPONSE,
  },
  {
    name: 'urql preferGetMethod',
    method: 'GET',
    accept: URQL,
    search: { query: READ, operationName: 'CartAndUser', variables: {} },
    status: 200,
    type: RESPONSE,
  },
  {
    name: 'GET with a cache buster in the URL',
    method: 'GET',
    accept: APOLLO,
    search: { query: READ, operationName: 'CartAndUser', _: '1733011200' },
    status: 200,
    type: RESPONSE,
  },
  { name: 'fetch without Accept', body: { query: READ }, status: 200, type: JSON_TYPE },
  // No response this endpoint sends is acceptable: 406 before anything runs (a JSON body all the same, to say why).
  { name: 'Accept application/xml', accept: 'application/xml', body: { query: READ }, status: 406, type: JSON_TYPE },
  {
    name: 'GET with Accept application/xml',
    method: 'GET',
    accept: 'application/xml',
    search: { query: READ },
    status: 406,
    type: JSON_TYPE,
  },
  { name: 'Accept */*', accept: '*/*', body: { query: READ }, status: 200, type: JSON_TYPE },
  { name: 'Accept application/*', accept: 'application/*', body: { query: READ }, status: 200, type: JSON_TYPE },
  { name: 'Accept with charset', accept: 'application/json; charset=utf-8', body: { query: READ }, status: 200, type: JSON_TYPE },
  {
    name: 'q-values preferring JSON',
    accept: 'application/graphql-response+json;q=0.5, application/json',
    body: { query: READ },
    status: 200,
    type: JSON_TYPE,
  },
  {
    name: 'a wildcard below graphql-response+json',
    accept: '*/*;q=0.1, application/graphql-response+json',
    body: { query: READ },
    status: 200,
    type: RESPONSE,
  },
  {
    name: 'several operations, chosen by operationName',
    accept: APOLLO,
    body: { query: `${READ}\nquery Other { __typename }`, operationName: 'Other' },
    status: 200,
    type: RESPONSE,
  },
  // Request errors: 4xx with graphql-response+json, 200 with application/json.
  ...[JSON_TYPE, RESPONSE].flatMap((accept): Shape[] => {
    const requestError = accept === JSON_TYPE ? 200 : 400;
    return [
      { name: `${accept}: a parse error`, accept, body: { query: '{ session {' }, status: requestError, type: accept },
      { name: `${accept}: a validation error`, accept, body: { query: '{ session { nope } }' }, status: requestError, type: accept },
      {
        name: `${accept}: a variable of the wrong type`,
        accept,
        body: { query: WRITE, variables: { sku: 5 } },
        status: requestError,
        type: accept,
      },
      { name: `${accept}: a missing variable`, accept, body: { query: WRITE }, status: requestError, type: accept },
      {
        name: `${accept}: too many aliases`,
        accept,
        body: { query: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ')} }` },
        status: requestError,
        type: accept,
      },
      {
        name: `${accept}: over the token limit`,
        accept,
        body: { query: `{ ${'__typename '.repeat(1200)}}` },
        status: requestError,
        type: accept,
      },
      {
        name: `${accept}: an unknown operationName`,
        accept,
        body: { query: READ, operationName: 'Nope' },
        status: requestError,
        type: accept,
      },
      {
        name: `${accept}: two operations, no operationName`,
        accept,
        body: { query: `${READ}\nquery Other { __typename }` },
        status: requestError,
        type: accept,
      },
      // Malformed requests: 400 (405 for a mutation over GET) with either type.
      {
        name: `${accept}: a mutation over GET`,
        method: 'GET',
        accept,
        search: { query: WRITE, variables: { sku: 'A' } },
        status: 405,
        type: accept,
      },
      { name: `${accept}: invalid JSON`, accept, body: '{"query": ', status: 400, type: accept },
      { name: `${accept}: a batch`, accept, body: [{ query: READ }, { query: READ }], status: 400, type: accept },
      { name: `${accept}: no query`, accept, body: { variables: {} }, status: 400, type: accept },
      { name: `${accept}: a query that is not a string`, accept, body: { query: 5 }, status: 400, type: accept },
      { name: `${accept}: variables that are a list`, accept, body: { query: READ, variables: [1] }, status: 400, type: accept },
      { name: `${accept}: an unknown parameter`, accept, body: { query: READ, foo: 1 }, status: 400, type: accept },
      {
        name: `${accept}: GET with variables that are not JSON`,
        method: 'GET',
        accept,
        search: { query: READ, variables: '{' },
        status: 400,
        type: accept,
      },
    ];
  }),
];

async function send(client: CookieClient, shape: Shape) {
  const method = shape.method ?? 'POST';
  const headers: Record<string, string> = {};
  if (shape.accept) headers.accept = shape.accept;
  if (method === 'POST') headers['content-type'] = 'application/json';
  const r = await client.fetch(method === 'GET' ? `/graphql${get(shape.search ?? {})}` : '/graphql', {
    method,
    headers,
    body: method === 'POST' ? (typeof shape.body === 'string' ? shape.body : JSON.stringify(shape.body)) : undefined,
  });
  const text = await r.text();
  return {
    status: r.status,
    body: JSON.parse(text),
    type: r.headers.get('content-type'),
    vary: r.headers.get('vary'),
    cacheControl: r.headers.get('cache-control'),
    allow: r.headers.get('allow'),
    setCookie: (r.headers.get('set-cookie') ?? '').replace(/^sessionid=[^;]*/, 'sessionid=…').replace(/Expires=[^;]*/, 'Expires=…'),
  };
}

describe('the fast path and Yoga answer every client alike', async () => {
  const fast = await setup({ CORS_ORIGINS: 'https://shop.example' });
  const yoga = await setup({ CORS_ORIGINS: 'https://shop.example' }, { fastPath: false });

  it.each(SHAPES)('$name', async (shape) => {
    const [a, b] = [await send(new CookieClient(fast.app), shape), await send(new CookieClient(yoga.app), shape)];
    expect(a).toEqual(b);
    expect(a.status).toBe(shape.status);
    if (shape.type) expect(a.type).toBe(`${shape.type}; charset=utf-8`);
    if (a.status === 200 && !a.body.errors) expect(a.body.data).toBeTruthy();
  });

  it('for a whole session from one client, cookie included', async () => {
    const clients = [new CookieClient(fast.app, undefined, APOLLO), new CookieClient(yoga.app, undefined, APOLLO)];
    const steps: [string, Record<string, unknown>?][] = [
      ['mutation { setSessionValue(key: "user", value: {name: "Ada"}) { exists keys } }'],
      [WRITE, { sku: 'book' }],
      [READ],
      ['mutation { addToCart(sku: "book", quantity: 999) { totalQuantity } }'],
      ['mutation { setSessionValue(key: "_x", value: 1) { exists } }'],
      ['mutation { cycleSessionKey { exists } }'],
      ['mutation { flushSession { exists } }'],
      [READ],
    ];
    for (const [query, variables] of steps) {
      const [a, b] = await Promise.all(clients.map((c) => c.gql(query, variables)));
      expect({ query, status: a?.status, body: a?.body }).toEqual({ query, status: b?.status, body: b?.body });
      const attrs = (h: string | null | undefined) =>
        (h ?? '').replace(/^sessionid=[^;]*/, 'sessionid=…').replace(/Expires=[^;]*/, 'Expires=…');
      expect([query, attrs(a?.setCookie)]).toEqual([query, attrs(b?.setCookie)]);
    }
  });

  // Visitors writing at the same moment reach the store in the same turn of the event loop: on `db` and
  // `cached_db` their writes share one statement (group commit, decision 0019), on a cluster they go to
  // several masters. Each must get its own answer, whatever client sent it, on the fast path and on Yoga's.
  it('visitors writing at the same moment, each a different client, get their own answers on both paths', async () => {
    const forms = [APOLLO, URQL, CLIENT_ACCEPTS.json, CLIENT_ACCEPTS.any];
    const addToCart = async (c: CookieClient, i: number) => {
      const r = await c.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: c.accept },
        body: JSON.stringify({ operationName: 'AddToCart', query: WRITE, variables: { sku: `v${i}` } }),
      });
      return { status: r.status, body: await r.json() };
    };
    for (const target of [fast, yoga]) {
      const visitors = Array.from({ length: 12 }, (_, i) => new CookieClient(target.app, undefined, forms[i % forms.length]));
      // Visitor i starts with i + 1 of its own SKU.
      for (const [i, c] of visitors.entries()) await c.data(`mutation { addToCart(sku: "v${i}", quantity: ${i + 1}) { totalQuantity } }`);
      let grouped = false;
      let rounds = 0;
      for (let round = 1; round <= 10 && !grouped; round++) {
        rounds = round;
        target.statements.length = 0;
        const answers = await Promise.all(visitors.map((c, i) => addToCart(c, i)));
        expect(answers).toEqual(
          visitors.map((_, i) => ({ status: 200, body: { data: { addToCart: { totalQuantity: i + 1 + round, __typename: 'Cart' } } } })),
        );
        grouped = target.statements.some((statement) => statement.includes('json_to_recordset'));
      }
      const carts = await Promise.all(visitors.map((c) => c.data('{ cart { items { sku quantity } } }')));
      expect(carts).toEqual(visitors.map((_, i) => ({ cart: { items: [{ sku: `v${i}`, quantity: i + 1 + rounds }] } })));
      if (testEngine === 'db' || testEngine === 'cached_db') expect(grouped).toBe(true);
    }
  });

  it("Apollo's automatic persisted queries, over POST and GET", async () => {
    const hash = createHash('sha256').update(READ).digest('hex');
    const persisted = { persistedQuery: { version: 1, sha256Hash: hash } };
    for (const { app } of [fast, yoga]) {
      const c = new CookieClient(app);
      const unknown = await send(c, {
        name: '',
        accept: APOLLO,
        body: { operationName: 'CartAndUser', variables: {}, extensions: persisted },
        status: 0,
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.errors[0]).toMatchObject({
        message: 'PersistedQueryNotFound',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
      });
      const legacy = await send(c, { name: '', accept: JSON_TYPE, body: { extensions: persisted }, status: 0 });
      expect(legacy.status).toBe(200);
      const registered = await send(c, {
        name: '',
        accept: APOLLO,
        body: { operationName: 'CartAndUser', variables: {}, query: READ, extensions: persisted },
        status: 0,
      });
      expect(registered.status).toBe(200);
      expect(registered.body.data.cart.items).toEqual([]);
      for (const method of ['POST', 'GET'] as const) {
        const hit = await send(c, {
          name: '',
          method,
          accept: APOLLO,
          body: { extensions: persisted },
          search: { operationName: 'CartAndUser', variables: {}, extensions: persisted },
          status: 0,
        });
        expect([method, hit.status, hit.body.data?.cart]).toEqual([method, 200, { items: [], __typename: 'Cart' }]);
      }
      const mismatch = await send(c, { name: '', accept: APOLLO, body: { query: '{ __typename }', extensions: persisted }, status: 0 });
      expect(mismatch.status).toBe(400);
    }
  });

  // Yoga picks how to answer after it has run the operation: a mutation must not commit and then fail
  // for want of a media type (GraphQL over HTTP: 406 Not Acceptable).
  it.each(['application/xml', 'text/html', 'application/json; charset=latin1', 'nonsense'])(
    'a mutation with Accept %s is refused with 406 before it runs, on both paths, and writes nothing',
    async (accept) => {
      for (const { app } of [fast, yoga]) {
        const c = new CookieClient(app);
        const r = await c.fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept },
          body: JSON.stringify({ query: 'mutation { setSessionValue(key: "x", value: 1) { keys } }' }),
        });
        expect([r.status, r.headers.get('set-cookie')]).toEqual([406, null]);
        expect((await r.json()).errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
        expect(c.sessionCookie).toBeUndefined();
      }
      // A session's own mutation refused too: the key stays unwritten.
      const c = new CookieClient(fast.app);
      await c.data('mutation { setSessionValue(key: "kept", value: 1) { keys } }');
      const refused = await c.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: 'mutation { setSessionValue(key: "x", value: 1) { keys } }' }),
      });
      expect(refused.status).toBe(406);
      expect(await c.data('{ session { keys } }')).toEqual({ session: { keys: ['kept'] } });
    },
  );

  it('a frontend of an allowed origin can read why a request was refused (CORS headers on 413 and 415)', async () => {
    const origin = 'https://shop.example';
    for (const { app } of [fast, yoga]) {
      const tooLarge = await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ query: READ, variables: { pad: 'x'.repeat(300_000) } }),
      });
      const notJson = await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({ query: READ }),
      });
      for (const [r, status] of [
        [tooLarge, 413],
        [notJson, 415],
      ] as const) {
        expect([r.status, r.headers.get('access-control-allow-origin'), r.headers.get('access-control-allow-credentials')]).toEqual([
          status,
          origin,
          'true',
        ]);
        expect(r.headers.get('vary')).toMatch(/Origin/);
      }
      // Another origin learns nothing more than before.
      const foreign = await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
        body: '{}',
      });
      expect([foreign.status, foreign.headers.get('access-control-allow-origin')]).toEqual([403, null]);
    }
  });

  it('a preflight names Origin in Vary once', async () => {
    const r = await fast.app.fetch('http://localhost/graphql', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('vary')?.match(/origin/gi)).toHaveLength(1);
  });

  it('CORS and Vary are the same on both paths', async () => {
    for (const origin of ['https://shop.example', undefined]) {
      const shape: Shape = { name: '', accept: APOLLO, body: { query: READ }, status: 200 };
      const headers = async (app: typeof fast.app) => {
        const r = await app.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: APOLLO, ...(origin ? { origin } : {}) },
          body: JSON.stringify(shape.body),
        });
        return ['access-control-allow-origin', 'access-control-allow-credentials', 'vary', 'cache-control', 'x-content-type-options'].map(
          (name) => [name, r.headers.get(name)],
        );
      };
      expect(await headers(fast.app)).toEqual(await headers(yoga.app));
    }
  });
});
