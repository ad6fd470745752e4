import type { ConnectionOptions } from 'node:tls';
import type {
  Applied,
  EngineLimits,
  ExpiryColumns,
  NoticeListener,
  SessionChange,
  SessionData,
  SessionEngine,
  SessionFeed,
  StoredSession,
} from '../../core/engine.js';
import { storedJson } from '../../core/json.js';
import type { Database } from '../postgres/client.js';
import { PostgresFeed } from '../postgres/feed.js';
import type { SessionStore } from '../postgres/store.js';
import { bySha, RedisEngine, redisKey, Script, toStored } from '../redis/engine.js';
import { within } from '../within.js';
import { CacheGeneration } from './generation.js';
import { putScript } from './scripts.js';

export interface CacheOptions {
  /** redis://… (or rediss://) of a single server. */
  url?: string;
  /** Some nodes of a Redis Cluster (the rest are discovered): host:port, or redis:// / rediss:// URLs with credentials (RedisEngineOptions). */
  clusterNodes?: readonly string[];
  /** More TLS options for rediss://, e.g. `{ ca }` (or NODE_EXTRA_CA_CERTS). */
  tls?: ConnectionOptions;
  /** DATABASE_TIMEOUT_MS: connecting to Redis at start-up, and the generation's statements. @default 5000 */
  timeoutMs?: number;
  /** SESSION_CACHE_TIMEOUT_MS: each cache command; a slower one counts as a failure. @default 200 */
  cacheTimeoutMs?: number;
  /** After a failed cache command the cache is left alone this long (reads go to PostgreSQL). @default 1000 */
  cacheRetryMs?: number;
  /** SESSION_COOKIE_AGE: how long a tombstone (a flushed or moved session) stays. @default 1209600 */
  ageSeconds?: number;
  /** How often each instance reads the cache generation again, should a NOTIFY be lost. @default 1000 */
  generationPollMs?: number;
  /** Key prefix. @default 'sessionql:c:' */
  prefix?: string;
  /** Told when the cache stops answering (once per failure, not per request), or a generation statement fails. Must not throw. */
  onCacheError?: (error: unknown) => void;
  /** LISTEN here (DATABASE_LISTEN_URL), when the store has no PostgreSQL feed of its own (notices off). @default the database URL */
  listenUrl?: string;
}

/**
 * What the cache did since the engine opened (the server reports them on
 * /metrics as `sessionql_session_cache_*`). Reads are the engine's lookups:
 * a session's load, and a write's starting guess.
 */
export interface CacheStats {
  /** Lookups the cache answered: a session, or a tombstone (flushed, moved). */
  readonly hits: number;
  /** Lookups it could not answer: nothing cached, an entry of an older generation, or older than a version announced. */
  readonly misses: number;
  /** Lookups that did not ask it: its command failed, or it is left alone (after a failure, or until the generation is raised). */
  readonly skipped: number;
  /** Cache commands that failed or took longer than cacheTimeoutMs. */
  readonly errors: number;
}

/** What the cache holds for a session: a stored session and its generation, a tombstone, or nothing. */
type Entry = { row: StoredSession; generation: number } | 'dead' | null;
type PutReply = [status: 'ok' | 'kept' | 'dead', generation: string];
const put = new Script(putScript);

const FIELDS = ['d', 'v', 'e', 'b', 'm', 'f', 'g', 'x'] as const;
/** Cache commands are bounded by cacheTimeoutMs (`cache()`), not also by the connection's timeoutMs. */
const UNBOUNDED = { bounded: false } as const;

/**
 * The `cached_db` engine (Django's name): the `db` store in PostgreSQL (or
 * PGlite) is the session store, and Redis a shared write-through cache in
 * front of its reads. Every write is the store's (its compare-and-set, its
 * rules), then copied to the cache; a read the cache answers costs no SQL.
 * When Redis fails or is slow, the cache is skipped: reads go to PostgreSQL,
 * and a write whose copy did not happen raises the cache generation before
 * it answers, so no instance that has heard of it serves the older state.
 * See docs/decisions/0015.
 */
