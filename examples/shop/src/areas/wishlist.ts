import { defineArea } from 'sessionql';
import { z } from 'zod';
import { skuInput } from './sku.js';

export const WISHLIST_LIMIT = 50;

/**
 * The wishlist: the SKUs a visitor saved, in the order they were added,
 * stored in the session under `wishlist`. The operations are pure functions
 * of the stored list; sessionql runs each one atomically (two tabs adding at
 * once both land) and refuses the write when `apply` refuses.
 */
export const wishlist = defineArea({
  key: 'wishlist',
  schema: z.array(z.string()),
  default: [] as string[],
  refusals: {
    WISHLIST_FULL: { argument: 'sku', rule: `the wishlist holds at most ${WISHLIST_LIMIT} products; nothing was changed` },
  },
})
  .operation('add', {
    /** Adding a SKU already there changes nothing (no duplicates). */
    input: skuInput,
    apply: (skus, { sku }, refuse) => {
      if (skus.includes(sku)) return skus;
      if (skus.length >= WISHLIST_LIMIT) return refuse('WISHLIST_FULL');
      return [...skus, sku];
    },
  })
  .operation('remove', {
    /** No error when the SKU is not there. */
    input: skuInput,
    apply: (skus, { sku }) => skus.filter((s) => s !== sku),
  })
  .operation('clear', {
    input: (_input: Record<string, never>) => ({}),
    apply: () => undefined,
  });
