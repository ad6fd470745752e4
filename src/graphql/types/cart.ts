import { type Cart, type CartLine, cart } from '../../index.js';
import { areaField, areaMutation } from '../../pothos.js';
import { builder } from '../builder.js';

export const CartRef = builder.objectRef<Cart>('Cart');
const CartItemRef = builder.objectRef<CartLine>('CartItem');

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

builder.queryField('cart', (t) => areaField(t, cart, { type: CartRef, description: 'Shortcut for session.cart.' }));

builder.mutationFields((t) => ({
  addToCart: areaMutation(t, cart, 'add', {
    type: CartRef,
    description: "Adds quantity (default 1) of a SKU; an existing line's quantity is increased.",
    args: {
      sku: t.arg.string({ required: true }),
      quantity: t.arg.int({ required: true, defaultValue: 1 }),
      label: t.arg.string(),
    },
  }),
  setCartItemQuantity: areaMutation(t, cart, 'setQuantity', {
    type: CartRef,
    description: "Sets a line's quantity; 0 removes the line.",
    args: { sku: t.arg.string({ required: true }), quantity: t.arg.int({ required: true }) },
  }),
  removeFromCart: areaMutation(t, cart, 'remove', {
    type: CartRef,
    description: 'Removes a line; no error when absent.',
    args: { sku: t.arg.string({ required: true }) },
  }),
  clearCart: areaMutation(t, cart, 'clear', { type: CartRef }),
}));
