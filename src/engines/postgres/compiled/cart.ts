import { type SQL, sql } from 'drizzle-orm';
import { CART_LIMITS, cart } from '../../../areas/cart.js';
import { type CompiledForm, sameParams } from './form.js';

// The cart area's operations (src/areas/cart.ts) as SQL over the stored data.
const sku = sql.placeholder('sku');
const quantity = sql.placeholder('quantity');
const label = sql.placeholder('label');

const lines = (d: SQL) => sql`coalesce(${d} -> 'cart', '[]'::jsonb)`;
const hasLine = (d: SQL) => sql`EXISTS (SELECT 1 FROM jsonb_array_elements(${lines(d)}) AS e(line) WHERE line ->> 'sku' = ${sku}::text)`;
/** The cart with `edit` applied to the line of `sku`, order kept. */
const mapLine = (d: SQL, edit: SQL) => sql`(SELECT jsonb_agg(CASE WHEN line ->> 'sku' = ${sku}::text THEN ${edit} ELSE line END ORDER BY i)
  FROM jsonb_array_elements(${lines(d)}) WITH ORDINALITY AS e(line, i))`;
const newLine = (withLabel: boolean) =>
  withLabel
    ? sql`jsonb_strip_nulls(jsonb_build_object('sku', ${sku}::text, 'quantity', ${quantity}::int, 'label', ${label}::text))`
    : sql`jsonb_build_object('sku', ${sku}::text, 'quantity', ${quantity}::int)`;
const tooManyLines = (d: SQL) =>
  sql`CASE WHEN NOT ${hasLine(d)} AND jsonb_array_length(${lines(d)}) >= ${CART_LIMITS.lines} THEN 'CART_LINES' END`;
/** The line of `sku` removed; absent stays absent. */
const removeLine = (d: SQL) => sql`CASE WHEN ${d} ? 'cart' THEN jsonb_set(${d}, '{cart}', coalesce(
    (SELECT jsonb_agg(line ORDER BY i) FROM jsonb_array_elements(${lines(d)}) WITH ORDINALITY AS e(line, i)
      WHERE line ->> 'sku' IS DISTINCT FROM ${sku}::text), '[]'::jsonb)) ELSE ${d} END`;

const refusal = (code: string) => cart.refusal(code as Parameters<typeof cart.refusal>[0]);

export const cartForms: CompiledForm[] = [
  {
    name: 'cart.add',
    params: sameParams,
    refusal,
    next: (d) => sql`jsonb_set(${d}, '{cart}', CASE WHEN ${hasLine(d)}
      THEN ${mapLine(
        d,
        sql`line || jsonb_build_object('quantity', (line ->> 'quantity')::int + ${quantity}::int)
          || CASE WHEN ${label}::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('label', ${label}::text) END`,
      )}
      ELSE ${lines(d)} || jsonb_build_array(${newLine(true)}) END)`,
    violation: (d) => sql`coalesce(
      (SELECT 'CART_LINE_QUANTITY' FROM jsonb_array_elements(${lines(d)}) AS e(line)
        WHERE line ->> 'sku' = ${sku}::text AND (line ->> 'quantity')::int + ${quantity}::int > ${CART_LIMITS.lineQuantity} LIMIT 1),
      ${tooManyLines(d)})`,
  },
  {
    name: 'cart.setQuantity',
    params: sameParams,
    refusal,
    next: (d) => sql`CASE WHEN ${quantity}::int = 0 THEN ${removeLine(d)} ELSE jsonb_set(${d}, '{cart}', CASE WHEN ${hasLine(d)}
      THEN ${mapLine(d, sql`jsonb_set(line, '{quantity}', to_jsonb(${quantity}::int))`)}
      ELSE ${lines(d)} || jsonb_build_array(${newLine(false)}) END) END`,
    violation: (d) => sql`CASE WHEN ${quantity}::int > 0 THEN ${tooManyLines(d)} END`,
  },
  { name: 'cart.remove', params: sameParams, refusal, next: removeLine },
  { name: 'cart.clear', params: sameParams, refusal, next: (d) => sql`${d} - 'cart'` },
];
