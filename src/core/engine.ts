/** Session data: what a session holds, a JSON object. */
export type SessionData = Readonly<Record<string, unknown>>;

/** A stored session as an engine returns it; times in seconds since the epoch. */
export interface StoredSession {
  data: SessionData;
  expiresAt: number;
  browserClose: boolean;
  /** A custom inactivity age from set_expiry(seconds), else null. */
  maxAge: number | null;
  /** A fixed deadline from set_expiry(date), not renewed by writes. */
  fixedExpiry: boolean;
  /** Counts the writes to this session; compare-and-set writes check it. */
  version: number;
}

/** How a session expires, as stored. */
export type ExpiryColumns = Pick<StoredSession, 'expiresAt' | 'browserClose' | 'maxAge' | 'fixedExpiry'>;

/**
 * A change to the session data, as a pure function: the engine applies it
 * atomically (compare-and-set on the version, retried on conflict), so
 * concurrent writers each see the others' results.
 */
export interface SessionChange {
  /** Names the change (`cart.add`, `session.set`), for logs and errors. */
  readonly name: string;
  /** The change's arguments, already validated. */
  readonly args: Readonly<Record<string, unknown>>;
  /** The new data given the current data, or the refusal of a rule. Must not mutate `data`. */
  next(data: SessionData): SessionData | import('./errors.js').WriteRefused;
}

/** A change applied: the stored result, and the data it was applied to. */
export interface Applied {
  row: StoredSession;
  previous: SessionData;
  /** `row.data` as it was written (its stored JSON), when the engine has it: a cache in front need not serialize it again. */
  json?: string;
}

/** What an engine enforces by its own settings: the age each write renews a session by, and the size limit. */
export interface EngineLimits {
  ageSeconds: number;
  maxBytes: number;
}

/**
 * Storage of sessions under the SHA-256 of their keys. Every method is atomic
 * on its session. A write on a session that is gone or expired changes
 * nothing and returns null: the caller then starts a fresh session (no
 * resurrection). Refusals throw WriteRefused; an unreachable store throws
 * StoreUnavailable.
 */
export interface SessionEngine {
  /**
   * The engine's own age and size limit (given when it was opened):
   * useSessions refuses settings that disagree with them, since the engine,
   * not the plugin, renews deadlines and measures writes.
   */
  readonly limits?: EngineLimits;
  /** The unexpired session stored under `hash`, or null. */
  load(hash: string, nowMs: number): Promise<StoredSession | null>;
  /** Load and renew the deadline in one step (SESSION_SAVE_EVERY_REQUEST). */
  touch(hash: string, nowMs: number): Promise<StoredSession | null>;
  /** Applies `change`; `known` is a recent read to start from (it may be stale). */
  change(hash: string, change: SessionChange, nowMs: number, known?: StoredSession | null): Promise<Applied | null>;
  /** Stores a new session; throws WriteRefused when `data` is over the size limit. */
  create(hash: string, data: SessionData, expiry: ExpiryColumns | null, nowMs: number): Promise<StoredSession>;
  setExpiry(hash: string, expiry: ExpiryColumns, nowMs: number): Promise<StoredSession | null>;
  /** Moves the session to `newHash`; null when not stored. */
  cycle(hash: string, newHash: string, nowMs: number): Promise<StoredSession | null>;
  flush(hash: string): Promise<void>;
  /** Deletes expired sessions (engines with TTLs have nothing to do); returns how many. */
  prune(nowMs: number, batchSize?: number): Promise<number>;
  /** Whether the store answers (the server's /ready). */
  ready(): Promise<boolean>;
  close(): Promise<void>;
  /** Notices of committed changes (sessionChanged); absent on an engine without them. */
  readonly feed?: SessionFeed;
}

/**
 * "The session stored under `hash` changed": published by an engine after it
 * commits, to every instance. It carries the version, never session data; a
 * subscriber reads the state itself. `gone`: flushed (or expired and deleted),
 * or `moved` to another key by cycleKey.
 */
export type SessionNotice = { hash: string; version: number } | { hash: string; gone: 'flushed' | 'moved' };

/** Calls on a notice; must not throw. `resync`: notices may have been missed (a lost connection): read again. */
export type NoticeListener = (notice: SessionNotice | { hash: string; resync: true }) => void;

/**
 * Session notices across instances (PostgreSQL LISTEN/NOTIFY, Redis pub/sub,
 * or within the process). Notices are sent at commit and never replayed.
 */
export interface SessionFeed {
  /**
   * Calls `listener` for every notice about `hash`, from any instance, from
   * when the returned promise resolves until its function is called. A write
   * committed after that resolves is always noticed.
   */
  subscribe(hash: string, listener: NoticeListener): Promise<() => void>;
  /** Starts listening now rather than at the first subscriber, to find a misconfiguration at start-up. */
  start?(): Promise<void>;
  /** Stops listening (the engine's close does it too). */
  close?(): Promise<void>;
}
