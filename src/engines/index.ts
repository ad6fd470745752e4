import { type CachedDbEngine, type CacheOptions, withCache } from './cached-db/engine.js';
import { LocalFeed } from './feed.js';
import { type Database, openDatabase } from './postgres/client.js';
import { PostgresFeed } from './postgres/feed.js';
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
  /**
   * Where the instance LISTENs for other instances' changes (sessionChanged):
   * PostgreSQL itself, not PgBouncer in transaction mode (DATABASE_LISTEN_URL).
   * @default databaseUrl
   */
  listenUrl?: string;
  /** Session notices (sessionChanged); false: none are sent or received. @default true */
  notices?: boolean;
  /** Told of a failure to send or receive notices (logged by the server). Must not throw. */
  onNoticeError?: (error: unknown) => void;
  /**
   * Told when a group of compare-and-set writes sent as one statement (group
   * commit, docs/decisions/0019) failed together for another reason than an
   * outage; each write was then retried alone, so none is lost (logged by
   * the server). Must not throw.
   */
  onBatchError?: (error: unknown, writes: number) => void;
}

/**
 * The `db` engine (Django's default): a PostgreSQL table, or PGlite when
 * there is no URL. Opens the database and applies the migrations.
 */
export async function openDbEngine(options: DbEngineOptions = {}): Promise<SessionStore> {
  return (await openStore(options)).store;
}

export interface CachedDbEngineOptions extends DbEngineOptions {
  /**
   * The cache: one Redis (`url`) or a Redis Cluster (`clusterNodes`), and its
   * timeouts; `timeoutMs` (connecting), `ageSeconds` and `listenUrl` come
   * from the options above.
   */
  cache: Omit<CacheOptions, 'timeoutMs' | 'ageSeconds' | 'listenUrl'>;
}

/**
 * The `cached_db` engine (Django's name): the `db` engine's PostgreSQL (or
 * PGlite) is the store, Redis a shared write-through cache of its reads. A
 * Redis outage makes it slower, never wrong (docs/decisions/0015). Opens the
 * database, applies the migrations and connects to Redis: throws
 * StoreUnavailable naming Redis when it is unreachable.
 */
export async function openCachedDbEngine(options: CachedDbEngineOptions): Promise<CachedDbEngine> {
  const { store, database } = await openStore(options);
  try {
    return await withCache(store, database, {
      ...options.cache,
      timeoutMs: options.timeoutMs,
      ageSeconds: options.ageSeconds,
      listenUrl: options.listenUrl,
    });
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

/** The `db` store on its database, migrated, with its notices unless they are off. */
async function openStore(options: DbEngineOptions): Promise<{ store: SessionStore; database: Database }> {
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
  const store = new SessionStore(database, {
    ageSeconds: options.ageSeconds ?? 1_209_600,
    maxBytes: options.maxBytes ?? 65_536,
    timeoutMs: options.timeoutMs,
    onBatchError: options.onBatchError,
  });
  return { store: options.notices === false ? store : withNotices(store, database, options), database };
}

/**
 * Gives a `db` store its notices (sessionChanged): within the process on
 * PGlite, LISTEN/NOTIFY on PostgreSQL (listening from the first subscriber on).
 */
export function withNotices(
  store: SessionStore,
  database: Database,
  options: Pick<DbEngineOptions, 'listenUrl' | 'onNoticeError'> = {},
): SessionStore {
  if (database.engine === 'pglite') {
    // One process owns the data: its own commits are every commit.
    const local = new LocalFeed();
    store.publishTo(local, (notice) => local.deliver(notice));
    return store;
  }
  const feed = new PostgresFeed(database, store, { listenUrl: options.listenUrl ?? database.url!, onError: options.onNoticeError });
  store.publishTo(
    feed,
    (notice, watchers) => feed.committed(notice, watchers),
    () => feed.close(),
  );
  return store;
}

export { CachedDbEngine, type CacheOptions, withCache } from './cached-db/engine.js';
export { openRedisEngine, RedisEngine, type RedisEngineOptions, RedisUnavailable } from './redis/engine.js';
