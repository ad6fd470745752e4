import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import type { CookieClient } from '../helpers/client.js';
import { engine } from '../helpers/database.js';

// Concurrency only proves something with a real pool of connections: these
// run on PostgreSQL (DATABASE_URL), where requests really overlap.
const runs = engine === 'postgres';

describe.runIf(runs)('concurrent writes on one session lose nothing (PostgreSQL)', async () => {
  if (!runs) return; // vitest runs a skipped suite's body too: set nothing up then
  const { client } = await setup({ DATABASE_POOL_SIZE: '20' });

  async function session(): Promise<CookieClient> {
    const c = client();
    await c.data('mutation { setSessionValue(key: "username", value: "alice") { exists } }');
    return c;
  }
  /** A request with the session's cookie as it is now, not updating the jar (like parallel tabs). */
  const asTab = (c: CookieClient, query: string) => {
    const tab = client();
    tab.jar.set('sessionid', c.sessionCookie!);
    return tab.gql(query);
  };

  it('50 parallel setSessionValue calls with 50 different keys leave 50 keys', async () => {
    const c = await session();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => asTab(c, `mutation { setSessionValue(key: "k${i}", value: ${i}) { exists } }`)),
    );
    expect(results.every((r) => r.status === 200 && !r.body.errors)).toBe(true);
    const keys: string[] = (await c.data('{ session { keys } }')).session.keys;
    expect(keys.filter((k) => k.startsWith('k'))).toHaveLength(50);
  });

  it('50 parallel addToCart(sku: "A") leave quantity 50', async () => {
    const c = await session();
    const results = await Promise.all(Array.from({ length: 50 }, () => asTab(c, 'mutation { addToCart(sku: "A") { totalQuantity } }')));
    expect(results.every((r) => r.status === 200 && !r.body.errors)).toBe(true);
    expect((await c.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'A', quantity: 50 }]);
  });

  it('50 parallel adds of 50 different SKUs leave 50 lines', async () => {
    const c = await session();
    await Promise.all(Array.from({ length: 50 }, (_, i) => asTab(c, `mutation { addToCart(sku: "SKU-${i}") { totalQuantity } }`)));
    expect((await c.data('{ cart { items { sku } totalQuantity } }')).cart.totalQuantity).toBe(50);
  });

  it('parallel adds near the 999 cap: exactly the ones that fit succeed, the rest are refused', async () => {
    const c = await session();
    await c.data('mutation { addToCart(sku: "A", quantity: 990) { totalQuantity } }');
    const results = await Promise.all(Array.from({ length: 30 }, () => asTab(c, 'mutation { addToCart(sku: "A") { totalQuantity } }')));
    const ok = results.filter((r) => !r.body.errors).length;
    const refused = results.filter((r) => r.body.errors?.[0]?.extensions?.code === 'BAD_USER_INPUT').length;
    expect([ok, refused]).toEqual([9, 21]);
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(999);
  });

  it('a write racing a flush lands in a fresh session: the flushed one is never resurrected', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await session();
      const old = c.sessionCookie!;
      const oldKey = old.split('.')[0];
      const writes = Array.from({ length: 20 }, (_, i) => asTab(c, `mutation { setSessionValue(key: "w${i}", value: ${i}) { keys } }`));
      const flush = asTab(c, 'mutation { flushSession { exists } }');
      const [flushed, ...results] = await Promise.all([flush, ...writes]);
      expect(flushed.body.data?.flushSession.exists).toBe(false);
      // the old key is gone for good
      const replay = client();
      replay.jar.set('sessionid', old);
      expect((await replay.data('{ session { exists } }')).session.exists).toBe(false);
      for (const [i, r] of results.entries()) {
        expect(r.body.errors).toBeUndefined();
        const newKey = /^sessionid=([^.;]+)/.exec(r.setCookie ?? '')?.[1];
        if (newKey !== oldKey) {
          // landed after the flush: alone in a fresh session with a new key
          expect(r.body.data?.setSessionValue.keys).toEqual([`w${i}`]);
        }
      }
    }
  });

  it('50 parallel first writes without a cookie make 50 separate sessions', async () => {
    const clients = Array.from({ length: 50 }, () => client());
    await Promise.all(clients.map((c, i) => c.data(`mutation { setSessionValue(key: "me", value: ${i}) { exists } }`)));
    expect(new Set(clients.map((c) => c.sessionCookie)).size).toBe(50);
    for (const [i, c] of clients.entries()) expect((await c.data('{ session { value(key: "me") } }')).session.value).toBe(i);
  });
});
