import { describe, expect, it } from 'vitest';
import {
  CART_LIMITS,
  cart as cartArea,
  validateAddQuantity,
  validateLabel,
  validateSetQuantity,
  validateSku,
} from '../../src/areas/cart.js';
import { inputError } from '../helpers/input-error.js';

describe('cart validation: BAD_USER_INPUT names the argument and the rule', () => {
  it('sku: 1 to 64 characters', () => {
    expect(validateSku('A')).toBe('A');
    expect(validateSku('x'.repeat(64))).toBe('x'.repeat(64));
    for (const bad of ['', 'x'.repeat(65), 'x'.repeat(1000)]) {
      const e = inputError(() => validateSku(bad));
      expect(e.argument).toBe('sku');
      expect(e.rule).toMatch(/1 to 64 characters/);
      expect(e.message).toMatch(/^sku: .*1 to 64/);
    }
  });

  it('sku length counts characters (unicode code points), not UTF-16 units', () => {
    const emoji = '😀'.repeat(64); // 128 UTF-16 units
    expect(emoji.length).toBe(128);
    expect(validateSku(emoji)).toBe(emoji);
    expect(validateSku('é'.repeat(64))).toBe('é'.repeat(64));
    expect(inputError(() => validateSku('😀'.repeat(65))).argument).toBe('sku');
  });

  it('quantity on add: 1 to 999', () => {
    for (const ok of [1, 2, 500, 999]) expect(validateAddQuantity(ok)).toBe(ok);
    for (const bad of [0, -1, 1000, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = inputError(() => validateAddQuantity(bad));
      expect(e.argument).toBe('quantity');
      expect(e.rule).toMatch(/1 to 999/);
    }
  });

  it('setCartItemQuantity: 0 to 999, 0 removes the line', () => {
    for (const ok of [0, 1, 999]) expect(validateSetQuantity(ok)).toBe(ok);
    for (const bad of [-1, 1000, 0.5, Number.NaN]) {
      const e = inputError(() => validateSetQuantity(bad));
      expect(e.argument).toBe('quantity');
      expect(e.rule).toMatch(/0 to 999/);
    }
  });

  it('label: up to 200 characters', () => {
    expect(validateLabel('x'.repeat(200))).toBe('x'.repeat(200));
    expect(validateLabel('')).toBe('');
    expect(validateLabel('😀'.repeat(200))).toBe('😀'.repeat(200));
    for (const bad of ['x'.repeat(201), '😀'.repeat(201)]) {
      const e = inputError(() => validateLabel(bad));
      expect(e.argument).toBe('label');
      expect(e.rule).toMatch(/at most 200 characters/);
    }
  });

  it('no label is null (a later add without a label keeps the old one)', () => {
    expect(validateLabel(null)).toBeNull();
    expect(validateLabel(undefined)).toBeNull();
  });

  it('the limits are the contract’s', () => {
    expect(CART_LIMITS).toEqual({ skuLength: 64, labelLength: 200, lineQuantity: 999, lines: 100 });
  });
});

describe('the cart area: the cart stored under the session key `cart`', () => {
  it('a session without a cart has an empty cart', () => {
    expect(cartArea.read({})).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
    expect(cartArea.read({ other: 1 })).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
  });

  it('lines keep insertion order and totalQuantity is the sum of the quantities', () => {
    const cart = cartArea.read({
      cart: [
        { sku: 'B', quantity: 2, label: 'Bee' },
        { sku: 'A', quantity: 5 },
        { sku: 'C', quantity: 999, label: null },
      ],
    });
    expect(cart.items).toEqual([
      { sku: 'B', quantity: 2, label: 'Bee' },
      { sku: 'A', quantity: 5, label: null },
      { sku: 'C', quantity: 999, label: null },
    ]);
    expect(cart.totalQuantity).toBe(1006);
    expect(cart.isEmpty).toBe(false);
  });

  it('an empty cart list is an empty cart', () => {
    expect(cartArea.read({ cart: [] })).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
  });

  it('a cart value that is not a list reads as an empty cart', () => {
    for (const cart of [null, 'A', 42, { sku: 'A', quantity: 1 }, true]) {
      expect(cartArea.read({ cart })).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
    }
  });

  it('malformed lines are skipped rather than failing the request', () => {
    const cart = cartArea.read({
      cart: [
        null,
        'A',
        7,
        [],
        { quantity: 3 },
        { sku: 'NOQTY' },
        { sku: 42, quantity: 1 },
        { sku: 'STR', quantity: '3' },
        { sku: 'FRAC', quantity: 1.5 },
        { sku: 'NAN', quantity: Number.NaN },
        { sku: 'OK', quantity: 4, label: 12 },
      ],
    });
    expect(cart.items).toEqual([{ sku: 'OK', quantity: 4, label: null }]);
    expect(cart.totalQuantity).toBe(4);
    expect(cart.isEmpty).toBe(false);
  });

  it('a stored line whose quantity is outside 1 to 999 was not written by the server and is skipped', () => {
    // A line never exceeds 999 and 0 removes the line, so such a line is a hand-edited row;
    // kept, it would make totalQuantity wrong or break GraphQL Int serialisation (2 ** 31).
    const cart = cartArea.read({
      cart: [
        { sku: 'ZERO', quantity: 0 },
        { sku: 'NEG', quantity: -5 },
        { sku: 'BIG', quantity: 1000 },
        { sku: 'HUGE', quantity: 2 ** 31 },
        { sku: 'OK', quantity: 3 },
      ],
    });
    expect(cart.items).toEqual([{ sku: 'OK', quantity: 3, label: null }]);
    expect(cart.totalQuantity).toBe(3);
  });

  it('a cart of only malformed lines is empty', () => {
    expect(cartArea.read({ cart: [null, { sku: 'X' }] })).toEqual({ items: [], totalQuantity: 0, isEmpty: true });
  });

  it('parses the lines the server writes and hand-edited ones alike, into the same shape', () => {
    // The lines the server writes are checked without zod (src/areas/cart.ts, writtenLine); the rest with it.
    const value = cartArea.value({
      cart: [
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 2, label: 'Bee' },
        { sku: 'C', quantity: 3, label: null },
        { sku: 'D', quantity: 4, extra: true },
        { sku: 'E', quantity: 5, label: 'Eee', extra: 1 },
        { sku: 'F', quantity: 6, label: 7 },
        Object.assign([], { sku: 'G', quantity: 1 }),
      ],
    });
    expect(value).toStrictEqual([
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 2, label: 'Bee' },
      { sku: 'C', quantity: 3, label: undefined },
      { sku: 'D', quantity: 4 },
      { sku: 'E', quantity: 5, label: 'Eee' },
      { sku: 'F', quantity: 6, label: undefined },
    ]);
  });
});