export class CachedDbEngine implements SessionEngine {
  /** The store's notices (sessionChanged): writes commit in PostgreSQL, which tells every instance. */
  readonly feed?: SessionFeed;
  private readonly announced?: AnnouncedVersions;
  private readonly cacheTimeoutMs: number;
  private readonly cacheRetryMs: number;
  private readonly tombstoneMs: number;
  private readonly prefix: string;
  /** Until when the cache is left alone after a failure (ms since the epoch). */
  private skipUntil = 0;
  private readonly counts = { hits: 0, misses: 0, skipped: 0, errors: 0 };
  /** What the cache did since the engine opened. */
  readonly stats: CacheStats = this.counts;

  constructor(
    /** The `db` store: the sessions, and what main.ts prunes. */
    readonly store: SessionStore,
    /** The cache's connection: a single server's, or a cluster's (each session's commands go to its slot's master). */
    readonly redis: RedisEngine,
    readonly generation: CacheGeneration,
    private readonly options: CacheOptions = {},
    private readonly ownFeed?: PostgresFeed,
  ) {
    this.cacheTimeoutMs = options.cacheTimeoutMs ?? 200;
    this.cacheRetryMs = options.cacheRetryMs ?? 1000;
    this.tombstoneMs = (options.ageSeconds ?? 1_209_600) * 1000;
    this.prefix = options.prefix ?? 'sessionql:c:';
    if (store.feed) {
      this.announced = new AnnouncedVersions(store.feed);
      this.feed = this.announced;
    }
    redis.onConnectionLost(() => generation.distrust());
  }

  /** The store's: the cache keeps what the store wrote. */
  get limits(): EngineLimits {
    return this.store.limits;
  }

  /** The cache key of a session: its hash in braces (its own cluster slot), never the cookie's key. */
  key(hash: string): string {
    return redisKey(this.prefix, hash);
  }

  /**
   * A cache command, within cacheTimeoutMs; undefined when it failed or the
   * cache is being left alone. A failure leaves the cache alone for
   * cacheRetryMs: during an outage, requests do not each wait for it.
   */
  private async cache<T>(run: () => Promise<T>): Promise<T | undefined> {
    if (this.generation.owed || Date.now() < this.skipUntil) return undefined;
    try {
      return await within(run(), this.cacheTimeoutMs, () => new Error(`no answer from the session cache within ${this.cacheTimeoutMs} ms`));
    } catch (error) {
      this.counts.errors++;
      if (Date.now() >= this.skipUntil) this.options.onCacheError?.(error);
      this.skipUntil = Date.now() + this.cacheRetryMs;
      return undefined;
    }
  }

  /** The entry of `hash`; undefined when the cache was not asked or did not answer. */
  private async read(hash: string): Promise<Entry | undefined> {
    const key = this.key(hash);
    const h = await this.cache(() => this.redis.on(key, (client) => client.hmget(key, ...FIELDS), UNBOUNDED));
    if (!h) return undefined;
    if (h[7]) return 'dead';
    const row = toStored(h);
    return row ? { row, generation: Number(h[6]) } : null;
  }

  /**
   * Writes `row` (null: a tombstone) to the cache as known at `generation`
   * (read before the PostgreSQL statement that produced it): only over an
   * older state (scripts.ts). False when the cache did not answer. `json`:
   * `row.data` as stored, when the caller has it.
   */
  private async put(hash: string, row: StoredSession | null, generation: number, nowMs: number, json?: string): Promise<boolean> {
    const args: (string | number)[] = row
      ? [
          generation,
          // The deadline is enforced on every read against the caller's clock; the TTL frees the memory a minute later.
          Math.max(1, Math.floor(row.expiresAt * 1000 - nowMs)) + 60_000,
          'live',
          json ?? storedJson(row.data),
          row.version,
          String(row.expiresAt),
          row.browserClose ? '1' : '0',
          row.maxAge == null ? '' : String(row.maxAge),
          row.fixedExpiry ? '1' : '0',
        ]
      : [generation, this.tombstoneMs, 'dead'];
    const key = this.key(hash);
    const reply = await this.cache(() =>
      this.redis.on(
        key,
        (client) =>
          bySha((sha) => (sha ? client.evalsha(put.sha, 1, key, ...args) : client.eval(put.text, 1, key, ...args)) as Promise<PutReply>),
        UNBOUNDED,
      ),
    );
    if (!reply) return false;
    this.generation.adopt(Number(reply[1]));
    return true;
  }

