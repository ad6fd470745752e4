import { and, eq, gt, lte, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { sessions } from '../db/schema.js';
import { withTimeout } from '../db/unavailable.js';
import { renewedExpiry } from './expiry.js';

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
};
const nowTs = sql`to_timestamp(${p.now}::float8 / 1000)`;
const alive = (hash: SQL | typeof p.hash = p.hash) => and(eq(sessions.keyHash, hash), gt(sessions.expiresAt, nowTs));
const returned = {
  data: sessions.data,
  expiresAt: sql<number>`extract(epoch from ${sessions.expiresAt})::float8`,
  browserClose: sessions.browserClose,
  maxAge: sessions.maxAge,
  fixedExpiry: sessions.fixedExpiry,
};
/** Each write renews the deadline (whole seconds) unless it is fixed. */
const renewed = sql`CASE WHEN ${sessions.fixedExpiry} THEN ${sessions.expiresAt}
  ELSE to_timestamp(ceil(${p.now}::float8 / 1000) + coalesce(${sessions.maxAge}, ${p.age}::int)) END`;

function violationOf(change: DataChange, d: SQL): SQL {
  const size = sql`CASE WHEN octet_length((${change.next(d)})::text) > ${p.max}::int THEN 'SESSION_TOO_LARGE' END`;
  return change.violation ? sql`coalesce(${change.violation(d)}, ${size})` : size;
}

