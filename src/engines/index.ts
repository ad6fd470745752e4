import { openDatabase } from './postgres/client.js';
import { migrate } from './postgres/migrate.js';
import { SessionStore } from './postgres/store.js';

export interface DbEngineOptions {
  /** postgres://… ; without it, embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** PGlite's folder (`memory://` keeps it in memory). @default './.data/pglite' */
  dataDir?: string;
  /** postgres.js pool size. @default 10 */
  poolSize?: number;
  /** Named prepared statements; false behind PgBouncer in transaction mode (DATABASE_PREPARE). @default true */
  prepare?: boolean;
  /** A statement that takes longer fails with StoreUnavailable (503). @default 5000 */
  timeoutMs?: number;
  /** SESSION_COOKIE_AGE: the inactivity age writes renew. @default 1209600 */
  ageSeconds?: number;
  /** SESSION_MAX_BYTES @default 65536 */
  maxBytes?: number;
  /** Apply the schema's migrations first (an advisory lock makes instances take turns). @default true */
  migrate?: boolean;
}

/**
 * The `db` engine (Django's default): a PostgreSQL table, or PGlite when
 * there is no URL. Opens the database and applies the migrations.
 */
export async function openDbEngine(options: DbEngineOptions = {}): Promise<SessionStore> {
  const database = await openDatabase({
    url: options.databaseUrl,
    pgliteDir: options.dataDir ?? './.data/pglite',
    poolSize: options.poolSize,
    prepare: options.prepare,
  });
  try {
    if (options.migrate !== false) await migrate(database);
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
  return new SessionStore(database, {
    ageSeconds: options.ageSeconds ?? 1_209_600,
    maxBytes: options.maxBytes ?? 65_536,
    timeoutMs: options.timeoutMs,
  });
}

export { openRedisEngine, RedisEngine, type RedisEngineOptions, RedisUnavailable } from './redis/engine.js';
