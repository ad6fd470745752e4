import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

describe('flushSession and cycleSessionKey', async () => {
  const { client } = await setup();

  async function stored() {
    const c = client();
    await c.data('mutation { setSessionValue(key: "user", value: 42) { exists } addToCart(sku: "A", quantity: 2) { isEmpty } }');
    return c;
  }

  it('flushSession deletes the stored session and expires the cookie', async () => {
    const c = await stored();
    const old = c.sessionCookie!;
    const r = await c.gql('mutation { flushSession { exists isEmpty keys } }');
    expect(r.body.data?.flushSession).toEqual({ exists: false, isEmpty: true, keys: [] });
    expect(r.setCookie).toMatch(/^sessionid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(c.sessionCookie).toBeUndefined();
    // replaying the old cookie gives an empty session
    const replay = client();
    replay.jar.set('sessionid', old);
    expect((await replay.data('{ session { exists keys } cart { isEmpty } }')).session).toEqual({ exists: false, keys: [] });
  });

  it('a write after a flush with the old cookie lands in a fresh session under a new key (no resurrection)', async () => {
    const c = await stored();
    const old = c.sessionCookie!;
    await c.data('mutation { flushSession { exists } }');
    const replay = client();
    replay.jar.set('sessionid', old);
    const r = await replay.data('mutation { setSessionValue(key: "after", value: true) { keys } }');
    expect(r.setSessionValue.keys).toEqual(['after']);
    expect(replay.sessionCookie).not.toBe(old);
    expect(await replay.data('{ cart { isEmpty } session { value(key: "user") } }')).toEqual({
      cart: { isEmpty: true },
      session: { value: null },
    });
  });

  it('a write after a flush in the same request gets a new key, and the response sets that cookie', async () => {
    const c = await stored();
    const old = c.sessionCookie!;
    const r = await c.gql('mutation { flushSession { exists } setSessionValue(key: "fresh", value: 1) { exists keys } }');
    expect(r.body.data?.setSessionValue).toEqual({ exists: true, keys: ['fresh'] });
    expect(c.sessionCookie).toBeDefined();
    expect(c.sessionCookie!.split('.')[0]).not.toBe(old.split('.')[0]);
  });

  it('flushSession on a session that is not stored still expires any cookie', async () => {
    const c = client();
    c.jar.set('sessionid', 'junk');
    const r = await c.gql('mutation { flushSession { exists } }');
    expect(r.body.data?.flushSession.exists).toBe(false);
    expect(r.setCookie).toMatch(/Max-Age=0/);
  });

  it('cycleSessionKey keeps the data under a new key, and the old cookie stops working', async () => {
    const c = await stored();
    const old = c.sessionCookie!;
    const r = await c.gql('mutation { cycleSessionKey { exists keys value(key: "user") } }');
    expect(r.body.data?.cycleSessionKey).toEqual({ exists: true, keys: ['cart', 'user'], value: 42 });
    expect(c.sessionCookie).toBeDefined();
    expect(c.sessionCookie!.split('.')[0]).not.toBe(old.split('.')[0]);
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(2);
    const replay = client();
    replay.jar.set('sessionid', old);
    expect((await replay.data('{ session { exists } }')).session.exists).toBe(false);
  });

  it('cycleSessionKey on a session that is not stored changes nothing', async () => {
    const c = client();
    const r = await c.gql('mutation { cycleSessionKey { exists } }');
    expect(r.body.data?.cycleSessionKey.exists).toBe(false);
    expect(r.setCookie).toBeNull();
  });
});
