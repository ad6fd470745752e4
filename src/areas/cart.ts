import { validateText } from '../core/text.js';
import { InputError } from '../graphql/errors.js';

export interface CartLine {
  sku: string;
  label: string | null;
  quantity: number;
}

export interface Cart {
  items: CartLine[];
  totalQuantity: number;
  isEmpty: boolean;
}

/** Limits from the contract (SEMANTICS.md, "Cart"). */
export const CART_LIMITS = { skuLength: 64, labelLength: 200, lineQuantity: 999, lines: 100 } as const;

const length = (s: string) => [...s].length;

export function validateSku(sku: string): string {
  const n = length(sku);
  if (n < 1 || n > CART_LIMITS.skuLength) {
    throw new InputError('sku', `must be 1 to ${CART_LIMITS.skuLength} characters (got ${n})`);
  }
  return validateText('sku', sku);
}

export function validateLabel(label: string | null | undefined): string | null {
  if (label === null || label === undefined) return null;
  const n = length(label);
  if (n > CART_LIMITS.labelLength) {
    throw new InputError('label', `must be at most ${CART_LIMITS.labelLength} characters (got ${n})`);
  }
  return validateText('label', label);
}

/** addToCart: 1 to 999. */
export function validateAddQuantity(quantity: number): number {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > CART_LIMITS.lineQuantity) {
    throw new InputError('quantity', `must be 1 to ${CART_LIMITS.lineQuantity} (got ${quantity})`);
  }
  return quantity;
}

/** setCartItemQuantity: 0 to 999, 0 removes the line. */
export function validateSetQuantity(quantity: number): number {
  if (!Number.isInteger(quantity) || quantity < 0 || quantity > CART_LIMITS.lineQuantity) {
    throw new InputError('quantity', `must be 0 to ${CART_LIMITS.lineQuantity} (got ${quantity})`);
  }
  return quantity;
}

/**
 * The cart stored under the session key `cart`. Lines the server did not
 * write (a hand-edited row) are skipped rather than failing the request.
 */
export function cartFromData(data: Record<string, unknown>): Cart {
  const raw = data.cart;
  const items: CartLine[] = [];
  if (Array.isArray(raw)) {
    for (const line of raw) {
      if (line === null || typeof line !== 'object') continue;
      const { sku, quantity, label } = line as Record<string, unknown>;
      if (typeof sku !== 'string' || typeof quantity !== 'number' || !Number.isInteger(quantity)) continue;
      if (quantity < 1 || quantity > CART_LIMITS.lineQuantity) continue;
      items.push({ sku, quantity, label: typeof label === 'string' ? label : null });
    }
  }
  const totalQuantity = items.reduce((sum, line) => sum + line.quantity, 0);
  return { items, totalQuantity, isEmpty: items.length === 0 };
}
