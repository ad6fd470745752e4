/**
 * The shop example end to end, over HTTP with a cookie jar: the fast handler
 * for POST/GET, and Yoga's own handler through `yoga.fetch`. PGlite by
 * default; PostgreSQL (sessions and products) when DATABASE_URL is set.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECENT_LIMIT } from '../src/areas/recent.js';
import { WISHLIST_LIMIT } from '../src/areas/wishlist.js';
import { products, SEED_PRODUCTS } from '../src/db.js';
import { createShop, type Shop } from '../src/server.js';
import { ShopClient } from './client.js';

const databaseUrl = process.env.DATABASE_URL || undefined;
const SECRET = 'shop-example-test-secret-of-32-or-more-characters';

// Products only these tests see: a prefix of this run, so parallel runs on one PostgreSQL do not clash.
const PREFIX = `T${process.pid.toString(36)}${Date.now().toString(36)}`.toUpperCase();
const extraSkus = Array.from({ length: RECENT_LIMIT + 2 }, (_, i) => `${PREFIX}-${String(i).padStart(2, '0')}`);

const seeded = (sku: string) => {
  const product = SEED_PRODUCTS.find((p) => p.sku === sku);
  if (!product) throw new Error(`${sku} is not seeded`);
  return product;
};
const mug = seeded('MUG-01');
const tee = seeded('TEE-01');
const pin = seeded('PIN-01');

let shop: Shop;
let server: Server;
let base: string;
const client = () => new ShopClient(base);

beforeAll(async () => {
  shop = await createShop({ secret: SECRET, databaseUrl, sessionsDir: 'memory://' });
  await shop.catalogue.db
    .insert(products)
    .values(extraSkus.map((sku, i) => ({ sku, name: `Test product ${i}`, priceCents: 100 + i })))
    .onConflictDoNothing();
  server = createServer(shop.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 90_000);

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (shop) {
    await shop.catalogue.db.delete(products).where(like(products.sku, `${PREFIX}-%`));
    await shop.close();
  }
});

const ADD = 'mutation($sku: String!) { addToWishlist(sku: $sku) }';
const REMOVE = 'mutation($sku: String!) { removeFromWishlist(sku: $sku) }';
const VIEW = 'mutation($sku: String!) { viewProduct(sku: $sku) { sku name } }';
const ADD_TO_CART = `mutation($sku: String!, $quantity: Int!) {
  addToCart(sku: $sku, quantity: $quantity) { lines { sku name unitPriceCents quantity lineTotalCents } totalQuantity totalCents }
}`;
const EVERYTHING = `{
  wishlistSkus
  wishlist { sku }
  recentlyViewed { sku }
  cart { lines { sku } totalCents }
  visitCount
}`;

describe('catalogue', () => {
  it('lists the seeded products and finds one by SKU', async () => {
    const {
      products: listed,
      product,
      missing,
    } = await client().data(
      `query($sku: String!) { products { sku name priceCents } product(sku: $sku) { name priceCents } missing: product(sku: "NOPE-0") { sku } }`,
      { sku: mug.sku },
    );
    expect(listed).toEqual(expect.arrayContaining(SEED_PRODUCTS.map((p) => ({ ...p }))));
    expect(product).toEqual({ name: mug.name, priceCents: mug.priceCents });
    expect(missing).toBeNull();
  });

  it('answers a GET query through the fast handler, and reading creates no session', async () => {
    const response = await fetch(`${base}/graphql?query=${encodeURIComponent('{ products { sku } wishlist { sku } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const body = await response.json();
    expect(body.data.wishlist).toEqual([]);
    expect(body.data.products.length).toBeGreaterThanOrEqual(SEED_PRODUCTS.length);
  });
});

describe('wishlist', () => {
  it('adds without duplicates, removes, and joins the saved SKUs with the catalogue', async () => {
    const c = client();
    expect((await c.data(ADD, { sku: mug.sku })).addToWishlist).toEqual([mug.sku]);
    expect(c.sessionid).toBeDefined();
    expect((await c.data(ADD, { sku: tee.sku })).addToWishlist).toEqual([mug.sku, tee.sku]);
    expect((await c.data(ADD, { sku: mug.sku })).addToWishlist).toEqual([mug.sku, tee.sku]);

    const { wishlist } = await c.data('{ wishlist { sku name priceCents } }');
    expect(wishlist).toEqual([{ ...mug }, { ...tee }]);

    expect((await c.data(REMOVE, { sku: mug.sku })).removeFromWishlist).toEqual([tee.sku]);
    expect((await c.data(REMOVE, { sku: 'NOT-THERE' })).removeFromWishlist).toEqual([tee.sku]);
    expect((await c.data('mutation { clearWishlist }')).clearWishlist).toEqual([]);
    expect((await c.data('{ wishlistSkus }')).wishlistSkus).toEqual([]);
  });

  it('refuses a malformed SKU with BAD_USER_INPUT naming `sku`, writing nothing', async () => {
    const c = client();
    const error = await c.error(ADD, { sku: 'not a sku!' });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
    expect(error.setCookie).toBeNull(); // no session was created
    expect((await c.error(ADD, { sku: 'X'.repeat(65) })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
  });

  it(`holds at most ${WISHLIST_LIMIT}: the next add is refused (BAD_USER_INPUT) and nothing changes`, async () => {
    const c = client();
    const skus = Array.from({ length: WISHLIST_LIMIT }, (_, i) => `W-${String(i).padStart(2, '0')}`);
    await c.data(ADD, { sku: skus[0] }); // the session, then the rest at once on it (atomic adds: none lost)
    await Promise.all(skus.slice(1).map((sku) => c.data(ADD, { sku })));
    const full = (await c.data<{ wishlistSkus: string[] }>('{ wishlistSkus }')).wishlistSkus;
    expect([...full].sort()).toEqual(skus);

    const error = await c.error(ADD, { sku: 'W-50' });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
    expect(error.message).toContain(`at most ${WISHLIST_LIMIT}`);
    expect((await c.data('{ wishlistSkus }')).wishlistSkus).toEqual(full);

    // Adding one already there is no change, so it is not refused.
    expect((await c.data(ADD, { sku: skus[0] })).addToWishlist).toEqual(full);
  });
});

describe('recently viewed', () => {
  it('keeps the most recent first, each once', async () => {
    const c = client();
    await c.data(VIEW, { sku: mug.sku });
    await c.data(VIEW, { sku: tee.sku });
    const { viewProduct } = await c.data(VIEW, { sku: pin.sku });
    expect(viewProduct).toEqual([pin, tee, mug].map(({ sku, name }) => ({ sku, name })));
    // Viewing again moves it to the front.
    const again = await c.data(VIEW, { sku: mug.sku });
    expect(again.viewProduct.map((p: { sku: string }) => p.sku)).toEqual([mug.sku, pin.sku, tee.sku]);
    expect((await c.data('{ recentlyViewed { sku } }')).recentlyViewed.map((p: { sku: string }) => p.sku)).toEqual([
      mug.sku,
      pin.sku,
      tee.sku,
    ]);
  });

  it(`keeps at most ${RECENT_LIMIT}`, async () => {
    const c = client();
    for (const sku of extraSkus) await c.data(VIEW, { sku });
    const { recentlyViewed } = await c.data('{ recentlyViewed { sku } }');
    expect(recentlyViewed.map((p: { sku: string }) => p.sku)).toEqual(extraSkus.slice(-RECENT_LIMIT).reverse());
  });

  it('refuses an unknown SKU with BAD_USER_INPUT, writing nothing', async () => {
    const fresh = client();
    const error = await fresh.error(VIEW, { sku: 'NOPE-1' });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
    expect(error.message).toContain('NOPE-1');
    expect(error.setCookie).toBeNull();

    const c = client();
    await c.data(VIEW, { sku: tee.sku });
    expect((await c.error(VIEW, { sku: 'NOPE-1' })).extensions?.code).toBe('BAD_USER_INPUT');
    expect((await c.data('{ recentlyViewed { sku } }')).recentlyViewed).toEqual([{ sku: tee.sku }]);
  });
});

describe('cart', () => {
  it("prices sessionql's cart from the catalogue: lines, line totals and the total", async () => {
    const c = client();
    await c.data(ADD_TO_CART, { sku: mug.sku, quantity: 2 });
    await c.data(ADD_TO_CART, { sku: pin.sku, quantity: 3 });
    const { addToCart } = await c.data(ADD_TO_CART, { sku: mug.sku, quantity: 1 });
    const expected = {
      lines: [
        { sku: mug.sku, name: mug.name, unitPriceCents: mug.priceCents, quantity: 3, lineTotalCents: 3 * mug.priceCents },
        { sku: pin.sku, name: pin.name, unitPriceCents: pin.priceCents, quantity: 3, lineTotalCents: 3 * pin.priceCents },
      ],
      totalQuantity: 6,
      totalCents: 3 * mug.priceCents + 3 * pin.priceCents,
    };
    expect(addToCart).toEqual(expected);
    const { cart } = await c.data('{ cart { lines { sku name unitPriceCents quantity lineTotalCents } totalQuantity totalCents } }');
    expect(cart).toEqual(expected);
  });

  it('refuses an unknown SKU or a bad quantity with BAD_USER_INPUT, writing nothing', async () => {
    const c = client();
    await c.data(ADD_TO_CART, { sku: tee.sku, quantity: 1 });
    const unknown = await c.error(ADD_TO_CART, { sku: 'NOPE-2', quantity: 1 });
    expect(unknown.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
    const zero = await c.error(ADD_TO_CART, { sku: tee.sku, quantity: 0 });
    expect(zero.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'quantity' });
    const { cart } = await c.data('{ cart { lines { sku quantity } totalCents } }');
    expect(cart).toEqual({ lines: [{ sku: tee.sku, quantity: 1 }], totalCents: tee.priceCents });
  });
});

describe('sessions', () => {
  it('counts 50 concurrent visits on one session exactly', async () => {
    const c = client();
    await c.data(VIEW, { sku: mug.sku }); // the session exists before the burst
    const cookie = c.sessionid;
    const counts = await Promise.all(
      Array.from({ length: 50 }, async () => (await c.data<{ visits: number }>('mutation { visits }')).visits),
    );
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await c.data('{ visitCount }')).visitCount).toBe(50);
    expect(c.sessionid).toBe(cookie);
  });

  it('a second client sees nothing of the first', async () => {
    const first = client();
    await first.data(ADD, { sku: mug.sku });
    await first.data(VIEW, { sku: tee.sku });
    await first.data(ADD_TO_CART, { sku: pin.sku, quantity: 1 });
    await first.data('mutation { visits }');

    const second = client();
    const result = await second.gql(EVERYTHING);
    expect(result.data).toEqual({
      wishlistSkus: [],
      wishlist: [],
      recentlyViewed: [],
      cart: { lines: [], totalCents: 0 },
      visitCount: null,
    });
    expect(result.setCookie).toBeNull();
    expect(second.sessionid).toBeUndefined();
  });

  it('never adopts a forged cookie: a write gets a new key, and sees nothing of the real session', async () => {
    const victim = client();
    await victim.data(ADD, { sku: mug.sku });
    const real = victim.sessionid!;

    for (const forged of ['forged', `${real.slice(0, -1)}${real.endsWith('A') ? 'B' : 'A'}`]) {
      const attacker = client();
      attacker.sessionid = forged;
      expect((await attacker.data(EVERYTHING)).wishlistSkus).toEqual([]);
      const { addToWishlist } = await attacker.data(ADD, { sku: tee.sku });
      expect(addToWishlist).toEqual([tee.sku]);
      expect(attacker.sessionid).toBeDefined();
      expect(attacker.sessionid).not.toBe(forged);
      expect(attacker.sessionid).not.toBe(real);
    }
    expect((await victim.data('{ wishlistSkus }')).wishlistSkus).toEqual([mug.sku]);
  });
});

describe("through Yoga's own handler", () => {
  const viaYoga = async (query: string, variables?: Record<string, unknown>, cookie?: string) => {
    const response = await shop.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { body: await response.json(), setCookie: response.headers.get('set-cookie') };
  };

  it('reads the session written through the fast handler, with the same joins', async () => {
    const c = client();
    await c.data(ADD, { sku: tee.sku });
    await c.data(ADD_TO_CART, { sku: mug.sku, quantity: 2 });
    const { body, setCookie } = await viaYoga('{ wishlist { sku name } cart { totalCents } }', undefined, c.cookieHeader());
    expect(body).toEqual({ data: { wishlist: [{ sku: tee.sku, name: tee.name }], cart: { totalCents: 2 * mug.priceCents } } });
    expect(setCookie).toBeNull();
  });

  it('writes with a new cookie, and maps an unknown SKU to BAD_USER_INPUT', async () => {
    const written = await viaYoga(VIEW, { sku: pin.sku });
    expect(written.body.data.viewProduct).toEqual([{ sku: pin.sku, name: pin.name }]);
    expect(written.setCookie).toMatch(/^sessionid=[^;]+;/);

    const refused = await viaYoga(VIEW, { sku: 'NOPE-3' });
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'sku' });
    expect(refused.setCookie).toBeNull();
  });
});
