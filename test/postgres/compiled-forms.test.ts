import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CART_LIMITS, cart } from '../../src/areas/cart.js';
import { preferences, THEMES } from '../../src/areas/preferences.js';
import type { SessionChange, SessionData } from '../../src/core/engine.js';
import { WriteRefused } from '../../src/core/errors.js';
import { clearValues, deleteValue, setValue } from '../../src/core/values.js';
import { compiledForms } from '../../src/engines/postgres/compiled/index.js';
import { SessionStore } from '../../src/engines/postgres/store.js';
import { testDatabase } from '../helpers/database.js';

// A compiled form is never the rule, only a faster way to run it: for random
// stored data and arguments, the SQL form and the area's pure function must
// give the same data, or refuse with the same code (the size limit included).

let store: SessionStore;
const MAX_BYTES = 6000;
beforeAll(async () => {
  store = new SessionStore(await testDatabase(), { ageSeconds: 100, maxBytes: MAX_BYTES });
});

const skus = fc.constantFrom('A', 'B', 'C', 'é', 'ß-1', 'x"y', 'long-sku-0123456789');
const label = fc.option(fc.string({ maxLength: 12 }), { nil: null });
const line = fc.record(
  { sku: skus, quantity: fc.integer({ min: 1, max: CART_LIMITS.lineQuantity }), label: label.map((l) => l ?? undefined) },
  { requiredKeys: ['sku', 'quantity'] },
);
/** A cart as the server writes it: distinct SKUs (a few carts near the 100-line limit). */
const storedCart = fc.oneof(
  fc.uniqueArray(line, { selector: (l) => l.sku, maxLength: 7 }),
  fc.integer({ min: 95, max: 100 }).map((n) => Array.from({ length: n }, (_, i) => ({ sku: `L${i}`, quantity: 1 + (i % 3) }))),
);
const prefs = fc.record(
  {
    theme: fc.constantFrom(...THEMES),
    language: fc.constantFrom('en', 'pt-BR', 'fr'),
    pageSize: fc.integer({ min: 1, max: 100 }),
    filters: fc.array(fc.record({ field: fc.string({ minLength: 1, maxLength: 5 }), values: fc.array(fc.string(), { maxLength: 3 }) }), {
      maxLength: 3,
    }),
  },
  { requiredKeys: [] },
);
const other = fc.dictionary(fc.constantFrom('a', 'b', 'user', 'x y'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const data = fc
  .record({ other, cart: fc.option(storedCart, { nil: undefined }), preferences: fc.option(prefs, { nil: undefined }) })
  .map(({ other: o, cart: c, preferences: p }) => {
    const d: Record<string, unknown> = { ...o };
    if (c) d.cart = c.map((l) => JSON.parse(JSON.stringify(l)));
    if (p) d.preferences = p;
    // As stored: JSON (no -0, no undefined).
    return JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  });

/** Each compiled form with the arguments its pure change is made from. */
const changes: Record<string, fc.Arbitrary<SessionChange>> = {
  'cart.add': fc
    .record({ sku: skus, quantity: fc.integer({ min: 1, max: CART_LIMITS.lineQuantity }), label })
    .map((input) => cart.change('add', input)),
  'cart.setQuantity': fc
    .record({ sku: skus, quantity: fc.integer({ min: 0, max: CART_LIMITS.lineQuantity }) })
    .map((input) => cart.change('setQuantity', input)),
  'cart.remove': skus.map((sku) => cart.change('remove', { sku })),
  'cart.clear': fc.constant(cart.change('clear', {})),
  'preferences.update': prefs.map((input) => preferences.change('update', input)),
  'preferences.reset': fc.constant(preferences.change('reset', {})),
  'session.set': fc
    .record({ key: fc.constantFrom('a', 'cart', 'new', 'x y'), value: fc.jsonValue({ maxDepth: 3 }) })
    .map(({ key, value }) => {
      const clean = JSON.parse(JSON.stringify(value));
      return setValue(key, clean, JSON.stringify(clean));
    }),
  'session.delete': fc.constantFrom('a', 'b', 'cart', 'missing').map(deleteValue),
  'session.clear': fc.constant(clearValues),
};

const outcome = (result: SessionData | WriteRefused) => (result instanceof WriteRefused ? { refused: result.code } : { data: result });

function pure(change: SessionChange, stored: SessionData): SessionData | WriteRefused {
  const next = change.next(stored);
  return next instanceof WriteRefused ? next : (JSON.parse(JSON.stringify(next)) as SessionData);
}

describe('compiled forms agree with the pure functions they stand for', () => {
  it('every compiled form is covered here', () => {
    expect(Object.keys(changes).sort()).toEqual([...compiledForms.keys()].sort());
  });

  for (const name of Object.keys(changes)) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(data, changes[name]!, async (stored, change) => {
          expect(change.name).toBe(name);
          const sql = await store.evaluate(name, stored, change.args);
          const js = pure(change, stored);
          if (sql instanceof WriteRefused && sql.code === 'SESSION_TOO_LARGE') {
            // The pure function has no size rule: the engine adds it to both forms.
            expect(JSON.stringify(js).length).toBeGreaterThan(MAX_BYTES / 2);
            return;
          }
          expect(outcome(sql)).toEqual(outcome(js));
        }),
        { numRuns: 150 },
      );
    });
  }
});
