import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

const CART = 'items { sku label quantity } totalQuantity isEmpty';

describe('the cart', async () => {
  const { client } = await setup();

  it('starts empty', async () => {
    expect((await client().data(`{ cart { ${CART} } }`)).cart).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
  });

  it('addToCart adds quantity (default 1), increases an existing line, and keeps insertion order', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "book", label: "A book") { isEmpty } }');
    await c.data('mutation { addToCart(sku: "pen", quantity: 3) { isEmpty } }');
    const r = await c.data(`mutation { addToCart(sku: "book", quantity: 2) { ${CART} } }`);
    expect(r.addToCart).toEqual({
      items: [
        { sku: 'book', label: 'A book', quantity: 3 },
        { sku: 'pen', label: null, quantity: 3 },
      ],
      totalQuantity: 6,
      isEmpty: false,
    });
    expect((await c.data(`{ session { cart { ${CART} } } }`)).session.cart).toEqual(r.addToCart);
  });

  it('a later add with a label replaces it; without one keeps the old label', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "x", label: "first") { isEmpty } }');
    await c.data('mutation { addToCart(sku: "x") { isEmpty } }');
    expect((await c.data('{ cart { items { label } } }')).cart.items[0].label).toBe('first');
    await c.data('mutation { addToCart(sku: "x", label: "second") { isEmpty } }');
    expect((await c.data('{ cart { items { label quantity } } }')).cart.items[0]).toEqual({ label: 'second', quantity: 3 });
  });

  it('setCartItemQuantity sets a line, adds an absent one, and 0 removes it', async () => {
    const c = client();
    await c.data('mutation { a: addToCart(sku: "a") { isEmpty } b: addToCart(sku: "b") { isEmpty } }');
    expect(
      (await c.data('mutation { setCartItemQuantity(sku: "a", quantity: 7) { items { sku quantity } } }')).setCartItemQuantity.items,
    ).toEqual([
      { sku: 'a', quantity: 7 },
      { sku: 'b', quantity: 1 },
    ]);
    expect(
      (await c.data('mutation { setCartItemQuantity(sku: "c", quantity: 2) { items { sku } } }')).setCartItemQuantity.items.map(
        (i: any) => i.sku,
      ),
    ).toEqual(['a', 'b', 'c']);
    expect(
      (await c.data('mutation { setCartItemQuantity(sku: "a", quantity: 0) { items { sku } totalQuantity } }')).setCartItemQuantity,
    ).toEqual({
      items: [{ sku: 'b' }, { sku: 'c' }],
      totalQuantity: 3,
    });
  });

  it('removeFromCart removes a line, no error when absent; clearCart empties it', async () => {
    const c = client();
    await c.data('mutation { a: addToCart(sku: "a") { isEmpty } b: addToCart(sku: "b") { isEmpty } }');
    expect((await c.data('mutation { removeFromCart(sku: "a") { items { sku } } }')).removeFromCart.items).toEqual([{ sku: 'b' }]);
    expect((await c.data('mutation { removeFromCart(sku: "zzz") { items { sku } } }')).removeFromCart.items).toEqual([{ sku: 'b' }]);
    expect((await c.data(`mutation { clearCart { ${CART} } }`)).clearCart).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
    expect((await c.data('{ session { exists has(key: "cart") } }')).session).toEqual({ exists: true, has: false });
  });

  it('cart mutations on a session that is not stored: adding stores it, removing stores nothing', async () => {
    const c = client();
    const r = await c.gql(
      'mutation { removeFromCart(sku: "a") { isEmpty } clearCart { isEmpty } setCartItemQuantity(sku: "a", quantity: 0) { isEmpty } }',
    );
    expect(r.setCookie).toBeNull();
    const a = await c.gql('mutation { addToCart(sku: "a") { isEmpty } }');
    expect(a.setCookie).toMatch(/^sessionid=/);
  });

  it.each([
    ['addToCart(sku: "")', /^sku: must be 1 to 64 characters/],
    [`addToCart(sku: "${'s'.repeat(65)}")`, /^sku: must be 1 to 64 characters/],
    ['addToCart(sku: "a", quantity: 0)', /^quantity: must be 1 to 999/],
    ['addToCart(sku: "a", quantity: 1000)', /^quantity: must be 1 to 999/],
    [`addToCart(sku: "a", label: "${'l'.repeat(201)}")`, /^label: must be at most 200 characters/],
    ['setCartItemQuantity(sku: "a", quantity: -1)', /^quantity: must be 0 to 999/],
    ['setCartItemQuantity(sku: "a", quantity: 1000)', /^quantity: must be 0 to 999/],
  ])('%s is BAD_USER_INPUT naming the argument and the rule, and nothing is written', async (call, message) => {
    const c = client();
    await c.data('mutation { addToCart(sku: "a", quantity: 5) { isEmpty } }');
    const e = await c.error(`mutation { ${call} { isEmpty } }`);
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(message);
    expect(e.response.setCookie).toBeNull();
    expect((await c.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'a', quantity: 5 }]);
  });

  it('a line never exceeds 999: an add that would is refused and changes nothing', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "a", quantity: 998) { isEmpty } }');
    const e = await c.error('mutation { addToCart(sku: "a", quantity: 2) { isEmpty } }');
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(/^quantity: .*999/);
    expect((await c.data('mutation { addToCart(sku: "a") { totalQuantity } }')).addToCart.totalQuantity).toBe(999);
  });

  it('at most 100 distinct lines', async () => {
    const c = client();
    for (let i = 0; i < 100; i++) await c.data(`mutation { addToCart(sku: "sku-${i}") { isEmpty } }`);
    const e = await c.error('mutation { addToCart(sku: "one-too-many") { isEmpty } }');
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(/100 distinct lines/);
    const set = await c.error('mutation { setCartItemQuantity(sku: "one-too-many", quantity: 1) { isEmpty } }');
    expect(set.code).toBe('BAD_USER_INPUT');
    // an existing line can still grow
    expect((await c.data('mutation { addToCart(sku: "sku-0") { totalQuantity } }')).addToCart.totalQuantity).toBe(101);
    expect((await c.data('{ cart { items { sku } } }')).cart.items).toHaveLength(100);
  });

  it('SKUs with quotes, JSON-path and SQL characters are plain strings', async () => {
    const c = client();
    const skus = [`it's`, '{cart,0}', '"; DROP TABLE sessionql_session; --', '$.a[0]', 'ü'];
    for (const sku of skus) await c.data('mutation($s: String!) { addToCart(sku: $s) { isEmpty } }', { s: sku });
    expect((await c.data('{ cart { items { sku } } }')).cart.items.map((i: any) => i.sku)).toEqual(skus);
  });
});
