import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { sql } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { parsedUrl } from '../redacted-url.js';
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
  /** One SQL statement with positional parameters, within `timeoutMs`: a named prepared statement, or an unnamed one with `prepare: false`. */
  query(text: string, params: unknown[], timeoutMs: number): Promise<StatementResult>;
  /**
   * Runs `fn` in one transaction that first takes the transaction-level
   * advisory lock `key` (pg_try_advisory_xact_lock), so that several
   * instances take turns; returns null at once when another holds it. `fn`'s
   * statements go through the `query` it is given (the transaction's
   * connection). Nothing outlives the transaction, so this holds through
   * PgBouncer in transaction mode (docs/decisions/0014). On PGlite (one
   * process) it just runs `fn`.
   */
  withLock<T>(key: bigint, fn: (query: Query) => Promise<T>): Promise<T | null>;
  /** Rows of a Drizzle `sql` statement, the same shape on both engines (scripts and tests). */
  rows<T>(query: ReturnType<typeof sql>): Promise<T[]>;
  close(): Promise<void>;
}

/** Database.query's shape: one statement with positional parameters, within `timeoutMs`. */
export type Query = (text: string, params: unknown[], timeoutMs: number) => Promise<StatementResult>;

export interface DatabaseOptions {
  /** postgres://… or undefined for PGlite. */
  url: string | undefined;
  /** PGlite's folder; `memory://` keeps it in memory (tests). */
  pgliteDir: string;
  /** postgres.js pool size. @default 10 */
  poolSize?: number;
  /**
   * Named (server-side) prepared statements (DATABASE_PREPARE). false behind
   * PgBouncer in transaction mode, where a statement prepared on one server
   * connection is run on another. @default true
   */
  prepare?: boolean;
}

/**
 * Opens the database of `options`. A PGlite folder is locked first (see
 * src/engines/postgres/folder-lock.ts): two processes on one folder would each keep their
 * own copy of the data in memory and write over each other's files.
 * @throws FolderLocked when another live process has the folder open.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10, options.prepare ?? true);
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
    withLock: async (_key, fn) =>
      fn(async (text, params) => {
        const result = await client.query<Record<string, unknown>>(text, params);
        return { rows: result.rows, count: result.affectedRows ?? result.rows.length };
      }),
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
 * PgBouncer (any pool mode, 1.18 and later unless told to ignore it) refuses a
 * connection whose startup packet sets plan_cache_mode: "unsupported startup
 * parameter: plan_cache_mode". Nothing ran on such a connection.
 */
function refusedByPooler(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (/unsupported startup parameter/i.test(String((e as { message?: unknown }).message))) return true;
  }
  return false;
}

/**
 * PostgreSQL through a postgres.js pool. After an outage postgres.js can take
 * many seconds to bring a pool's connections back (measured: ~15 s with
 * traffic queued meanwhile), so when a statement finds the database
 * unavailable a probe (one connection of its own) watches for its return and
 * then swaps in a fresh pool: service resumes within a fraction of a second.
 */
async function openPostgres(url: string, poolSize: number, preparedStatements: boolean): Promise<Database> {
  // postgres.js's own error for such a URL repeats it, password and all.
  parsedUrl(url);
  // Turned off for good when a pooler refuses the connection (see unprepare below).
  let prepare = preparedStatements;
  const connect = (max: number) =>
    postgres(url, {
      max,
      onnotice: () => {},
      connect_timeout: 5,
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
      // Drizzle's own statements (scripts, tests) follow the setting too.
      prepare,
      // Every statement is a primary-key lookup: one generic plan each, never
      // re-planned per call. Only prepared statements have plans to keep, and
      // PgBouncer refuses this startup parameter ("unsupported startup parameter").
      connection: prepare ? { application_name: 'sessionql', plan_cache_mode: 'force_generic_plan' } : { application_name: 'sessionql' },
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

  /**
   * Detection: a pooler in front (PgBouncer) refused the startup parameter
   * that only prepared statements need. Such a pooler may hand each
   * transaction another server connection, where a statement prepared on the
   * last one does not exist: go on with unnamed statements on a new pool.
   * DATABASE_PREPARE=false says so up front (docs/decisions/0014).
   */
  const refusedPools = new WeakSet<postgres.Sql>();
  const unprepare = () => {
    if (!prepare) return;
    prepare = false;
    const old = client;
    // Every connection of that pool was refused: nothing queued on it ever ran.
    refusedPools.add(old);
    client = connect(poolSize);
    void old.end({ timeout: 1 }).catch(() => {});
  };

  const run = async (
    sql: postgres.Sql | postgres.TransactionSql,
    text: string,
    params: unknown[],
    timeoutMs: number,
  ): Promise<StatementResult> => {
    const prepared = prepare;
    const pending = sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: prepared });
    try {
      const result = await withTimeout(pending, timeoutMs, () => void pending.cancel());
      return { rows: result as unknown as Record<string, unknown>[], count: result.count };
    } catch (error) {
      // (On the pool: a transaction's connection was open already.)
      const pool = 'savepoint' in sql ? null : (sql as postgres.Sql);
      if (pool && ((prepared && refusedByPooler(error)) || refusedPools.has(pool))) {
        // The statement never reached the server: run it again, unprepared.
        unprepare();
        if (client !== pool) return run(client, text, params, timeoutMs);
      }
      if (!isUnavailable(error)) throw error;
      recover();
      throw error instanceof DatabaseUnavailable ? error : new DatabaseUnavailable('the database is unavailable', { cause: error });
    }
  };
  const query: Query = (text, params, timeoutMs) => run(client, text, params, timeoutMs);
  return {
    db,
    engine: 'postgres',
    url,
    query,
    rows: async <T>(q: ReturnType<typeof sql>) => {
      const { sql: text, params } = dialect.sqlToQuery(q);
      return (await query(text, params, 60_000)).rows as T[];
    },
    withLock: async <T>(key: bigint, fn: (query: Query) => Promise<T>): Promise<T | null> => {
      // A transaction-level lock: released by COMMIT or ROLLBACK, so no
      // server connection is ever left holding it (PgBouncer hands server
      // connections from client to client between transactions).
      const pool = client;
      const locked = () =>
        client.begin(async (tx) => {
          const { rows } = await run(tx, 'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [key.toString()], 5000);
          if (!rows[0]?.ok) return { held: false as const };
          return { held: true as const, value: await fn((text, params, timeoutMs) => run(tx, text, params, timeoutMs)) };
        });
      let result: Awaited<ReturnType<typeof locked>>;
      try {
        result = await locked();
      } catch (error) {
        // BEGIN never reached the server (see unprepare).
        if (!((prepare && refusedByPooler(error)) || refusedPools.has(pool))) throw error;
        unprepare();
        if (client === pool) throw error;
        result = await locked();
      }
      return result.held ? (result.value as T) : null;
    },
    close: async () => {
      closing = true;
      await recovering;
      await client.end({ timeout: 5 });
    },
  };
}
