import {
  type Cart,
  type CartLine,
  cartFromData,
  validateAddQuantity,
  validateLabel,
  validateSetQuantity,
  validateSku,
} from '../../areas/cart.js';
import type { SessionSnapshot } from '../../core/session.js';
import { addToCart, clearCart, removeFromCart, setCartQuantity } from '../../engines/postgres/compiled/cart.js';
import { builder } from '../builder.js';

export const CartRef = builder.objectRef<Cart>('Cart');
const CartItemRef = builder.objectRef<CartLine>('CartItem');

export const cartOf = (s: SessionSnapshot): Cart => cartFromData(s.data);

CartItemRef.implement({
  fields: (t) => ({
    sku: t.exposeString('sku'),
    label: t.exposeString('label', { nullable: true }),
    quantity: t.exposeInt('quantity'),
  }),
});

CartRef.implement({
  fields: (t) => ({
    items: t.field({ type: [CartItemRef], resolve: (c) => c.items }),
    totalQuantity: t.exposeInt('totalQuantity', { description: 'Sum of the quantities.' }),
    isEmpty: t.exposeBoolean('isEmpty'),
  }),
});

builder.queryField('cart', (t) =>
  t.field({
    type: CartRef,
    description: 'Shortcut for session.cart.',
    resolve: async (_root, _args, ctx) => cartOf(await ctx.session.load()),
  }),
);

builder.mutationFields((t) => ({
  addToCart: t.field({
    type: CartRef,
    description: "Adds quantity (default 1) of a SKU; an existing line's quantity is increased.",
    args: {
      sku: t.arg.string({ required: true }),
      quantity: t.arg.int({ required: true, defaultValue: 1 }),
      label: t.arg.string(),
    },
    resolve: async (_root, args, ctx) =>
      cartOf(
        await ctx.session.change(addToCart, {
          sku: validateSku(args.sku),
          quantity: validateAddQuantity(args.quantity),
          label: validateLabel(args.label),
        }),
      ),
  }),
  setCartItemQuantity: t.field({
    type: CartRef,
    description: "Sets a line's quantity; 0 removes the line.",
    args: { sku: t.arg.string({ required: true }), quantity: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const sku = validateSku(args.sku);
      const quantity = validateSetQuantity(args.quantity);
      const change = quantity === 0 ? removeFromCart : setCartQuantity;
      return cartOf(await ctx.session.change(change, { sku, quantity }));
    },
  }),
  removeFromCart: t.field({
    type: CartRef,
    description: 'Removes a line; no error when absent.',
    args: { sku: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => cartOf(await ctx.session.change(removeFromCart, { sku: validateSku(args.sku) })),
  }),
  clearCart: t.field({
    type: CartRef,
    resolve: async (_root, _args, ctx) => cartOf(await ctx.session.change(clearCart, {})),
  }),
}));
