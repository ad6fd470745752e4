import { and, eq, fillPlaceholders, gt, lte, type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { renewedExpiry } from '../../core/expiry.js';
import type { Database, StatementResult } from './client.js';
import { sessions } from './schema.js';
import { DatabaseUnavailable } from './unavailable.js';

/** A stored session as the server sees it; times in seconds since the epoch. */
export interface StoredSession {
  data: Record<string, unknown>;
  expiresAt: number;
  browserClose: boolean;
  /** Custom inactivity age from setSessionExpiry(seconds), else null. */
  maxAge: number | null;
  /** A fixed deadline from setSessionExpiry(at), not renewed by writes. */
  fixedExpiry: boolean;
}

/**
 * A change to the session data, written as SQL over the current data `d` so
 * that PostgreSQL applies it to the row in one atomic statement: concurrent
 * writers queue on the row lock and each sees the others' results.
 */
export interface DataChange {
  /** Names the prepared statements; one per kind of change. */
  readonly name: string;
  /** The new data, given the current data. */
  readonly next: (d: SQL) => SQL;
  /** A text expression: a violated rule's code, or NULL when the change is allowed. */
  readonly violation?: (d: SQL) => SQL;
  /** Whether applying it to a session that is not stored creates one. */
  readonly createsSession: boolean;
}

/** The codes a DataChange's violation may yield, besides the size limit. */
export type Violation = 'SESSION_TOO_LARGE' | 'CART_LINE_QUANTITY' | 'CART_LINES';

export class WriteRefused extends Error {
  constructor(readonly violation: Violation) {
    super(violation);
  }
}

const p = {
  hash: sql.placeholder('hash'),
  now: sql.placeholder('now'),
  age: sql.placeholder('age'),
  max: sql.placeholder('max'),
  deadline: sql.placeholder('deadline'),
};
const nowTs = sql`to_timestamp(${p.now}::float8 / 1000)`;
const dialect = new PgDialect();
const alive = and(eq(sessions.keyHash, p.hash), gt(sessions.expiresAt, nowTs));
/**
 * Every write also carries its caller's deadline (real time, request start +
 * DATABASE_TIMEOUT_MS): a statement that reaches PostgreSQL only after the
 * caller was told "unavailable" (queued during an outage) changes nothing.
 */
const inTime = sql`clock_timestamp() <= to_timestamp(${p.deadline}::float8 / 1000)`;
const returned = {
  data: sql`${sessions.data}`.as('data'),
  expiresAt: sql<number>`extract(epoch from ${sessions.expiresAt})::float8`.as('expiresAt'),
  browserClose: sql<boolean>`${sessions.browserClose}`.as('browserClose'),
  maxAge: sql<number | null>`${sessions.maxAge}`.as('maxAge'),
  fixedExpiry: sql<boolean>`${sessions.fixedExpiry}`.as('fixedExpiry'),
};
/** Each write renews the deadline (whole seconds) unless it is fixed. */
const renewed = sql`CASE WHEN ${sessions.fixedExpiry} THEN ${sessions.expiresAt}
  ELSE to_timestamp(ceil(${p.now}::float8 / 1000) + coalesce(${sessions.maxAge}, ${p.age}::int)) END`;

function violationOf(change: DataChange, d: SQL): SQL {
  const size = sql`CASE WHEN octet_length((${change.next(d)})::text) > ${p.max}::int THEN 'SESSION_TOO_LARGE' END`;
  return change.violation ? sql`coalesce(${change.violation(d)}, ${size})` : size;
}

function toStored(row: Record<string, unknown> | undefined): StoredSession | null {
  if (!row) return null;
  return {
    data: (row.data ?? {}) as Record<string, unknown>,
    expiresAt: Number(row.expiresAt),
    browserClose: row.browserClose === true,
    maxAge: row.maxAge === null || row.maxAge === undefined ? null : Number(row.maxAge),
    fixedExpiry: row.fixedExpiry === true,
  };
}

export interface StoreSettings {
  /** SESSION_COOKIE_AGE */
  ageSeconds: number;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE */
  browserCloseByDefault: boolean;
  /** SESSION_MAX_BYTES */
  maxBytes: number;
  /** DATABASE_TIMEOUT_MS: a statement that takes longer fails with DatabaseUnavailable. @default 5000 */
  timeoutMs?: number;
}

/** A statement built with Drizzle once, run many times with named values. */
interface Statement {
  run(values: Record<string, unknown>, timeoutMs?: number): Promise<StatementResult>;
}

type ExpiryColumns = { expiresAt: number; browserClose: boolean; maxAge: number | null; fixedExpiry: boolean };

/**
 * Every SQL statement the server runs on sessions. Each method is one
 * statement, so each is atomic on its row; a write on a row that is gone or
 * expired affects nothing and the caller starts a fresh session instead (no
 * resurrection). Statements are built with Drizzle from the table in
 * src/engines/postgres/schema.ts, compiled once, and run as prepared statements.
 */
export class SessionStore {
  private readonly prepared = new Map<string, ReturnType<typeof this.prepareChange>>();
  private readonly statements;
  private readonly timeoutMs: number;

  constructor(
    private readonly database: Database,
    private readonly settings: StoreSettings,
  ) {
    this.timeoutMs = settings.timeoutMs ?? 5000;
    const db = database.db;
    const expiryColumns = {
      expiresAt: sql`to_timestamp(${sql.placeholder('expiresAt')}::float8)`,
      browserClose: sql`${sql.placeholder('browserClose')}::boolean`,
      maxAge: sql`${sql.placeholder('maxAge')}::int`,
      fixedExpiry: sql`${sql.placeholder('fixedExpiry')}::boolean`,
    };
    this.statements = {
      load: this.compile(db.select(returned).from(sessions).where(alive)),
      touch: this.compile(db.update(sessions).set({ expiresAt: renewed, updatedAt: nowTs }).where(and(alive, inTime)).returning(returned)),
      flush: this.compile(db.delete(sessions).where(and(eq(sessions.keyHash, p.hash), inTime))),
      cycle: this.compile(
        db
          .update(sessions)
          .set({ keyHash: sql`${sql.placeholder('newHash')}::text`, expiresAt: renewed, updatedAt: nowTs })
          .where(and(alive, inTime))
          .returning(returned),
      ),
      setExpiry: this.compile(
        db
          .update(sessions)
          .set({ ...expiryColumns, updatedAt: nowTs })
          .where(and(alive, inTime))
          .returning(returned),
      ),
      create: this.compile(
        db
          .insert(sessions)
          .select(
            sql`SELECT ${p.hash}::text, ${sql.placeholder('data')}::text::jsonb, ${expiryColumns.expiresAt},
              ${expiryColumns.browserClose}, ${expiryColumns.maxAge}, ${expiryColumns.fixedExpiry}, ${nowTs}, ${nowTs}
              WHERE ${inTime}`,
          )
          .returning(returned),
      ),
      // Expired rows are never written (writes only touch live ones), so a
      // batch needs no row locks: it finds rows by the expiry index and deletes
      // them by physical address (ctid), the cheapest delete there is.
      pruneBatch: this.compile(
        db
          .delete(sessions)
          .where(
            sql`ctid = ANY(ARRAY(SELECT ctid FROM ${sessions} WHERE ${lte(sessions.expiresAt, nowTs)} LIMIT ${sql.placeholder('limit')}::int))`,
          ),
      ),
    };
  }

  /** Compiles a Drizzle query once; each run fills its placeholders and bounds it in time. */
  private compile(query: { toSQL(): { sql: string; params: unknown[] } }): Statement {
    const { sql: text, params } = query.toSQL();
    return {
      run: (values, timeoutMs = this.timeoutMs) => this.database.query(text, fillPlaceholders(params, values), timeoutMs),
    };
  }

  /**
   * A change is one statement. The row is locked and the new data computed
   * once (`cur`: SELECT … FOR UPDATE, whose LATERAL is re-evaluated on the
   * latest version when a concurrent writer got there first), the rules and
   * the size limit checked on that one result (`chk`), the row updated only
   * when they pass (`upd`), and the answer says which: no row (not stored),
   * a violation (refused, nothing written), or the updated row.
   */
  private prepareChange(change: DataChange) {
    const db = this.database.db;
    const d = sql`${sessions.data}`;
    const empty = sql`'{}'::jsonb`;
    const statement = sql`WITH cur AS (
        SELECT ${sessions.keyHash} AS key_hash, n.next, ${change.violation ? change.violation(d) : sql`NULL::text`} AS rule
        FROM ${sessions} CROSS JOIN LATERAL (SELECT ${change.next(d)} AS next) AS n
        WHERE ${and(alive, inTime)}
        FOR UPDATE OF ${sessions}
      ), chk AS (
        SELECT key_hash, next, coalesce(rule, CASE WHEN octet_length(next::text) > ${p.max}::int THEN 'SESSION_TOO_LARGE' END) AS violation
        FROM cur
      ), upd AS (
        UPDATE ${sessions} SET data = chk.next, expires_at = ${renewed}, updated_at = ${nowTs}
        FROM chk WHERE ${sessions.keyHash} = chk.key_hash AND chk.violation IS NULL
        RETURNING ${sessions.data} AS data, extract(epoch from ${sessions.expiresAt})::float8 AS "expiresAt",
          ${sessions.browserClose} AS "browserClose", ${sessions.maxAge} AS "maxAge", ${sessions.fixedExpiry} AS "fixedExpiry"
      )
      SELECT upd.*, chk.violation FROM chk LEFT JOIN upd ON true`;
    return {
      update: this.compile({ toSQL: () => dialect.sqlToQuery(statement) }),
      fromEmpty: this.compile(
        db
          .select({
            data: sql<unknown>`${change.next(empty)}`.as('data'),
            violation: sql<Violation | null>`${violationOf(change, empty)}`.as('violation'),
          })
          .from(sql`(SELECT 1) AS one`),
      ),
    };
  }

  private statementsFor(change: DataChange) {
    let s = this.prepared.get(change.name);
    if (!s) {
      s = this.prepareChange(change);
      this.prepared.set(change.name, s);
    }
    return s;
  }

  /** Values every statement may use: the (injected) time, the limits, the real-time deadline. */
  private base(nowMs: number) {
    return { now: nowMs, age: this.settings.ageSeconds, max: this.settings.maxBytes, deadline: Date.now() + this.timeoutMs };
  }

  /** The unexpired session stored under `keyHash`, or null. */
  async load(keyHash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.load.run({ hash: keyHash, now: nowMs })).rows[0]);
  }

  /** SESSION_SAVE_EVERY_REQUEST: load and renew the deadline in one statement. */
  async touch(keyHash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.touch.run({ hash: keyHash, ...this.base(nowMs) })).rows[0]);
  }

  /**
   * Applies `change` to the stored session. Returns null when the session is
   * not stored (gone, expired, flushed); throws WriteRefused when a rule or
   * the size limit refuses it, having written nothing.
   */
  async change(keyHash: string, change: DataChange, params: Record<string, unknown>, nowMs: number): Promise<StoredSession | null> {
    const args = { ...params, hash: keyHash, ...this.base(nowMs) };
    const row = (await this.statementsFor(change).update.run(args)).rows[0];
    if (!row) return null;
    if (row.violation) throw new WriteRefused(row.violation as Violation);
    return row.expiresAt == null ? null : toStored(row);
  }

  /** Stores a new session under `keyHash` whose data is `change` applied to `{}`. */
  async create(
    keyHash: string,
    change: DataChange | null,
    params: Record<string, unknown>,
    policy: ExpiryColumns | null,
    nowMs: number,
  ): Promise<StoredSession> {
    const base = this.base(nowMs);
    let data = '{}';
    if (change) {
      const first = (await this.statementsFor(change).fromEmpty.run({ ...params, ...base })).rows[0];
      if (first?.violation) throw new WriteRefused(first.violation as Violation);
      data = JSON.stringify(first?.data ?? {});
    }
    const expiry = policy ?? {
      expiresAt: renewedExpiry(nowMs, this.settings.ageSeconds),
      browserClose: this.settings.browserCloseByDefault,
      maxAge: null,
      fixedExpiry: false,
    };
    const row = toStored((await this.statements.create.run({ hash: keyHash, data, ...base, ...expiry })).rows[0]);
    if (!row) throw new DatabaseUnavailable('the session insert arrived after its deadline');
    return row;
  }

  async setExpiry(keyHash: string, policy: ExpiryColumns, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.setExpiry.run({ hash: keyHash, ...this.base(nowMs), ...policy })).rows[0]);
  }

  /** Moves the row to a new key in one statement; null when not stored. */
  async cycle(keyHash: string, newKeyHash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored((await this.statements.cycle.run({ hash: keyHash, newHash: newKeyHash, ...this.base(nowMs) })).rows[0]);
  }

  async flush(keyHash: string): Promise<void> {
    await this.statements.flush.run({ hash: keyHash, deadline: Date.now() + this.timeoutMs });
  }

  /**
   * Django's clearsessions: deletes expired rows in batches of `batchSize`
   * (short statements, no long lock), skipping rows a writer holds. Returns
   * how many rows were deleted.
   */
  async prune(nowMs: number, batchSize = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { count } = await this.statements.pruneBatch.run({ now: nowMs, limit: batchSize }, Math.max(this.timeoutMs, 60_000));
      total += count;
      if (count < batchSize) return total;
    }
  }
}