  /** After a commit: the new state copied to the cache, or else the generation raised (before the client is answered). */
  private async through(hash: string, row: StoredSession | null, generation: number, nowMs: number, json?: string): Promise<void> {
    if (!(await this.put(hash, row, generation, nowMs, json))) await this.generation.raise();
  }

  /**
   * What the cache can answer for: the session (null when gone or expired by
   * the caller's clock), or undefined on a miss: nothing cached, an entry of
   * an older generation, or older than a version a notice announced.
   */
  private async cached(hash: string, nowMs: number): Promise<StoredSession | null | undefined> {
    const entry = await this.read(hash);
    if (entry === undefined) {
      this.counts.skipped++;
      return undefined;
    }
    if (entry === 'dead') {
      this.counts.hits++;
      return null;
    }
    if (entry) this.generation.adopt(entry.generation);
    if (!entry || entry.generation < this.generation.current || entry.row.version < (this.announced?.floor(hash) ?? 0)) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    return entry.row.expiresAt * 1000 > nowMs ? entry.row : null;
  }

  async load(hash: string, nowMs: number): Promise<StoredSession | null> {
    const hit = await this.cached(hash, nowMs);
    if (hit !== undefined) return hit;
    // Known before the read from PostgreSQL: what it returns is at least as new as every raise up to it.
    const generation = this.generation.current;
    const row = await this.store.load(hash, nowMs);
    // A fill that fails leaves what was there, which is a miss already: nothing to raise.
    if (row) await this.put(hash, row, generation, nowMs);
    return row;
  }

  async touch(hash: string, nowMs: number): Promise<StoredSession | null> {
    const generation = this.generation.current;
    const row = await this.store.touch(hash, nowMs);
    if (row) await this.through(hash, row, generation, nowMs);
    return row;
  }

  async change(hash: string, change: SessionChange, nowMs: number, known?: StoredSession | null): Promise<Applied | null> {
    // A write with nothing read starts from what this process last wrote (the store's compare-and-set
    // remembers it), else the cache: guesses that compare-and-set checks (reading PostgreSQL when stale,
    // and before reporting a refusal).
    let start = known ?? null;
    if (!start && !this.store.remembers(hash)) {
      const hit = await this.cached(hash, nowMs);
      if (hit === null) return null;
      start = hit ?? null;
    }
    const generation = this.generation.current;
    const applied = await this.store.change(hash, change, nowMs, start, known == null);
    if (applied) await this.through(hash, applied.row, generation, nowMs, applied.json);
    return applied;
  }

  /** A new key has nothing in the cache to go stale: a failed copy needs no raise. */
  async create(hash: string, data: SessionData, expiry: ExpiryColumns | null, nowMs: number): Promise<StoredSession> {
    const generation = this.generation.current;
    const row = await this.store.create(hash, data, expiry, nowMs);
    await this.put(hash, row, generation, nowMs);
    return row;
  }

  async setExpiry(hash: string, expiry: ExpiryColumns, nowMs: number): Promise<StoredSession | null> {
    const generation = this.generation.current;
    const row = await this.store.setExpiry(hash, expiry, nowMs);
    if (row) await this.through(hash, row, generation, nowMs);
    return row;
  }

