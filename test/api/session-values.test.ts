import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

const SESSION = 'exists isEmpty keys items { key value }';

describe('generic session keys (request.session[key])', async () => {
  const { client } = await setup();

  it('a new visitor has an empty session that is not stored, and reading sets no cookie', async () => {
    const c = client();
    const r = await c.gql(`{ session { ${SESSION} expiresAt } }`);
    expect(r.body.data?.session).toEqual({ exists: false, isEmpty: true, keys: [], items: [], expiresAt: null });
    expect(r.setCookie).toBeNull();
  });

  it('setSessionValue stores the session, sets the cookie, and the value reads back on the next request', async () => {
    const c = client();
    const set = await c.gql(`mutation { setSessionValue(key: "username", value: "alice") { ${SESSION} } }`);
    expect(set.body.data?.setSessionValue).toEqual({
      exists: true,
      isEmpty: false,
      keys: ['username'],
      items: [{ key: 'username', value: 'alice' }],
    });
    expect(set.setCookie).toMatch(/^sessionid=/);
    const read = await c.data('{ session { value(key: "username") has(key: "username") exists } }');
    expect(read.session).toEqual({ value: 'alice', has: true, exists: true });
  });

  it('any JSON value round-trips, null included (has is then true)', async () => {
    const c = client();
    const value = { a: [1, 2.5, 'x', true, null], nested: { deep: { deeper: ['é', '😀'] } }, n: -0.001 };
    await c.data('mutation($v: JSON) { setSessionValue(key: "obj", value: $v) { exists } }', { v: value });
    await c.data('mutation { setSessionValue(key: "nothing", value: null) { exists } }');
    await c.data('mutation { setSessionValue(key: "literal", value: {x: [1, "two", {three: 3}]}) { exists } }');
    const r = await c.data(`{ session {
      obj: value(key: "obj") nothing: value(key: "nothing") hasNothing: has(key: "nothing")
      literal: value(key: "literal") absent: value(key: "absent") hasAbsent: has(key: "absent") } }`);
    expect(r.session).toEqual({
      obj: value,
      nothing: null,
      hasNothing: true,
      literal: { x: [1, 'two', { three: 3 }] },
      absent: null,
      hasAbsent: false,
    });
  });

  it('keys and items are sorted by key', async () => {
    const c = client();
    for (const key of ['zeta', 'alpha', 'Mid', 'beta']) {
      await c.data('mutation($k: String!) { setSessionValue(key: $k, value: 1) { exists } }', { k: key });
    }
    const r = await c.data('{ session { keys items { key } } }');
    expect(r.session.keys).toEqual(['Mid', 'alpha', 'beta', 'zeta']);
    expect(r.session.items.map((i: { key: string }) => i.key)).toEqual(['Mid', 'alpha', 'beta', 'zeta']);
  });

  it('keys like constructor and toString, and __proto__ inside values, are plain data', async () => {
    const c = client();
    const r0 = await c.data('{ session { ctor: value(key: "constructor") has: has(key: "toString") } }');
    expect(r0.session).toEqual({ ctor: null, has: false });
    await c.data('mutation { setSessionValue(key: "constructor", value: {__proto__: {polluted: true}}) { exists } }');
    await c.data('mutation($v: JSON) { setSessionValue(key: "toString", value: $v) { exists } }', {
      v: JSON.parse('{"__proto__": {"polluted": 1}}'),
    });
    const r = await c.data('{ session { keys ctor: value(key: "constructor") str: value(key: "toString") } }');
    expect(r.session.keys).toEqual(['constructor', 'toString']);
    expect(JSON.stringify(r.session.ctor)).toBe('{"__proto__":{"polluted":true}}');
    expect(JSON.stringify(r.session.str)).toBe('{"__proto__":{"polluted":1}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('removeSessionValue deletes a key and is no error when the key is absent', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "a", value: 1) { exists } }');
    await c.data('mutation { setSessionValue(key: "b", value: 2) { exists } }');
    const r = await c.data('mutation { removeSessionValue(key: "a") { keys } }');
    expect(r.removeSessionValue.keys).toEqual(['b']);
    const again = await c.data('mutation { removeSessionValue(key: "a") { keys exists } }');
    expect(again.removeSessionValue).toEqual({ keys: ['b'], exists: true });
  });

  it('removing from a session that is not stored stores nothing and sets no cookie', async () => {
    const c = client();
    const r = await c.gql('mutation { removeSessionValue(key: "a") { exists } clearSession { exists } }');
    expect(r.body.data).toEqual({ removeSessionValue: { exists: false }, clearSession: { exists: false } });
    expect(r.setCookie).toBeNull();
  });

  it('clearSession removes every key but keeps the session and its key', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "a", value: 1) { exists } addToCart(sku: "x") { totalQuantity } }');
    const cookie = c.sessionCookie;
    const r = await c.data('mutation { clearSession { exists isEmpty keys } }');
    expect(r.clearSession).toEqual({ exists: true, isEmpty: true, keys: [] });
    expect(c.sessionCookie).toBe(cookie);
    expect((await c.data('{ session { exists isEmpty } }')).session).toEqual({ exists: true, isEmpty: true });
  });

  it('typed keys cart and preferences show in keys but cannot be written directly', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "x") { totalQuantity } }');
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['cart']);
    for (const key of ['cart', 'preferences']) {
      const e = await c.error(`mutation { setSessionValue(key: "${key}", value: 1) { exists } }`);
      expect(e.code).toBe('BAD_USER_INPUT');
      expect(e.message).toMatch(/^key: /);
    }
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
  });

  it.each([
    ['', /key: must be 1 to 256 characters/],
    ['x'.repeat(257), /key: must be 1 to 256 characters/],
    ['_auth_user_id', /key: must not start with "_"/],
  ])('an invalid key %# is BAD_USER_INPUT naming the argument and the rule, and nothing is written', async (key, rule) => {
    const c = client();
    const e = await c.error('mutation($k: String!) { setSessionValue(key: $k, value: 1) { exists } }', { k: key });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(rule);
    expect(e.response.setCookie).toBeNull();
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
  });

  it('a key of 256 characters, unicode counted as characters, is fine', async () => {
    const c = client();
    const key = '😀'.repeat(256);
    const r = await c.data('mutation($k: String!) { setSessionValue(key: $k, value: 1) { keys } }', { k: key });
    expect(r.setSessionValue.keys).toEqual([key]);
  });
});

