import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

describe('SESSION_MAX_BYTES', async () => {
  const { client, config } = await setup({ SESSION_MAX_BYTES: '2048' });

  it('a write that would make the session exceed the limit fails with SESSION_TOO_LARGE and changes nothing', async () => {
    const c = client();
    await c.data('mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }', { v: 'x'.repeat(1500) });
    const e = await c.error('mutation($v: JSON) { setSessionValue(key: "b", value: $v) { exists } }', { v: 'y'.repeat(600) });
    expect(e.code).toBe('SESSION_TOO_LARGE');
    expect(e.message).toMatch(/SESSION_MAX_BYTES/);
    expect(e.response.setCookie).toBeNull();
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['a']);
    // replacing the big value with a small one is fine
    await c.data('mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }', { v: 'small' });
    await c.data('mutation($v: JSON) { setSessionValue(key: "b", value: $v) { exists } }', { v: 'y'.repeat(600) });
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['a', 'b']);
  });

  it('the limit counts the bytes of the JSON as written (compact, UTF-8), the same on every engine', async () => {
    const set = 'mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }';
    const size = (v: unknown) => Buffer.byteLength(JSON.stringify({ a: v }));
    // Strings with multi-byte characters, and an object and array whose separators PostgreSQL would print with
    // spaces (jsonb's text of these is longer than the limit): exactly at the limit, then one byte over.
    const filler = (bytes: number) => 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2);
    const shapes: ((bytes: number) => unknown)[] = [
      (bytes) => filler(bytes - size('')),
      (bytes) => {
        const v: Record<string, unknown> = {};
        for (let i = 0; i < 40; i++) v[`k${i}`] = [i, true, null];
        v.rest = '';
        v.rest = filler(bytes - size(v));
        return v;
      },
    ];
    for (const shape of shapes) {
      const c = client();
      const fits = shape(config.maxBytes);
      expect(size(fits)).toBe(config.maxBytes);
      await c.data(set, { v: fits });
      expect((await c.data('{ session { value(key: "a") } }')).session.value).toEqual(fits);
      const over = shape(config.maxBytes + 1);
      expect(size(over)).toBe(config.maxBytes + 1);
      expect((await c.error(set, { v: over })).code).toBe('SESSION_TOO_LARGE');
      expect((await c.data('{ session { value(key: "a") } }')).session.value).toEqual(fits);
    }
  });

  it('numbers count as stored, in plain decimal (as PostgreSQL keeps them): 1e308 is 309 bytes, not 5', async () => {
    const set = (key: string) => `mutation($v: JSON) { setSessionValue(key: "${key}", value: $v) { exists } }`;
    const c = client();
    const six = Array.from({ length: 6 }, () => 1e308);
    await c.data(set('a'), { v: six }); // {"a":[1000…0,…]}: 1,867 bytes
    expect((await c.data('{ session { value(key: "a") } }')).session.value).toEqual(six);
    // 314 more bytes: over 2,048, though JSON.stringify would write all of it in 48.
    expect((await c.error(set('b'), { v: 1e308 })).code).toBe('SESSION_TOO_LARGE');
    expect((await c.error(set('b'), { v: Array.from({ length: 7 }, () => 5e-324) })).code).toBe('SESSION_TOO_LARGE');
    await c.data(set('b'), { v: 1.5e-7 });
    expect((await c.data('{ session { value(key: "b") } }')).session.value).toBe(1.5e-7);
  });

  it('a value too large on its own is refused before any session is created', async () => {
    const c = client();
    const e = await c.error('mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }', {
      v: 'z'.repeat(config.maxBytes + 1),
    });
    expect(e.code).toBe('SESSION_TOO_LARGE');
    expect(e.response.setCookie).toBeNull();
    const e2 = await c.error('mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }', {
      v: 'z'.repeat(config.maxBytes - 3),
    });
    expect(e2.code).toBe('SESSION_TOO_LARGE');
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
  });

  it('cart and preference writes count toward the limit too', async () => {
    const c = client();
    await c.data('mutation($v: JSON) { setSessionValue(key: "a", value: $v) { exists } }', { v: 'x'.repeat(1900) });
    const e = await c.error(`mutation { addToCart(sku: "book", label: "${'l'.repeat(200)}") { isEmpty } }`);
    expect(e.code).toBe('SESSION_TOO_LARGE');
    const p = await c.error(
      `mutation { updatePreferences(input: { filters: [{ field: "f", values: [${Array.from({ length: 50 }, () => '"value"').join(',')}] }] }) { theme } }`,
    );
    expect(p.code).toBe('SESSION_TOO_LARGE');
    expect((await c.data('{ session { keys } }')).session.keys).toEqual(['a']);
  });
});
