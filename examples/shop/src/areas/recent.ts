import { defineArea } from 'sessionql';
import { z } from 'zod';
import { skuInput } from './sku.js';

export const RECENT_LIMIT = 10;

/**
 * Recently viewed products: at most 10 SKUs, most recent first, each once
 * (viewing a product again moves it to the front). Stored under `recent`.
 * Whether the product exists is the resolver's business (it needs the
 * database); the area only keeps the list.
 */
export const recent = defineArea({
  key: 'recent',
  schema: z.array(z.string()),
  default: [] as string[],
})
  .operation('view', {
    input: skuInput,
    apply: (skus, { sku }) => [sku, ...skus.filter((s) => s !== sku)].slice(0, RECENT_LIMIT),
  })
  .operation('clear', {
    input: (_input: Record<string, never>) => ({}),
    apply: () => undefined,
  });