describe('deeply nested values', async () => {
  const { client } = await setup({ SESSION_MAX_BYTES: '65536' });
  const nested = (depth: number) => {
    let v: unknown = 'core';
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };

  it('a number JSON cannot hold (1e400) is BAD_USER_INPUT, inline or in a variable, and nothing is written', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "kept", value: 1) { exists } }');
    const inline = await c.error('mutation { setSessionValue(key: "big", value: {a: 1e400}) { exists } }');
    expect([inline.code, inline.message]).toEqual(['BAD_USER_INPUT', expect.stringMatching(/^value: numbers must be finite/)]);
    // As a client sends it: the JSON text of the variables holds the literal 1e400 (JSON.stringify would write null).
    const r = await c.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: c.accept },
      body: '{"query":"mutation($v: JSON) { setSessionValue(key: \\"big\\", value: $v) { exists } }","variables":{"v":[1, -1e400]}}',
    });
    expect((await r.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['kept']);
  });

  it('a variable used inside a JSON literal is null when not given, even named like an Object property', async () => {
    const c = client();
    const r = await c.data(
      'mutation($constructor: JSON, $toString: JSON) { setSessionValue(key: "v", value: {a: $constructor, b: [$toString]}) { value(key: "v") } }',
    );
    expect(r.setSessionValue.value).toEqual({ a: null, b: [null] });
  });

  it('a variable of the wrong type, or a null for a non-null argument, is BAD_USER_INPUT naming the variable', async () => {
    const c = client();
    const wrongType = await c.error('mutation($k: String!) { setSessionValue(key: $k, value: 1) { exists } }', { k: 5 });
    expect([wrongType.code, wrongType.message]).toEqual(['BAD_USER_INPUT', expect.stringMatching(/^Variable "\$k" got invalid value 5/)]);
    const missing = await c.error('mutation($k: String!) { setSessionValue(key: $k, value: 1) { exists } }');
    expect([missing.code, missing.message]).toEqual(['BAD_USER_INPUT', expect.stringMatching(/^Variable "\$k" of required type/)]);
    const notInt = await c.error('mutation($q: Int) { addToCart(sku: "A", quantity: $q) { totalQuantity } }', { q: 1.5 });
    expect(notInt.code).toBe('BAD_USER_INPUT');
    expect(c.sessionCookie).toBeUndefined();
  });

  it('a value nested 1000 levels deep round-trips; 1001 is BAD_USER_INPUT naming the rule, nothing written', async () => {
    const c = client();
    await c.data('mutation($v: JSON) { setSessionValue(key: "deep", value: $v) { exists } }', { v: nested(1000) });
    expect((await c.data('{ session { value(key: "deep") } }')).session.value).toEqual(nested(1000));
    const e = await c.error('mutation($v: JSON) { setSessionValue(key: "deeper", value: $v) { exists } }', { v: nested(1001) });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toBe('value: must be nested at most 1000 levels deep');
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['deep']);
  });
});
