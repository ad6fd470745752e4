import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { sql } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';
import * as schema from './schema.js';
import { DatabaseUnavailable, isUnavailable, withTimeout } from './unavailable.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What one statement returned: its rows, and how many rows it affected. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  count: number;
}

/**
 * An open database: Drizzle on postgres.js (PostgreSQL) or on PGlite
 * (embedded). Drizzle builds every statement (src/engines/postgres/store.ts); the hot
 * path runs the compiled SQL through `query`, which bounds it in time and
 * cancels what times out, so that a statement queued during an outage never
 * runs after its caller has been told it failed.
 */
export interface Database {
  readonly db: Db;
  readonly engine: 'postgres' | 'pglite';
  /** The PostgreSQL URL (postgres only). */
  readonly url?: string;
  /** One SQL statement with positional parameters, prepared by the driver, within `timeoutMs`. */
  query(text: string, params: unknown[], timeoutMs: number): Promise<StatementResult>;
  /**
   * Runs `fn` holding a PostgreSQL advisory lock (pg_try_advisory_lock) so
   * that several instances take turns; returns null at once when another
   * session holds it. On PGlite (one process) it just runs `fn`.
   */
  withLock<T>(key: bigint, fn: () => Promise<T>): Promise<T | null>;
  /** Rows of a Drizzle `sql` statement, the same shape on both engines (scripts and tests). */
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

/**
 * Opens the database of `options`. A PGlite folder is locked first (see
 * src/engines/postgres/folder-lock.ts): two processes on one folder would each keep their
 * own copy of the data in memory and write over each other's files.
 * @throws FolderLocked when another live process has the folder open.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10);
  if (options.pgliteDir.startsWith('memory://')) return openPglite(options.pgliteDir, null);
  const dir = path.resolve(options.pgliteDir);
  mkdirSync(dir, { recursive: true });
  const lock = acquireFolderLock(dir);
  try {
    return await openPglite(dir, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function openPglite(dataDir: string, lock: FolderLock | null): Promise<Database> {
  // Loaded only when used: a PostgreSQL deployment never pays for PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
  const client = await PGlite.create(dataDir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    engine: 'pglite',
    // One in-process connection: nothing to time out or cancel.
    query: async (text, params) => {
      const result = await client.query<Record<string, unknown>>(text, params);
      return { rows: result.rows, count: result.affectedRows ?? result.rows.length };
    },
    withLock: (_key, fn) => fn(),
    rows: async <T>(q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows,
    close: async () => {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * PostgreSQL through a postgres.js pool. After an outage postgres.js can take
 * many seconds to bring a pool's connections back (measured: ~15 s with
 * traffic queued meanwhile), so when a statement finds the database
 * unavailable a probe (one connection of its own) watches for its return and
 * then swaps in a fresh pool: service resumes within a fraction of a second.
 */
async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const connect = (max: number) =>
    postgres(url, {
      max,
      onnotice: () => {},
      connect_timeout: 5,
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
      // Every statement is a primary-key lookup: one generic plan each, never re-planned per call.
      connection: { application_name: 'sessionql', plan_cache_mode: 'force_generic_plan' },
    });
  let client = connect(poolSize);
  const dialect = new PgDialect();
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  let recovering: Promise<void> | null = null;
  let closing = false;

  const recover = () => {
    recovering ??= (async () => {
      const probe = connect(1);
      try {
        while (!closing) {
          try {
            await withTimeout(probe`SELECT 1`, 1000);
            break;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
        if (closing) return;
        const old = client;
        client = connect(poolSize);
        void old.end({ timeout: 5 }).catch(() => {});
      } finally {
        await probe.end({ timeout: 1 }).catch(() => {});
        recovering = null;
      }
    })();
  };

  const query = async (text: string, params: unknown[], timeoutMs: number) => {
    const pending = client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
    try {
      const result = await withTimeout(pending, timeoutMs, () => void pending.cancel());
      return { rows: result as unknown as Record<string, unknown>[], count: result.count };
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      recover();
      throw error instanceof DatabaseUnavailable ? error : new DatabaseUnavailable('the database is unavailable', { cause: error });
    }
  };
  return {
    db,
    engine: 'postgres',
    url,
    query,
    rows: async <T>(q: ReturnType<typeof sql>) => {
      const { sql: text, params } = dialect.sqlToQuery(q);
      return (await query(text, params, 60_000)).rows as T[];
    },
    withLock: async (key, fn) => {
      // A connection of its own: the lock is the session's, and fn's statements use the pool.
      const lock = connect(1);
      try {
        const [row] = await withTimeout(lock`SELECT pg_try_advisory_lock(${key.toString()}::bigint) AS ok`, 5000);
        if (!row?.ok) return null;
        return await fn();
      } finally {
        await lock.end({ timeout: 5 }).catch(() => {});
      }
    },
    close: async () => {
      closing = true;
      await recovering;
      await client.end({ timeout: 5 });
    },
  };
}