  /** The old key gets a tombstone (a failure raises the generation), the new one its entry. */
  async cycle(hash: string, newHash: string, nowMs: number): Promise<StoredSession | null> {
    const generation = this.generation.current;
    const row = await this.store.cycle(hash, newHash, nowMs);
    if (row) await Promise.all([this.through(hash, null, generation, nowMs), this.put(newHash, row, generation, nowMs)]);
    return row;
  }

  async flush(hash: string): Promise<void> {
    const generation = this.generation.current;
    await this.store.flush(hash);
    await this.through(hash, null, generation, 0);
  }

  /** Expired rows are the store's to delete; cache entries go by their TTLs. */
  prune(nowMs: number, batchSize?: number): Promise<number> {
    return this.store.prune(nowMs, batchSize);
  }

  /** PostgreSQL answers: without Redis the engine still serves, from the database. */
  ready(): Promise<boolean> {
    return this.store.ready();
  }

  async close(): Promise<void> {
    this.generation.close();
    await this.redis.close();
    await this.ownFeed?.close();
    await this.store.close();
  }
}

/**
 * The store's feed, remembering the version each notice announced for the
 * sessions subscribed to here: a notice goes out at commit, before the
 * writer has copied the state to the cache, so the subscriber's read that
 * follows must not take an older entry from the cache (it reads PostgreSQL).
 */
class AnnouncedVersions implements SessionFeed {
  private readonly versions = new Map<string, { subscribers: number; version: number }>();

  constructor(private readonly inner: SessionFeed) {}

  start(): Promise<void> {
    return this.inner.start?.() ?? Promise.resolve();
  }

  async subscribe(hash: string, listener: NoticeListener): Promise<() => void> {
    let seen = this.versions.get(hash);
    if (!seen) {
      seen = { subscribers: 0, version: 0 };
      this.versions.set(hash, seen);
    }
    const mine = seen;
    mine.subscribers++;
    const leave = () => {
      if (--mine.subscribers === 0 && this.versions.get(hash) === mine) this.versions.delete(hash);
    };
    let off: () => void;
    try {
      off = await this.inner.subscribe(hash, (notice) => {
        if ('version' in notice) mine.version = Math.max(mine.version, notice.version);
        else if ('gone' in notice) mine.version = Number.POSITIVE_INFINITY;
        listener(notice);
      });
    } catch (error) {
      leave();
      throw error;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      leave();
    };
  }

  /** The newest version announced for `hash` (infinite once gone), 0 when none. */
  floor(hash: string): number {
    return this.versions.get(hash)?.version ?? 0;
  }
}

/**
 * Puts the Redis cache in front of a `db` store: connects to Redis (a cluster:
 * cluster_state:ok), listens for the cache generation on the store's LISTEN
 * connection (PostgreSQL) and reads it. Throws StoreUnavailable naming Redis
 * when it is unreachable at start-up.
 */
export async function withCache(store: SessionStore, database: Database, options: CacheOptions): Promise<CachedDbEngine> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const prefix = options.prefix ?? 'sessionql:c:';
  const redis = new RedisEngine({ url: options.url, clusterNodes: options.clusterNodes, tls: options.tls, timeoutMs, prefix });
  const generation = new CacheGeneration(database, {
    timeoutMs,
    pollMs: options.generationPollMs ?? 1000,
    onError: options.onCacheError,
  });
  // The session feed's LISTEN connection carries the generation too; with notices off, one of its own.
  let feed = store.feed instanceof PostgresFeed ? store.feed : undefined;
  const ownFeed =
    !feed && database.engine === 'postgres'
      ? new PostgresFeed(database, store, { listenUrl: options.listenUrl ?? database.url! })
      : undefined;
  feed ??= ownFeed;
  try {
    // The cache's keys only: its notices are PostgreSQL's.
    await redis.connect(false);
    await generation.start(feed);
  } catch (error) {
    generation.close();
    await redis.close().catch(() => {});
    await ownFeed?.close();
    throw error;
  }
  return new CachedDbEngine(store, redis, generation, options, ownFeed);
}
