/**
 * The shop's GraphQL schema, with Pothos. Three kinds of field:
 * - the catalogue (`products`, `product`): plain Drizzle queries;
 * - session areas on their own (`wishlistSkus`, `addToWishlist`, …):
 *   `areaField` and `areaMutation` from sessionql/pothos, no resolver written by hand;
 * - session data joined with the catalogue (`wishlist`, `cart`, `viewProduct`,
 *   `addToCart`): resolvers that use `ctx.session` and `ctx.db` together.
 */
import SchemaBuilder from '@pothos/core';
import { type Cart, cart, InputError } from 'sessionql';
import { areaField, areaMutation, type SessionContext, sessionValueField } from 'sessionql/pothos';
import { recent } from './areas/recent.js';
import { checkSku } from './areas/sku.js';
import { wishlist } from './areas/wishlist.js';
import { findProduct, listProducts, type Product, productsInOrder, type ShopDb } from './db.js';

/** What resolvers get: `session` from useSessions, `db` from the server's context function. */
export interface ShopContext extends SessionContext {
  readonly db: ShopDb;
}

export interface ShopCartLine {
  sku: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

export interface ShopCart {
  lines: ShopCartLine[];
  totalQuantity: number;
  totalCents: number;
}

const builder = new SchemaBuilder<{ Context: ShopContext; DefaultFieldNullability: false }>({ defaultFieldNullability: false });

const ProductRef = builder.objectRef<Product>('Product').implement({
  fields: (t) => ({
    sku: t.exposeString('sku'),
    name: t.exposeString('name'),
    priceCents: t.exposeInt('priceCents'),
  }),
});

const ShopCartLineRef = builder.objectRef<ShopCartLine>('ShopCartLine').implement({
  fields: (t) => ({
    sku: t.exposeString('sku'),
    name: t.exposeString('name'),
    unitPriceCents: t.exposeInt('unitPriceCents'),
    quantity: t.exposeInt('quantity'),
    lineTotalCents: t.exposeInt('lineTotalCents'),
  }),
});

const ShopCartRef = builder.objectRef<ShopCart>('ShopCart').implement({
  description: "sessionql's built-in cart, priced from the catalogue.",
  fields: (t) => ({
    lines: t.field({ type: [ShopCartLineRef], resolve: (c) => c.lines }),
    totalQuantity: t.exposeInt('totalQuantity'),
    totalCents: t.exposeInt('totalCents'),
  }),
});

/** The session's cart with each line's product; lines whose product was withdrawn are left out. */
async function pricedCart(db: ShopDb, stored: Cart): Promise<ShopCart> {
  const found = new Map(
    (
      await productsInOrder(
        db,
        stored.items.map((item) => item.sku),
      )
    ).map((p) => [p.sku, p]),
  );
  const lines = stored.items.flatMap((item) => {
    const product = found.get(item.sku);
    if (!product) return [];
    const { sku, name, priceCents } = product;
    return [{ sku, name, unitPriceCents: priceCents, quantity: item.quantity, lineTotalCents: priceCents * item.quantity }];
  });
  return {
    lines,
    totalQuantity: lines.reduce((sum, line) => sum + line.quantity, 0),
    totalCents: lines.reduce((sum, line) => sum + line.lineTotalCents, 0),
  };
}

/** The product of `sku`, or BAD_USER_INPUT naming `sku` (sessionql maps InputError). */
async function existingProduct(db: ShopDb, sku: string): Promise<Product> {
  const product = await findProduct(db, sku);
  if (!product) throw new InputError('sku', `no product has the SKU "${sku}"; nothing was changed`);
  return product;
}

builder.queryType({
  fields: (t) => ({
    products: t.field({ type: [ProductRef], resolve: (_root, _args, ctx) => listProducts(ctx.db) }),
    product: t.field({
      type: ProductRef,
      nullable: true,
      args: { sku: t.arg.string({ required: true }) },
      resolve: (_root, { sku }, ctx) => findProduct(ctx.db, sku),
    }),
    wishlist: t.field({
      type: [ProductRef],
      description: 'The saved products, oldest first.',
      resolve: async (_root, _args, ctx) => productsInOrder(ctx.db, await ctx.session.read(wishlist)),
    }),
    // The area's value as it is: no join, no resolver.
    wishlistSkus: areaField(t, wishlist, { type: ['String'], description: 'The saved SKUs, oldest first.' }),
    recentlyViewed: t.field({
      type: [ProductRef],
      description: 'The last 10 products viewed, most recent first.',
      resolve: async (_root, _args, ctx) => productsInOrder(ctx.db, await ctx.session.read(recent)),
    }),
    cart: t.field({ type: ShopCartRef, resolve: async (_root, _args, ctx) => pricedCart(ctx.db, await ctx.session.read(cart)) }),
    // A plain session key, read Django-style (`request.session.get('visits')`).
    visitCount: sessionValueField(t, 'visits', { type: 'Int', description: 'The `visits` counter; null before the first visit.' }),
  }),
});

builder.mutationType({
  fields: (t) => ({
    // The area alone is enough: its operation checks the input and makes the change.
    // (The wishlist does not ask the catalogue: a SKU of no product is kept, and
    // left out of `wishlist` by the join, as a product withdrawn later would be.)
    addToWishlist: areaMutation(t, wishlist, 'add', {
      type: ['String'],
      description: 'Saves a product (at most 50); returns the saved SKUs.',
      args: { sku: t.arg.string({ required: true }) },
    }),
    removeFromWishlist: areaMutation(t, wishlist, 'remove', {
      type: ['String'],
      description: 'Removes a saved product (no error when absent); returns the saved SKUs.',
      args: { sku: t.arg.string({ required: true }) },
    }),
    clearWishlist: areaMutation(t, wishlist, 'clear', { type: ['String'] }),

    // The area and the catalogue: the product must exist before anything is written.
    // (Check, then write: a product deleted in between is left out by the joins.)
    viewProduct: t.field({
      type: [ProductRef],
      description: 'Records a product view; returns the recently viewed products.',
      args: { sku: t.arg.string({ required: true }) },
      resolve: async (_root, { sku }, ctx) => {
        checkSku({ sku }); // a malformed SKU is refused before the database is asked
        await existingProduct(ctx.db, sku);
        return productsInOrder(ctx.db, await ctx.session.apply(recent, 'view', { sku }));
      },
    }),
    addToCart: t.field({
      type: ShopCartRef,
      description: "Adds quantity (default 1) of a product to sessionql's cart; returns the priced cart.",
      args: { sku: t.arg.string({ required: true }), quantity: t.arg.int({ required: true, defaultValue: 1 }) },
      resolve: async (_root, { sku, quantity }, ctx) => {
        checkSku({ sku }); // the quantity is the cart's to check
        await existingProduct(ctx.db, sku);
        return pricedCart(ctx.db, await ctx.session.apply(cart, 'add', { sku, quantity }));
      },
    }),

    // Django's dict-like API on a plain key: one atomic read-modify-write.
    visits: t.int({
      description: 'Counts a visit; returns the new count.',
      resolve: async (_root, _args, ctx) => (await ctx.session.update<number>('visits', (n) => (n ?? 0) + 1)) ?? 0,
    }),
  }),
});

export const schema = builder.toSchema();