function toStored(row: {
  data: unknown;
  expiresAt: number;
  browserClose: boolean;
  maxAge: number | null;
  fixedExpiry: boolean;
}): StoredSession {
  return { ...row, data: (row.data ?? {}) as Record<string, unknown>, expiresAt: Number(row.expiresAt) };
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

/**
 * Every SQL statement the server runs on sessions. Each method is one
 * statement (prepared once), so each is atomic on its row; a write on a row
 * that is gone or expired affects nothing and the caller starts a fresh
 * session instead (no resurrection).
 */
export class SessionStore {
  private readonly prepared = new Map<string, ReturnType<typeof this.prepareChange>>();
  private readonly statements;

  constructor(
    private readonly db: Db,
    private readonly settings: StoreSettings,
  ) {
    this.statements = {
      load: db.select(returned).from(sessions).where(alive()).prepare('sessionql_load'),
      touch: db
        .update(sessions)
        .set({ expiresAt: renewed, updatedAt: nowTs })
        .where(alive())
        .returning(returned)
        .prepare('sessionql_touch'),
      flush: db.delete(sessions).where(eq(sessions.keyHash, p.hash)).prepare('sessionql_flush'),
      cycle: db
        .update(sessions)
        .set({ keyHash: sql`${sql.placeholder('newHash')}::text`, expiresAt: renewed, updatedAt: nowTs })
        .where(alive())
        .returning(returned)
        .prepare('sessionql_cycle'),
      setExpiry: db
        .update(sessions)
        .set({
          expiresAt: sql`to_timestamp(${sql.placeholder('expiresAt')}::float8)`,
          browserClose: sql`${sql.placeholder('browserClose')}::boolean`,
          maxAge: sql`${sql.placeholder('maxAge')}::int`,
          fixedExpiry: sql`${sql.placeholder('fixedExpiry')}::boolean`,
          updatedAt: nowTs,
        })
        .where(alive())
        .returning(returned)
        .prepare('sessionql_set_expiry'),
      create: db
        .insert(sessions)
        .values({
          keyHash: sql`${p.hash}::text`,
          data: sql`${sql.placeholder('data')}::text::jsonb`,
          expiresAt: sql`to_timestamp(${sql.placeholder('expiresAt')}::float8)`,
          browserClose: sql`${sql.placeholder('browserClose')}::boolean`,
          maxAge: sql`${sql.placeholder('maxAge')}::int`,
          fixedExpiry: sql`${sql.placeholder('fixedExpiry')}::boolean`,
          createdAt: nowTs,
          updatedAt: nowTs,
        })
        .returning(returned)
        .prepare('sessionql_create'),
      pruneBatch: db
        .delete(sessions)
        .where(
          sql`${sessions.keyHash} IN (SELECT ${sessions.keyHash} FROM ${sessions}
            WHERE ${lte(sessions.expiresAt, nowTs)} LIMIT ${sql.placeholder('limit')}::int FOR UPDATE SKIP LOCKED)`,
        )
        .prepare('sessionql_prune'),
    };
  }

  private prepareChange(change: DataChange) {
    const d = sql`${sessions.data}`;
    const empty = sql`'{}'::jsonb`;
    return {
      update: this.db
        .update(sessions)
        .set({ data: change.next(d), expiresAt: renewed, updatedAt: nowTs })
        .where(and(alive(), sql`${violationOf(change, d)} IS NULL`))
        .returning(returned)
        .prepare(`sessionql_${change.name}_update`),
      diagnose: this.db
        .select({ violation: sql<Violation | null>`${violationOf(change, d)}` })
        .from(sessions)
        .where(alive())
        .prepare(`sessionql_${change.name}_diagnose`),
      fromEmpty: this.db
        .select({
          data: sql<unknown>`${change.next(empty)}`,
          violation: sql<Violation | null>`${violationOf(change, empty)}`,
        })
        .from(sql`(SELECT 1) AS one`)
        .prepare(`sessionql_${change.name}_from_empty`),
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

  /** Runs a prepared statement within the configured time. */
  private run<T>(statement: { execute(args?: Record<string, unknown>): Promise<T> }, args: Record<string, unknown>): Promise<T> {
    return withTimeout(statement.execute(args), this.settings.timeoutMs ?? 5000);
  }

  private base(nowMs: number) {
    return { now: nowMs, age: this.settings.ageSeconds, max: this.settings.maxBytes };
  }

  /** The unexpired session stored under `keyHash`, or null. */
  async load(keyHash: string, nowMs: number): Promise<StoredSession | null> {
    const [row] = await this.run(this.statements.load, { hash: keyHash, now: nowMs });
    return row ? toStored(row) : null;
  }

  /** SESSION_SAVE_EVERY_REQUEST: load and renew the deadline in one statement. */
  async touch(keyHash: string, nowMs: number): Promise<StoredSession | null> {
    const [row] = await this.run(this.statements.touch, { hash: keyHash, ...this.base(nowMs) });
    return row ? toStored(row) : null;
  }

  /**
   * Applies `change` to the stored session. Returns null when the session is
   * not stored (gone, expired, flushed); throws WriteRefused when a rule or
   * the size limit refuses it, having written nothing.
   */
  async change(keyHash: string, change: DataChange, params: Record<string, unknown>, nowMs: number): Promise<StoredSession | null> {
    const s = this.statementsFor(change);
    const args = { ...params, hash: keyHash, ...this.base(nowMs) };
    // A refusal is rare: only then does a second statement tell which rule,
    // and if the row changed meanwhile so that the change now fits, try again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const [row] = await this.run(s.update, args);
      if (row) return toStored(row);
      const [diagnosis] = await this.run(s.diagnose, args);
      if (!diagnosis) return null;
      if (diagnosis.violation) throw new WriteRefused(diagnosis.violation);
    }
    throw new Error(`session change ${change.name} kept conflicting`);
  }

  /** Stores a new session under `keyHash` whose data is `change` applied to `{}`. */
  async create(
    keyHash: string,
    change: DataChange | null,
    params: Record<string, unknown>,
    policy: { expiresAt: number; browserClose: boolean; maxAge: number | null; fixedExpiry: boolean } | null,
    nowMs: number,
  ): Promise<StoredSession> {
    let data = '{}';
    if (change) {
      const [first] = await this.run(this.statementsFor(change).fromEmpty, { ...params, ...this.base(nowMs) });
      if (first?.violation) throw new WriteRefused(first.violation);
      data = JSON.stringify(first?.data ?? {});
    }
    const expiry = policy ?? {
      expiresAt: renewedExpiry(nowMs, this.settings.ageSeconds),
      browserClose: this.settings.browserCloseByDefault,
      maxAge: null,
      fixedExpiry: false,
    };
    const [row] = await this.run(this.statements.create, { hash: keyHash, data, now: nowMs, ...expiry });
    if (!row) throw new Error('session insert returned no row');
    return toStored(row);
  }

  async setExpiry(
    keyHash: string,
    policy: { expiresAt: number; browserClose: boolean; maxAge: number | null; fixedExpiry: boolean },
    nowMs: number,
  ): Promise<StoredSession | null> {
    const [row] = await this.run(this.statements.setExpiry, { hash: keyHash, now: nowMs, ...policy });
    return row ? toStored(row) : null;
  }

  /** Moves the row to a new key in one statement; null when not stored. */
  async cycle(keyHash: string, newKeyHash: string, nowMs: number): Promise<StoredSession | null> {
    const [row] = await this.run(this.statements.cycle, { hash: keyHash, newHash: newKeyHash, ...this.base(nowMs) });
    return row ? toStored(row) : null;
  }

  async flush(keyHash: string): Promise<void> {
    await this.run(this.statements.flush, { hash: keyHash });
  }

  /**
   * Django's clearsessions: deletes expired rows in batches of `batchSize`
   * (short statements, no long lock), skipping rows a writer holds. Returns
   * how many rows were deleted.
   */
  async prune(nowMs: number, batchSize = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.run(this.statements.pruneBatch, { now: nowMs, limit: batchSize });
      const count = affected(result);
      total += count;
      if (count < batchSize) return total;
    }
  }
}

/** Rows affected by a DELETE, from postgres.js (`count`) or PGlite (`affectedRows`). */
function affected(result: unknown): number {
  const r = result as { count?: number; affectedRows?: number };
  return Number(r.count ?? r.affectedRows ?? 0);
}
