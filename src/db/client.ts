import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open database: Drizzle on postgres.js (PostgreSQL) or on PGlite (embedded). */
export interface Database {
  readonly db: Db;
  readonly engine: 'postgres' | 'pglite';
  /** The PostgreSQL URL (postgres only). */
  readonly url?: string;
  /** Rows of a raw statement, the same shape on both engines. */
  rows<T>(query: ReturnType<typeof sql>): Promise<T[]>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… or undefined for PGlite. */
  url: string | undefined;
  /** PGlite's folder; `memory://` keeps it in memory (tests). */
  pgliteDir: string;
  /** postgres.js pool size. @default 10 */
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const client = postgres(options.url, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connect_timeout: 10,
      connection: { application_name: 'sessionql' },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    return {
      db,
      engine: 'postgres',
      url: options.url,
      rows: async <T>(q: ReturnType<typeof sql>) => (await db.execute(q)) as unknown as T[],
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (!options.pgliteDir.startsWith('memory://')) mkdirSync(path.resolve(options.pgliteDir), { recursive: true });
  // Loaded only when used: a PostgreSQL deployment never pays for PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
  const client = await PGlite.create(options.pgliteDir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    engine: 'pglite',
    rows: async <T>(q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows,
    close: () => client.close(),
  };
}
