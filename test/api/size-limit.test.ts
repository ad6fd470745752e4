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
