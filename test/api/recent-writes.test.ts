import { describe, expect, it } from 'vitest';
import type { SessionChange, SessionData, SessionEngine } from '../../src/core/engine.js';
import { setup } from '../helpers/app.js';
import type { CookieClient } from '../helpers/client.js';

// A write that was given nothing read starts from the session as this
// instance last wrote it (src/engines/compare-and-set.ts, decision 0017):
// one round trip instead of a read and a write. Two apps on one store here
// are two instances (each its own memory of recent writes); a write of the
// other instance, a flush or a cycle in between must still be seen.

const other = await setup();
const mine = await setup();

/** A client of `app` carrying `from`'s cookie, as one browser behind a load balancer. */
function sameBrowser(from: CookieClient, app: typeof mine): CookieClient {
  const c = app.client();
  for (const [name, value] of from.jar) c.jar.set(name, value);
  return c;
}

const addToCart = (sku: string) => `mutation { addToCart(sku: "${sku}") { totalQuantity items { sku quantity } } }`;

describe('a write from what this instance last wrote', () => {
  it("sees the other instance's write in between: nothing is lost", async () => {
    const a = mine.client();
    await a.data(addToCart('x'));
    await a.data(addToCart('x'));
    const b = sameBrowser(a, other);
    await b.data(addToCart('y'));
    // This instance remembers the cart at x:2; the store holds x:2, y:1.
    const data = await a.data(addToCart('x'));
    expect(data.addToCart.totalQuantity).toBe(4);
    expect(data.addToCart.items).toEqual([
      { sku: 'x', quantity: 3 },
      { sku: 'y', quantity: 1 },
    ]);
    const read = await sameBrowser(a, other).data('{ cart { totalQuantity } }');
    expect(read.cart.totalQuantity).toBe(4);
  });

  it('after a flush on the other instance, the next write starts a new session with only itself', async () => {
    const a = mine.client();
    await a.data(addToCart('x'));
    const before = a.sessionCookie;
    const b = sameBrowser(a, other);
    await b.data('mutation { flushSession { exists } }');
    const data = await a.data(addToCart('x'));
    expect(data.addToCart.totalQuantity).toBe(1);
    expect(a.sessionCookie).not.toBe(before);
  });

  it('after a cycle on the other instance, the old cookie writes nothing', async () => {
    const a = mine.client();
    await a.data(addToCart('x'));
    const b = sameBrowser(a, other);
    await b.data('mutation { cycleSessionKey { exists } }');
    const data = await a.data(addToCart('x'));
    // The old key stopped working: a new session, and the moved one is untouched.
    expect(data.addToCart.totalQuantity).toBe(1);
    expect((await b.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
  });

  it('a refusal is never reported from what this instance remembers: a rule and the size limit see the session as stored', async () => {
    const a = mine.client();
    for (let i = 0; i < 100; i++) await a.data(addToCart(`sku-${i}`));
    // Remembered here: 100 lines, the most a cart holds. The other instance empties the cart.
    await sameBrowser(a, other).data('mutation { clearCart { isEmpty } }');
    expect((await a.data(addToCart('one-more'))).addToCart.items).toEqual([{ sku: 'one-more', quantity: 1 }]);

    // Remembered: a session near SESSION_MAX_BYTES; the other instance flushes it.
    const big = mine.client();
    const set = 'mutation ($key: String!, $value: JSON) { setSessionValue(key: $key, value: $value) { exists } }';
    await big.data(set, { key: 'pad', value: 'p'.repeat(mine.config.maxBytes - 200) });
    await sameBrowser(big, other).data('mutation { flushSession { exists } }');
    expect((await big.data(set, { key: 'more', value: 'x'.repeat(300) })).setSessionValue.exists).toBe(true);
    expect((await big.data('{ session { keys } }')).session.keys).toEqual(['more']);
  });

  it("a caller's changes to a returned session do not reach the next write", async () => {
    const engine: SessionEngine = mine.built.store;
    const bump: SessionChange = {
      name: 'test.bump',
      args: {},
      next: (data: SessionData) => ({ ...data, n: ((data.n as number | undefined) ?? 0) + 1 }),
    };
    const hash = `${Date.now()}`.padStart(64, 'c');
    await engine.create(hash, { n: 0 }, null, mine.clock.now());
    const first = await engine.change(hash, bump, mine.clock.now());
    expect(first?.row.data).toEqual({ n: 1 });
    (first!.row.data as { n: number }).n = 100;
    const second = await engine.change(hash, bump, mine.clock.now());
    expect(second?.row.data).toEqual({ n: 2 });
    expect((await engine.load(hash, mine.clock.now()))?.data).toEqual({ n: 2 });
  });
});
