/**
 * The shop's own data: a product catalogue in one table, `shop_product`,
 * declared with Drizzle. Nothing here knows about sessions.
 *
 * Where it lives:
 * - DATABASE_URL set: the same PostgreSQL database the sessions use, through
 *   a postgres.js pool of the shop's own (sessionql keeps its pool to itself).
 * - no DATABASE_URL: a separate PGlite in memory. The sessions' PGlite cannot
 *   be shared (sessionql opens it and does not hand it out), and a second
 *   PGlite on the sessions' folder is not allowed (one instance per folder);
 *   the catalogue is seed data, so memory is enough for a demo.
 */
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { integer, type PgDatabase, type PgQueryResultHKT, pgTable, text } from 'drizzle-orm/pg-core';

export const products = pgTable('shop_product', {
  sku: text('sku').primaryKey(),
  name: text('name').notNull(),
  priceCents: integer('price_cents').notNull(),
});

export type Product = typeof products.$inferSelect;

/** Drizzle on either driver: the queries below are the same on both. */
export type ShopDb = PgDatabase<PgQueryResultHKT>;

export interface ShopDatabase {
  readonly db: ShopDb;
  readonly engine: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** The catalogue every start-up makes sure of (existing rows are left as they are). */
export const SEED_PRODUCTS: readonly Product[] = [
  { sku: 'MUG-01', name: 'Enamel mug', priceCents: 1200 },
  { sku: 'TEE-01', name: 'Organic T-shirt', priceCents: 2500 },
  { sku: 'CAP-01', name: 'Baseball cap', priceCents: 1800 },
  { sku: 'BAG-01', name: 'Canvas tote bag', priceCents: 1500 },
  { sku: 'PIN-01', name: 'Enamel pin', priceCents: 400 },
];

/**
 * Creates the table if needed and inserts the seed rows that are missing.
 * Idempotent, and safe when several processes start at once on one
 * PostgreSQL: `CREATE TABLE IF NOT EXISTS` alone can still collide there, so
 * the whole set-up takes a transaction-scoped advisory lock.
 */
export async function setUpCatalogue(db: ShopDb): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('sessionql-example-shop'))`);
    await tx.execute(sql`
      CREATE TABLE IF NOT EXISTS shop_product (
        sku text PRIMARY KEY,
        name text NOT NULL,
        price_cents integer NOT NULL CHECK (price_cents >= 0)
      )`);
    await tx
      .insert(products)
      .values([...SEED_PRODUCTS])
      .onConflictDoNothing();
  });
}

/** Opens the catalogue's database (see the top of this file) and sets it up. */
export async function openShopDatabase(databaseUrl?: string): Promise<ShopDatabase> {
  let opened: ShopDatabase;
  if (databaseUrl) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const client = postgres(databaseUrl, { max: 5, onnotice: () => {} });
    opened = { db: drizzle(client) as unknown as ShopDb, engine: 'postgres', close: () => client.end() };
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle } = await import('drizzle-orm/pglite');
    const client = await PGlite.create('memory://');
    opened = { db: drizzle(client) as unknown as ShopDb, engine: 'pglite', close: () => client.close() };
  }
  try {
    await setUpCatalogue(opened.db);
  } catch (error) {
    await opened.close().catch(() => {});
    throw error;
  }
  return opened;
}

// ---- queries -------------------------------------------------------------------

export function listProducts(db: ShopDb): Promise<Product[]> {
  return db.select().from(products).orderBy(asc(products.sku));
}

export async function findProduct(db: ShopDb, sku: string): Promise<Product | null> {
  const [row] = await db.select().from(products).where(eq(products.sku, sku)).limit(1);
  return row ?? null;
}

/**
 * The products of `skus`, in the order given; SKUs with no product (withdrawn
 * since they were stored in a session) are left out. One query.
 */
export async function productsInOrder(db: ShopDb, skus: readonly string[]): Promise<Product[]> {
  if (skus.length === 0) return [];
  const rows = await db
    .select()
    .from(products)
    .where(inArray(products.sku, [...skus]));
  const bySku = new Map(rows.map((row) => [row.sku, row]));
  return skus.flatMap((sku) => {
    const row = bySku.get(sku);
    return row ? [row] : [];
  });
}
