import { request } from 'node:http';
import { getIntrospectionQuery } from 'graphql';
import { beforeEach, describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

const deepIntrospection =
  '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }';
const standardIntrospection = getIntrospectionQuery();

describe('limits on what one request may cost', async () => {
  const { app, client, statements } = await setup({ REQUEST_MAX_BYTES: '1048576' });
  const c = client();
  await c.data('mutation { setSessionValue(key: "k", value: 1) { exists } }');
  beforeEach(() => {
    statements.length = 0;
  });

  it('a 5 MB body gets 413 naming REQUEST_MAX_BYTES, without touching the database', async () => {
    const r = await app.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `sessionid=${c.sessionCookie}` },
      body: JSON.stringify({
        query: 'mutation($v: JSON) { setSessionValue(key: "big", value: $v) { exists } }',
        variables: { v: 'x'.repeat(5_000_000) },
      }),
    });
    expect(r.status).toBe(413);
    expect((await r.json()).errors[0].message).toMatch(/REQUEST_MAX_BYTES/);
    expect(statements).toEqual([]);
  });

  it('a chunked body over the limit gets 413 too', async () => {
    const url = new URL(app.baseUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (e) =>
        (e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(e),
      );
      req.write('{"query": "{ __typename }", "pad": "');
      for (let i = 0; i < 1100; i++) req.write('x'.repeat(1024));
      req.end('"}');
    });
    expect(status).toBe(413);
  });

  it('ten thousand value(key:) fields are refused without touching the database', async () => {
    const fields = Array.from({ length: 10_000 }, (_, i) => `v${i}: value(key: "k")`).join(' ');
    const r = await c.gql(`{ session { ${fields} } }`);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.message).toMatch(/GRAPHQL_MAX_TOKENS \(1000 tokens\)/);
    expect(statements).toEqual([]);
  });

  it.each([
    [`{ session { ${Array.from({ length: 16 }, (_, i) => `a${i}: value(key: "k")`).join(' ')} } }`, /GRAPHQL_MAX_ALIASES \(16 > 15\)/],
    [`{ ${Array.from({ length: 11 }, (_, i) => `s${i}: __typename`).join(' ')} }`, /GRAPHQL_MAX_ROOT_FIELDS|GRAPHQL_MAX_ALIASES/],
  ])('a document over a limit is refused naming the limit (%#)', async (query, message) => {
    const r = await c.gql(query);
    expect(r.body.errors?.map((e) => e.message).join(' ')).toMatch(message);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.body.data ?? null).toBeNull();
    expect(statements).toEqual([]);
  });

  it('eleven root mutations are refused before any runs', async () => {
    const mutations = Array.from({ length: 11 }, (_, i) => `m${i}: addToCart(sku: "x${i}") { isEmpty }`).join(' ');
    const r = await c.gql(`mutation { ${mutations} }`);
    expect(r.body.errors?.map((e) => e.message).join(' ')).toMatch(/GRAPHQL_MAX_ROOT_FIELDS \(11 > 10\)/);
    expect(statements).toEqual([]);
  });

  it('batched operations (a JSON array) are not accepted', async () => {
    const r = await app.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(r.status).toBe(400);
  });

  it('introspection is on outside production', async () => {
    expect((await c.data('{ __schema { queryType { name } } }')).__schema.queryType.name).toBe('Query');
  });
});

describe('GRAPHQL_MAX_DEPTH', () => {
  it('refuses a document nested deeper than the limit, naming it; introspection (GraphiQL) is exempt', async () => {
    const { client } = await setup({ GRAPHQL_MAX_DEPTH: '3' });
    const c = client();
    const r = await c.gql('{ session { cart { items { sku } } } }');
    expect(r.body.errors?.[0]?.message).toMatch(/GRAPHQL_MAX_DEPTH \(4 > 3\)/);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect((await c.data('{ session { cart { isEmpty } } }')).session.cart.isEmpty).toBe(true);
    expect((await c.data(deepIntrospection)).__schema.types.length).toBeGreaterThan(5);
    expect((await c.data(standardIntrospection)).__schema.queryType.name).toBe('Query');
  });
});

describe('introspection in production', () => {
  it('is off by default and on with GRAPHQL_INTROSPECTION=true', async () => {
    const off = await setup({ NODE_ENV: 'production' });
    const r = await off.client().gql('{ __schema { queryType { name } } }');
    expect(r.body.errors?.[0]?.message).toMatch(/introspection/i);
    const on = await setup({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' });
    expect((await on.client().data('{ __type(name: "Session") { name } }')).__type.name).toBe('Session');
  });
});
