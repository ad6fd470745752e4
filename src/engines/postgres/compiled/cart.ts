import { type SQL, sql } from 'drizzle-orm';
import { CART_LIMITS } from '../../../areas/cart.js';
import type { DataChange } from '../store.js';

// The cart's rules as SQL over the stored data, so that each cart mutation is
// one UPDATE: 50 concurrent adds of one SKU queue on the row lock and sum to 50.
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

/** addToCart: an existing line's quantity grows (and a given label replaces the old one). */
export const addToCart: DataChange = {
  name: 'cart_add',
  createsSession: true,
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
};

/** setCartItemQuantity with quantity ≥ 1: sets the line, adding it when absent. */
export const setCartQuantity: DataChange = {
  name: 'cart_set_quantity',
  createsSession: true,
  next: (d) => sql`jsonb_set(${d}, '{cart}', CASE WHEN ${hasLine(d)}
    THEN ${mapLine(d, sql`jsonb_set(line, '{quantity}', to_jsonb(${quantity}::int))`)}
    ELSE ${lines(d)} || jsonb_build_array(${newLine(false)}) END)`,
  violation: tooManyLines,
};

/** removeFromCart, and setCartItemQuantity with quantity 0. */
export const removeFromCart: DataChange = {
  name: 'cart_remove',
  createsSession: false,
  next: (d) => sql`CASE WHEN ${d} ? 'cart' THEN jsonb_set(${d}, '{cart}', coalesce(
    (SELECT jsonb_agg(line ORDER BY i) FROM jsonb_array_elements(${lines(d)}) WITH ORDINALITY AS e(line, i)
      WHERE line ->> 'sku' IS DISTINCT FROM ${sku}::text), '[]'::jsonb)) ELSE ${d} END`,
};

export const clearCart: DataChange = {
  name: 'cart_clear',
  createsSession: false,
  next: (d) => sql`${d} - 'cart'`,
};
