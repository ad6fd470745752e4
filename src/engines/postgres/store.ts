import { and, eq, fillPlaceholders, gt, lte, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type {
  Applied,
  EngineLimits,
  ExpiryColumns,
  SessionChange,
  SessionData,
  SessionEngine,
  SessionFeed,
  SessionNotice,
  StoredSession,
} from '../../core/engine.js';
import { TOO_LARGE, tooLarge } from '../../core/errors.js';
import { renewedExpiry } from '../../core/expiry.js';
import { storedJson } from '../../core/json.js';
import { CompareAndSet } from '../compare-and-set.js';
import type { Database, Query, StatementResult } from './client.js';
import { isReady } from './migrate.js';
import { sessions } from './schema.js';
import { SwapBatch } from './swap-batch.js';
import { DatabaseUnavailable } from './unavailable.js';

const p = {
  hash: sql.placeholder('hash'),
  now: sql.placeholder('now'),
  age: sql.placeholder('age'),
  max: sql.placeholder('max'),
  deadline: sql.placeholder('deadline'),
  data: sql.placeholder('data'),
  version: sql.placeholder('version'),
};
/** A time in milliseconds since the epoch (a parameter or a column), as a timestamp. */
const at = (ms: SQLWrapper) => sql`to_timestamp(${ms}::float8 / 1000)`;
const nowTs = at(p.now);
const dialect = new PgDialect();
const alive = and(eq(sessions.keyHash, p.hash), gt(sessions.expiresAt, nowTs));
/**
 * Every write also carries its caller's deadline (real time, request start +
 * DATABASE_TIMEOUT_MS): a statement that reaches PostgreSQL only after the
 * caller was told "unavailable" (queued during an outage) changes nothing.
 */
const inTimeBy = (deadline: SQLWrapper) => sql`clock_timestamp() <= ${at(deadline)}`;
const inTime = inTimeBy(p.deadline);
const returned = {
  data: sql`${sessions.data}`.as('data'),
  expiresAt: sql<number>`extract(epoch from ${sessions.expiresAt})::float8`.as('expiresAt'),
  browserClose: sql<boolean>`${sessions.browserClose}`.as('browserClose'),
  maxAge: sql<number | null>`${sessions.maxAge}`.as('maxAge'),
  fixedExpiry: sql<boolean>`${sessions.fixedExpiry}`.as('fixedExpiry'),
  version: sql<number>`${sessions.version}`.as('version'),
  watchers: sql<number>`${sessions.watchers}`.as('watchers'),
};
const returning = sql`${sessions.data} AS data, extract(epoch from ${sessions.expiresAt})::float8 AS "expiresAt",
  ${sessions.browserClose} AS "browserClose", ${sessions.maxAge} AS "maxAge", ${sessions.fixedExpiry} AS "fixedExpiry",
  ${sessions.version} AS version, ${sessions.watchers} AS watchers`;
/** Each write renews the deadline (whole seconds) unless it is fixed. */
const renewedAt = (nowMs: SQLWrapper) => sql`CASE WHEN ${sessions.fixedExpiry} THEN ${sessions.expiresAt}
  ELSE to_timestamp(ceil(${nowMs}::float8 / 1000) + coalesce(${sessions.maxAge}, ${p.age}::int)) END`;
const renewed = renewedAt(p.now);
/** SESSION_MAX_BYTES on the JSON text written (storedJson: compact, numbers in plain decimal): the measure of every engine. */
const sizeViolation = (json: SQL) => sql`CASE WHEN octet_length(${json}) > ${p.max}::int THEN '${sql.raw(TOO_LARGE)}' END`;

function toStored(row: Record<string, unknown> | undefined): StoredSession | null {
  if (!row || row.expiresAt == null) return null;
  return {
    data: (row.data ?? {}) as SessionData,
    expiresAt: Number(row.expiresAt),
    browserClose: row.browserClose === true,
    maxAge: row.maxAge === null || row.maxAge === undefined ? null : Number(row.maxAge),
    fixedExpiry: row.fixedExpiry === true,
    version: Number(row.version ?? 0),
  };
}

export interface StoreSettings {
  /** SESSION_COOKIE_AGE */
  ageSeconds: number;
  /** SESSION_MAX_BYTES */
  maxBytes: number;
  /** DATABASE_TIMEOUT_MS: a statement that takes longer fails with DatabaseUnavailable. @default 5000 */
  timeoutMs?: number;
  /**
   * Told when a group of writes (see SwapBatch) failed together for another
   * reason than an outage; each was then retried alone. Must not throw.
   */
  onBatchError?: (error: unknown, writes: number) => void;
}

/** A statement built with Drizzle once, run many times with named values. */
interface Statement {
  /** `query`: another connection's (a transaction's, see Database.withLock); the pool's by default. */
  run(values: Record<string, unknown>, timeoutMs?: number, query?: Query): Promise<StatementResult>;
}

/**
 * The `db` engine: sessions in one PostgreSQL table (or PGlite). Every method
 * is one statement, atomic on its row; a write on a row that is gone or
 * expired affects nothing (no resurrection). Statements are built with
 * Drizzle from src/engines/postgres/schema.ts, compiled once, and run as
 * prepared statements.
 *
 * A change (an area's operation, one of Django's dict writes) is a pure
 * function of the data: it is applied to the data read and written by
 * compare-and-set on the row's version (docs/decisions/0011).
 */
export class SessionStore implements SessionEngine {
  private readonly statements;
  private readonly timeoutMs: number;
  /** Compare-and-set writes in flight per session: they take turns within this process. */
  private readonly cas: CompareAndSet;
  /** Compare-and-set statements of one turn of the event loop, sent as one (group commit). */
  private readonly swaps: SwapBatch;
  /** Notices of committed changes (see {@link publishTo}). */
  feed?: SessionFeed;
  private publish: (notice: SessionNotice, watchers: number) => void = () => {};

  constructor(
    private readonly database: Database,
    private readonly settings: StoreSettings,
  ) {
    this.timeoutMs = settings.timeoutMs ?? 5000;
    this.cas = new CompareAndSet({ timeoutMs: this.timeoutMs });
    this.swaps = new SwapBatch(settings.onBatchError, {
      one: async (w) => {
        const values = { hash: w.hash, version: w.version, data: w.json, ...this.base(w.nowMs), deadline: w.deadline };
        return (await this.statements.swap.run(values)).rows[0];
      },
      many: async (writes) => {
        // The data goes in as it is (JSON text already), each write's values beside it.
        const group = writes.map((w) => `{"h":${JSON.stringify(w.hash)},"v":${w.version},"n":${w.nowMs},"dl":${w.deadline},"d":${w.json}}`);
        const values = { group: `[${group.join(',')}]`, age: settings.ageSeconds, max: settings.maxBytes };
        const { rows } = await this.statements.swapMany.run(values);
        return new Map(rows.map((row) => [String(row.hash), row]));
      },
    });
    const db = database.db;
    const expiryColumns = {
      expiresAt: sql`to_timestamp(${sql.placeholder('expiresAt')}::float8)`,
      browserClose: sql`${sql.placeholder('browserClose')}::boolean`,
      maxAge: sql`${sql.placeholder('maxAge')}::int`,
      fixedExpiry: sql`${sql.placeholder('fixedExpiry')}::boolean`,
    };
    const bumped = sql`${sessions.version} + 1`;
    this.statements = {
      load: this.compile(db.select(returned).from(sessions).where(alive)),
      touch: this.compile(db.update(sessions).set({ expiresAt: renewed, updatedAt: nowTs }).where(and(alive, inTime)).returning(returned)),
      flush: this.compile(
        db
          .delete(sessions)
          .where(and(eq(sessions.keyHash, p.hash), inTime))
          .returning({ watchers: sessions.watchers }),
      ),
      // The subscribers of the old key are told it moved (and end): the new key starts unwatched.
      cycle: this.compile(
        db
          .update(sessions)
          .set({ keyHash: sql`${sql.placeholder('newHash')}::text`, expiresAt: renewed, updatedAt: nowTs, version: bumped, watchers: 0 })
          .where(and(alive, inTime))
          .returning(returned),
      ),
      setExpiry: this.compile(
        db
          .update(sessions)
          .set({ ...expiryColumns, updatedAt: nowTs, version: bumped })
          .where(and(alive, inTime))
          .returning(returned),
      ),
      // The size is checked on the JSON text given, as on every other write and engine.
      create: this.raw(sql`WITH chk AS (
          SELECT t::jsonb AS data, ${sizeViolation(sql`t`)} AS violation FROM (SELECT ${p.data}::text AS t) AS given
        ), ins AS (
          INSERT INTO ${sessions} (key_hash, data, expires_at, browser_close, max_age, fixed_expiry, created_at, updated_at)
          SELECT ${p.hash}::text, chk.data, ${expiryColumns.expiresAt}, ${expiryColumns.browserClose}, ${expiryColumns.maxAge},
            ${expiryColumns.fixedExpiry}, ${nowTs}, ${nowTs}
          FROM chk WHERE chk.violation IS NULL AND ${inTime}
          RETURNING ${returning}
        )
        SELECT ins.*, chk.violation FROM chk LEFT JOIN ins ON true`),
      // Compare-and-set: written only while the row is alive and still at the version read.
      swap: this.raw(sql`WITH chk AS (
          SELECT t::jsonb AS data, ${sizeViolation(sql`t`)} AS violation FROM (SELECT ${p.data}::text AS t) AS given
        ), upd AS (
          UPDATE ${sessions} SET data = chk.data, expires_at = ${renewed}, updated_at = ${nowTs}, version = ${bumped}
          FROM chk WHERE ${and(alive, inTime)} AND ${sessions.version} = ${p.version}::bigint AND chk.violation IS NULL
          RETURNING ${returning}
        )
        SELECT upd.*, chk.violation FROM chk LEFT JOIN upd ON true`),
      // The same compare-and-set for several sessions at once (see SwapBatch): one statement, one commit.
      // Live rows are locked in key order first, so two instances' groups never wait on each other in a
      // cycle, nor a group and a pruning batch (which deletes expired rows only). Read as json, not jsonb,
      // each write's data comes out as the text given, which the size limit measures.
      swapMany: this.raw(sql`WITH given AS (
          SELECT g.h, g.v, g.n, g.dl, g.d::jsonb AS data, ${sizeViolation(sql`g.d`)} AS violation
          FROM json_to_recordset(${sql.placeholder('group')}::text::json) AS g(h text, v bigint, n float8, dl float8, d text)
        ), locked AS (
          SELECT ${sessions.keyHash} AS h FROM ${sessions} JOIN given ON given.h = ${sessions.keyHash}
          WHERE given.violation IS NULL AND ${gt(sessions.expiresAt, at(sql`given.n`))}
          ORDER BY ${sessions.keyHash} FOR UPDATE OF ${sessions}
        ), upd AS (
          UPDATE ${sessions} SET data = given.data, expires_at = ${renewedAt(sql`given.n`)}, updated_at = ${at(sql`given.n`)},
            version = ${bumped}
          FROM given JOIN locked ON locked.h = given.h
          WHERE ${sessions.keyHash} = given.h AND ${gt(sessions.expiresAt, at(sql`given.n`))} AND ${inTimeBy(sql`given.dl`)}
            AND ${sessions.version} = given.v
          RETURNING given.h AS h, ${returning}
        )
        SELECT given.h AS hash, given.violation, upd.* FROM given LEFT JOIN upd ON upd.h = given.h`),
      // Expired rows are never written (writes only touch live ones), so a
      // batch needs no row locks: it finds rows by the expiry index and deletes
      // them by physical address (ctid), the cheapest delete there is.
      // Not a write: neither the version nor the deadline changes.
      watch: this.compile(
        db
          .update(sessions)
          .set({ watchers: sql`greatest(${sessions.watchers} + ${sql.placeholder('delta')}::int, 0)` })
          .where(eq(sessions.keyHash, p.hash)),
      ),
      pruneBatch: this.compile(
        db
          .delete(sessions)
          .where(
            sql`ctid = ANY(ARRAY(SELECT ctid FROM ${sessions} WHERE ${lte(sessions.expiresAt, nowTs)} LIMIT ${sql.placeholder('limit')}::int))`,
          ),
      ),
    };
  }

  /**
   * Tells `publish` of every committed change, with the row's `watchers`
   * (instances watching it: a NOTIFY is only worth its lock for those), and
   * offers `feed` to subscribers.
   */
  publishTo(feed: SessionFeed, publish: (notice: SessionNotice, watchers: number) => void, close?: () => Promise<void>): void {
    this.feed = feed;
    this.publish = publish;
    this.closeFeed = close;
  }
  private closeFeed?: () => Promise<void>;

  /** Counts this instance in (1) or out (-1) of the session's watchers; nothing else changes. */
  async watch(hash: string, delta: 1 | -1): Promise<void> {
    await this.statements.watch.run({ hash, delta });
  }

  /** After a commit that returned `row`: its notice. */
  private committed(hash: string, row: Record<string, unknown> | undefined, stored: StoredSession | null): void {
    if (stored) this.publish({ hash, version: stored.version }, Number(row?.watchers ?? 0));
  }

  /** Compiles a Drizzle query once; each run fills its placeholders and bounds it in time. */
  private compile(query: { toSQL(): { sql: string; params: unknown[] } }): Statement {
    const { sql: text, params } = query.toSQL();
    return {
      run: (values, timeoutMs = this.timeoutMs, query) => (query ?? this.database.query)(text, fillPlaceholders(params, values), timeoutMs),
    };
  }

  private raw(statement: SQL): Statement {
    return this.compile({ toSQL: () => dialect.sqlToQuery(statement) });
  }

  /** Values every statement may use: the (injected) time, the limits, the real-time deadline. */
  private base(nowMs: number) {
    return { now: nowMs, age: this.settings.ageSeconds, max: this.settings.maxBytes, deadline: Date.now() + this.timeoutMs };
  }

  async load(hash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.load.run({ hash, now: nowMs })).rows[0]);
  }

  async touch(hash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.touch.run({ hash, ...this.base(nowMs) })).rows[0]);
  }

  get limits(): EngineLimits {
    return { ageSeconds: this.settings.ageSeconds, maxBytes: this.settings.maxBytes };
  }

  /** Whether this process remembers what it last wrote to `hash`: a write will start from that, not a read. */
  remembers(hash: string): boolean {
    return this.cas.remembers(hash);
  }

  /** `guess`: `known` is a copy that may be stale (cached_db's cache), not what this request read. */
  async change(hash: string, change: SessionChange, nowMs: number, known?: StoredSession | null, guess = false): Promise<Applied | null> {
    return this.compareAndSet(hash, change, nowMs, known ?? null, guess);
  }

  /**
   * The pure function applied to the data read, written if the version is
   * unchanged (src/engines/compare-and-set.ts: turns within this process,
   * retries on conflicts with others until DATABASE_TIMEOUT_MS).
   */
  private compareAndSet(
    hash: string,
    change: SessionChange,
    nowMs: number,
    known: StoredSession | null,
    guess: boolean,
  ): Promise<Applied | null> {
    return this.cas.apply(
      hash,
      change,
      known,
      {
        load: () => this.load(hash, nowMs),
        swap: async (current, _next, json) => {
          const row = await this.swaps.add(hash, current.version, json, nowMs, Date.now() + this.timeoutMs);
          if (row?.violation) throw tooLarge();
          const stored = toStored(row);
          this.committed(hash, row, stored);
          return stored;
        },
        unavailable: (message) => new DatabaseUnavailable(message),
      },
      guess,
    );
  }

  async create(hash: string, data: SessionData, expiry: ExpiryColumns | null, nowMs: number): Promise<StoredSession> {
    const columns = expiry ?? {
      expiresAt: renewedExpiry(nowMs, this.settings.ageSeconds),
      browserClose: false,
      maxAge: null,
      fixedExpiry: false,
    };
    const row = (await this.statements.create.run({ hash, data: storedJson(data), ...this.base(nowMs), ...columns })).rows[0];
    if (row?.violation) throw tooLarge();
    const stored = toStored(row);
    if (!stored) throw new DatabaseUnavailable('the session insert arrived after its deadline');
    return stored;
  }

  async setExpiry(hash: string, expiry: ExpiryColumns, nowMs: number): Promise<StoredSession | null> {
    const row = (await this.statements.setExpiry.run({ hash, ...this.base(nowMs), ...expiry })).rows[0];
    const stored = toStored(row);
    this.committed(hash, row, stored);
    return stored;
  }

  async cycle(hash: string, newHash: string, nowMs: number): Promise<StoredSession | null> {
    this.cas.forget(hash);
    const stored = toStored((await this.statements.cycle.run({ hash, newHash, ...this.base(nowMs) })).rows[0]);
    // The old row's watchers are not returned (the update zeroes them): tell its subscribers in any case.
    if (stored) this.publish({ hash, gone: 'moved' }, 1);
    return stored;
  }

  async flush(hash: string): Promise<void> {
    this.cas.forget(hash);
    const { rows } = await this.statements.flush.run({ hash, deadline: Date.now() + this.timeoutMs });
    if (rows[0]) this.publish({ hash, gone: 'flushed' }, Number(rows[0].watchers ?? 0));
  }

  /**
   * Django's clearsessions: deletes expired rows in batches of `batchSize`
   * (short statements, no long lock). Returns how many rows were deleted.
   */
  async prune(nowMs: number, batchSize = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.pruneBatch(nowMs, batchSize);
      total += count;
      if (count < batchSize) return total;
    }
  }

  /** One batch of {@link prune}: how many rows it deleted. `query`: a transaction's (the pruner's lock). */
  async pruneBatch(nowMs: number, batchSize: number, query?: Query): Promise<number> {
    return (await this.statements.pruneBatch.run({ now: nowMs, limit: batchSize }, Math.max(this.timeoutMs, 60_000), query)).count;
  }

  ready(): Promise<boolean> {
    return isReady(this.database, this.timeoutMs);
  }

  async close(): Promise<void> {
    await this.closeFeed?.();
    await this.database.close();
  }
}
