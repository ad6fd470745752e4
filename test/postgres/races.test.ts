import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import type { CookieClient } from '../helpers/client.js';
import { engine } from '../helpers/database.js';

const keyOf = (setCookie: string | null) => /^sessionid=([^.;]+)/.exec(setCookie ?? '')?.[1];

const runs = engine === 'postgres';

describe.runIf(runs)('races (PostgreSQL)', async () => {
  if (!runs) return; // vitest runs a skipped suite's body too: set nothing up then
  const { client, clock } = await setup({ DATABASE_POOL_SIZE: '20', SESSION_COOKIE_AGE: '100' });
  const tab = (c: CookieClient) => {
    const t = client();
    t.jar.set('sessionid', c.sessionCookie!);
    return t;
  };

  it('cycleSessionKey racing writes: every write lands under exactly one key, none lost', async () => {
    for (let round = 0; round < 5; round++) {
      const c = client();
      await c.data('mutation { setSessionValue(key: "user", value: "ada") { exists } }');
      const oldKey = c.sessionCookie!.split('.')[0];
      const writes = Array.from({ length: 20 }, (_, i) => tab(c).gql(`mutation { setSessionValue(key: "w${i}", value: ${i}) { keys } }`));
      const cycler = tab(c);
      const [cycled, ...results] = await Promise.all([cycler.gql('mutation { cycleSessionKey { exists keys } }'), ...writes]);
      expect(cycled.body.data?.cycleSessionKey.exists).toBe(true);
      const cycledKeys: string[] = (await cycler.data('{ session { keys } }')).session.keys;
      for (const [i, r] of results.entries()) {
        expect(r.body.errors).toBeUndefined();
        const inCycled = cycledKeys.includes(`w${i}`);
        if (keyOf(r.setCookie) === oldKey) {
          // applied before the cycle: carried over to the new key
          expect([i, inCycled]).toEqual([i, true]);
        } else {
          // arrived after: alone in a fresh session, not in the cycled one
          expect([i, inCycled, r.body.data?.setSessionValue.keys]).toEqual([i, false, [`w${i}`]]);
        }
      }
      const replay = client();
      replay.jar.set('sessionid', `${oldKey}.x`);
      expect((await replay.data('{ session { exists } }')).session.exists).toBe(false);
    }
  });

  it('a write racing expiry: just before the deadline it renews the session, at the deadline it starts a fresh one', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "cart-owner", value: "ada") { exists } }');
    const { expiresAt } = (await c.data('{ session { expiresAt } }')).session;
    const deadline = Date.parse(expiresAt);
    clock.advance((deadline - clock.now() - 1) / 1000);
    const before = await c.data('mutation { addToCart(sku: "A") { totalQuantity } } ');
    expect(before.addToCart.totalQuantity).toBe(1);
    expect((await c.data('{ session { value(key: "cart-owner") } }')).session.value).toBe('ada');

    const d = client();
    await d.data('mutation { setSessionValue(key: "cart-owner", value: "bob") { exists } }');
    const dDeadline = Date.parse((await d.data('{ session { expiresAt } }')).session.expiresAt);
    clock.advance((dDeadline - clock.now()) / 1000);
    const old = d.sessionCookie;
    // many writes at the very deadline, concurrently: none brings the expired data back
    const results = await Promise.all(Array.from({ length: 10 }, () => tab(d).gql('mutation { addToCart(sku: "A") { totalQuantity } }')));
    for (const r of results) expect(r.body.data?.addToCart.totalQuantity).toBe(1);
    const fresh = results.map((r) => keyOf(r.setCookie));
    expect(new Set(fresh).size).toBe(10);
    expect(fresh).not.toContain(old?.split('.')[0]);
  });

  it('two server instances on one database share sessions with no lost updates', async () => {
    const other = await setup({ DATABASE_POOL_SIZE: '20' });
    const c = client();
    await c.data('mutation { setSessionValue(key: "user", value: "ada") { exists } }');
    const requests = Array.from({ length: 50 }, (_, i) => {
      const t = i % 2 === 0 ? tab(c) : other.client();
      t.jar.set('sessionid', c.sessionCookie!);
      return t.gql(`mutation { addToCart(sku: "A") { totalQuantity } k${i}: setSessionValue(key: "k${i}", value: ${i}) { exists } }`);
    });
    const results = await Promise.all(requests);
    expect(results.every((r) => !r.body.errors)).toBe(true);
    const seenFromOther = other.client();
    seenFromOther.jar.set('sessionid', c.sessionCookie!);
    const state = await seenFromOther.data('{ cart { totalQuantity } session { keys } }');
    expect(state.cart.totalQuantity).toBe(50);
    expect(state.session.keys.filter((k: string) => /^k\d+$/.test(k))).toHaveLength(50);
  });
});
