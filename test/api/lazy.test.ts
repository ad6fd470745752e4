import { beforeEach, describe, expect, it } from 'vitest';
import { onCachedDb, onRedis, setup } from '../helpers/app.js';

describe('loading is lazy and reading never writes', async () => {
  const { client, statements } = await setup();
  const c = client();
  await c.data('mutation { setSessionValue(key: "username", value: "alice") { exists } addToCart(sku: "A") { isEmpty } }');
  beforeEach(() => {
    statements.length = 0;
  });

  it('an operation that touches no session field runs no SQL', async () => {
    const r = await c.gql('{ __typename }');
    expect(r.body.data).toEqual({ __typename: 'Query' });
    expect(statements).toEqual([]);
    expect(r.headers.get('vary') ?? '').not.toMatch(/cookie/i);
  });

  // PostgreSQL: counts SQL statements (test/redis/ covers the Redis engines; cached_db reads from Redis, test/cached-db counts its own).
  it.skipIf(onRedis || onCachedDb)('the session is loaded at most once per request, however many fields read it', async () => {
    const r = await c.gql(`{ session { exists keys value(key: "username") cart { totalQuantity } preferences { theme } }
      cart { items { sku } } preferences { pageSize } again: session { isEmpty } }`);
    expect(r.body.errors).toBeUndefined();
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^select/i);
  });

  // PostgreSQL: counts SQL statements, as above.
  it.skipIf(onRedis || onCachedDb)('fragments and aliases read it once too', async () => {
    const r = await c.gql(`query Cart { ...Whole ... on Query { c2: cart { isEmpty } } }
      fragment Whole on Query { session { exists } cart { totalQuantity } }`);
    expect(r.body.data).toEqual({ session: { exists: true }, cart: { totalQuantity: 1 }, c2: { isEmpty: false } });
    expect(statements).toHaveLength(1);
  });

  it('a session field skipped by @skip or @include reads nothing, and the response does not vary by Cookie', async () => {
    for (const query of [
      '{ session @skip(if: true) { exists } __typename }',
      'query ($on: Boolean = false) { cart @include(if: $on) { isEmpty } __typename }',
      '{ ... @skip(if: true) { session { exists } } __typename }',
    ]) {
      const r = await c.gql(query);
      expect(r.body).toEqual({ data: { __typename: 'Query' } });
      expect(statements).toEqual([]);
      expect(r.headers.get('vary') ?? '').not.toMatch(/cookie/i);
    }
  });

  it('reading a stored session writes nothing and sets no cookie', async () => {
    const r = await c.gql('{ session { exists } cart { totalQuantity } }');
    expect(r.body.data).toEqual({ session: { exists: true }, cart: { totalQuantity: 1 } });
    expect(r.setCookie).toBeNull();
    expect(statements.every((s) => /^select/i.test(s))).toBe(true);
  });

  it('a forged cookie costs no database read', async () => {
    const forged = client();
    forged.jar.set('sessionid', `${'B'.repeat(43)}.${'C'.repeat(43)}`);
    const r = await forged.gql('{ session { exists } }');
    expect(r.body.data).toEqual({ session: { exists: false } });
    expect(statements).toEqual([]);
  });

  it('no cookie: no database read either', async () => {
    const r = await client().gql('{ session { exists isEmpty } cart { isEmpty } }');
    expect(r.body.data).toEqual({ session: { exists: false, isEmpty: true }, cart: { isEmpty: true } });
    expect(statements).toEqual([]);
  });

  it('session-dependent responses carry Vary: Cookie and Cache-Control: private, no-store', async () => {
    for (const query of ['{ session { exists } }', '{ cart { isEmpty } }', 'mutation { addToCart(sku: "B") { isEmpty } }']) {
      const r = await c.gql(query);
      expect(r.headers.get('vary')).toMatch(/\bCookie\b/);
      expect(r.headers.get('cache-control')).toBe('private, no-store');
    }
  });

  // PostgreSQL: counts SQL statements (test/redis/ covers the Redis engines; cached_db reads from Redis, test/cached-db counts its own).
  it.skipIf(onRedis || onCachedDb)('a write on a session this instance last wrote is one compare-and-set statement', async () => {
    await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^with/i);
  });

  it.skipIf(onRedis || onCachedDb)('a write on a session another instance wrote is a read and one compare-and-set statement', async () => {
    const elsewhere = (await setup()).client();
    await elsewhere.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    const here = client();
    for (const [name, value] of elsewhere.jar) here.jar.set(name, value);
    statements.length = 0;
    expect((await here.data('mutation { addToCart(sku: "A") { totalQuantity } }')).addToCart.totalQuantity).toBe(2);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^select/i);
    expect(statements[1]).toMatch(/^with/i);
  });

  // PostgreSQL: counts SQL statements (test/redis/ covers the Redis engines; cached_db reads from Redis, test/cached-db counts its own).
  it.skipIf(onRedis || onCachedDb)(
    'writes in one request take turns: each starts from the row the last one wrote, with no read between',
    async () => {
      await c.data('mutation { a: addToCart(sku: "A") { totalQuantity } b: addToCart(sku: "B") { totalQuantity } }');
      expect(statements.filter((s) => /^select/i.test(s))).toHaveLength(0);
      expect(statements.filter((s) => /^with/i.test(s))).toHaveLength(2);
    },
  );
});

describe('SESSION_SAVE_EVERY_REQUEST=true', async () => {
  const { client, clock, statements } = await setup({ SESSION_SAVE_EVERY_REQUEST: 'true', SESSION_COOKIE_AGE: '600' });

  // PostgreSQL: counts SQL statements (test/redis/ covers the Redis engines).
  it.skipIf(onRedis)("a read renews a stored session's expiry and re-sends the cookie; an unstored one still gets none", async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "k", value: 1) { exists } }');
    clock.advance(500);
    statements.length = 0;
    const r = await c.gql('{ session { expiryAge } }');
    expect(r.body.data?.session.expiryAge).toBe(600);
    expect(r.setCookie).toMatch(/Max-Age=600/);
    expect(statements).toHaveLength(1);
    clock.advance(500);
    expect((await c.data('{ session { exists } }')).session.exists).toBe(true);
    const fresh = await client().gql('{ session { exists } }');
    expect(fresh.setCookie).toBeNull();
  });
});
