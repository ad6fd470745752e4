import type { Area, InputOf, ResultOf } from './area.js';
import type { Clock } from './clock.js';
import { type CookieSettings, expiredSessionCookie, readCookie, sessionCookie } from './cookie.js';
import type { ExpiryColumns, SessionChange, SessionData, SessionEngine, StoredSession } from './engine.js';
import { InputError, TOO_LARGE, tooLarge, WriteRefused } from './errors.js';
import { type ExpiryPolicy, renewedExpiry, secondsLeft } from './expiry.js';
import { storedJson } from './json.js';
import { hashSessionKey, newSessionKey } from './keys.js';
import { signSessionKey, unsignSessionKey } from './signing.js';
import { validateJsonValue } from './text.js';
import { clearValues, deleteValue, popValue, setDefaultValue, setValue, updateValue, validateKey } from './values.js';
import { WatchCounter, watchStored, withCleanup } from './watch.js';

/** Django's session settings, as the session reads them. */
export interface SessionSettings {
  /** The first signs cookies; all verify (rotation). */
  readonly secrets: readonly string[];
  readonly cookie: CookieSettings;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE */
  readonly expireAtBrowserClose: boolean;
  /** SESSION_SAVE_EVERY_REQUEST */
  readonly saveEveryRequest: boolean;
  /** SESSION_MAX_BYTES: the largest session, in bytes of stored JSON. */
  readonly maxBytes: number;
}

/** What happened to sessions (the server counts them for /metrics). Never throws. */
export interface SessionEvents {
  created(): void;
  loaded(): void;
  written(): void;
  flushed(): void;
  cycled(): void;
  /** A session cookie whose signature did not verify (forged, tampered, old secret). */
  rejectedCookie(): void;
  /** A write refused by the size limit. */
  tooLarge(): void;
}

export const noSessionEvents: SessionEvents = {
  created() {},
  loaded() {},
  written() {},
  flushed() {},
  cycled() {},
  rejectedCookie() {},
  tooLarge() {},
};

/** One consistent view of the session, as of the last read or write of this request. */
export interface SessionSnapshot {
  /** True once stored server-side. */
  readonly exists: boolean;
  readonly data: SessionData;
  /** Seconds since the epoch; null when not stored. */
  readonly expiresAt: number | null;
  readonly expireAtBrowserClose: boolean;
  /** Seconds until expiry (the configured age when not stored). */
  readonly expiryAge: number;
}

/** What a session's {@link Session.changes} share with the other sessions of the instance. */
export interface SessionWatching {
  readonly counter: WatchCounter;
  /** Aborted at shutdown: every stream ends. */
  readonly shutdown: AbortSignal;
}

/** Django's set_expiry() argument: seconds (0: at browser close), a date, or null (the default). */
export type Expiry = number | Date | null | { browserClose: boolean };

type CookieAction = { kind: 'none' } | { kind: 'set'; value: string; maxAge: number | null } | { kind: 'clear' };

type AnyArea = Area<any, any, any, any>;

/** The largest age a GraphQL Int (expiryAge) can report. */
export const MAX_AGE_SECONDS = 2 ** 31 - 1;

/**
 * Django's `request.session`, async: one per request (`ctx.session`).
 *
 * It loads lazily and at most once, never writes on a read (except with
 * SESSION_SAVE_EVERY_REQUEST), and makes each write one atomic change on the
 * engine, so concurrent requests never lose each other's writes. A session
 * that is not stored (no cookie; a forged, unknown, expired or flushed one)
 * gets a fresh key when a write stores data: a cookie's key is never adopted.
 * It remembers what the response's cookie must say.
 */
export class Session {
  /** The verified key: from the cookie, or the new one after a create/cycle. Null after a flush. */
  private key: string | null | undefined;
  private loaded: Promise<StoredSession | null> | undefined;
  /** What `loaded` resolved to, once it has: synchronous reads ({@link loadedNow}). */
  private settled: { of: Promise<StoredSession | null>; row: StoredSession | null } | undefined;
  private cookie: CookieAction = { kind: 'none' };
  /** Whether anything about the response depends on the session (then it varies by Cookie). */
  accessed = false;

  constructor(
    private readonly engine: SessionEngine,
    private readonly settings: SessionSettings,
    private readonly clock: Clock,
    private readonly cookieHeader: string | null,
    private readonly events: SessionEvents = noSessionEvents,
    /** Keys owned by areas: written only through their operations. */
    private readonly areaKeys: ReadonlySet<string> = new Set(),
    /** Live subscriptions ({@link changes}): their limits, and the signal that ends them all (shutdown). */
    private readonly watching: SessionWatching = { counter: new WatchCounter(), shutdown: new AbortController().signal },
    /** The request's: aborted when its client goes away, which ends the {@link changes} it started. */
    private readonly requestSignal?: AbortSignal,
  ) {}

  /** Milliseconds since the epoch, from the injected clock. */
  now(): number {
    return this.clock.now();
  }

  // ---- reading ---------------------------------------------------------------

  /** The session as stored now: one consistent snapshot (one engine read per request at most). */
  async load(): Promise<SessionSnapshot> {
    this.accessed = true;
    return this.snapshot(await this.fetch(), this.clock.now());
  }

  /**
   * The snapshot {@link load} would give, when the session has been read
   * already (or written, or preloaded); else undefined. For resolvers that
   * can answer synchronously: `session.loadedNow() ?? session.load()`.
   */
  loadedNow(): SessionSnapshot | undefined {
    const settled = this.settled;
    if (!settled || settled.of !== this.loaded) return undefined;
    this.accessed = true;
    return this.snapshot(settled.row, this.clock.now());
  }

  /**
   * Reads the session now, so that the resolvers that follow answer
   * synchronously ({@link loadedNow}). Not an access: the response varies
   * by Cookie only if a resolver reads it. A failure is kept for this
   * request (its resolvers see it, with no second read); never throws.
   */
  async preload(): Promise<void> {
    try {
      await this.fetch();
    } catch (error) {
      const failed = Promise.reject(error);
      failed.catch(() => {});
      this.loaded = failed;
    }
  }

  /** The stored row: read from the engine once, then this request's own view of it. */
  private fetch(): Promise<StoredSession | null> {
    if (this.loaded) return this.loaded;
    const key = this.cookieKey();
    const now = this.clock.now();
    let loaded: Promise<StoredSession | null>;
    if (!key) loaded = Promise.resolve(null);
    else if (this.settings.saveEveryRequest) {
      loaded = this.engine.touch(hashSessionKey(key), now).then((row) => {
        if (row) this.remember(key, row, now);
        return row;
      });
    } else {
      loaded = this.engine.load(hashSessionKey(key), now).then((row) => {
        if (row) this.events.loaded();
        return row;
      });
    }
    this.loaded = loaded;
    loaded.then(
      (row) => {
        if (this.loaded === loaded) this.settled = { of: loaded, row };
      },
      // A failed read is not cached: the next call tries again.
      () => {
        if (this.loaded === loaded) this.loaded = undefined;
      },
    );
    return loaded;
  }

  /** `session.get(key, default)`: with a default, never undefined. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  get<T>(key: string, fallback: T): Promise<T>;
  async get<T = unknown>(key: string, fallback?: T): Promise<T | undefined> {
    const { data } = await this.load();
    return Object.hasOwn(data, key) ? (data[key] as T) : fallback;
  }

  /** `key in session` (also when the value is null) */
  async has(key: string): Promise<boolean> {
    return Object.hasOwn((await this.load()).data, key);
  }

  /** `session.keys()`, sorted. */
  async keys(): Promise<string[]> {
    return Object.keys((await this.load()).data).sort();
  }

  /** `session.items()`, sorted by key. */
  async items(): Promise<[string, unknown][]> {
    const { data } = await this.load();
    return Object.keys(data)
      .sort()
      .map((key) => [key, data[key]]);
  }

  /** `session.is_empty()` */
  async isEmpty(): Promise<boolean> {
    return Object.keys((await this.load()).data).length === 0;
  }

  /** `session.get_expiry_age()`: seconds until expiry (the configured age when not stored). */
  async getExpiryAge(): Promise<number> {
    return (await this.load()).expiryAge;
  }

  /** `session.get_expiry_date()` */
  async getExpiryDate(): Promise<Date> {
    const s = await this.load();
    return new Date(s.expiresAt === null ? this.clock.now() + s.expiryAge * 1000 : Math.round(s.expiresAt * 1000));
  }

  /**
   * The session now, then after every change to it from any tab or instance
   * (sessionChanged). Resolves once listening (so it can be refused: a
   * limit, an unavailable store); the iterator's first state is the current
   * one. It ends after a flush or at expiry (with a last state that does not
   * exist), after cycleKey (the key moved: subscribe again with the new
   * cookie), at shutdown, or when `signal` aborts (by default the request's:
   * its client went away). A caller without a stored session gets that one
   * state and the end. Its slot and its listening are released when it
   * ends, when it is returned, or when `signal` aborts, whether or not
   * anything ever read from it (a response that was never sent).
   * @throws SubscriptionLimit
   */
  async changes(signal = this.requestSignal): Promise<AsyncGenerator<SessionSnapshot, void, undefined>> {
    this.accessed = true;
    const key = this.cookieKey();
    const snapshot = (row: StoredSession | null) => this.snapshot(row, this.clock.now());
    if (!key) {
      return (async function* () {
        yield snapshot(null);
      })();
    }
    const hash = hashSessionKey(key);
    const ended = signal ? AbortSignal.any([signal, this.watching.shutdown]) : this.watching.shutdown;
    if (ended.aborted) return (async function* () {})();
    const acquired = this.watching.counter.acquire(hash);
    // At the abort, or once over: `ended` may be the shutdown signal every stream shares, so the listener goes too.
    const release = () => {
      ended.removeEventListener('abort', release);
      acquired();
    };
    ended.addEventListener('abort', release, { once: true });
    let stored: AsyncGenerator<StoredSession | null, void, undefined>;
    try {
      stored = await watchStored(this.engine, hash, () => this.clock.now(), ended);
    } catch (error) {
      release();
      throw error;
    }
    const states = (async function* () {
      try {
        for await (const row of stored) yield snapshot(row);
      } finally {
        release();
      }
    })();
    return withCleanup(states, () => {
      release();
      void stored.return();
    });
  }

  /** The value of an area, viewed (the default when not set). */
  async read<W>(area: Area<unknown, W, string, Record<string, never>> | AnyArea): Promise<W> {
    return area.read((await this.load()).data);
  }

  // ---- writing ---------------------------------------------------------------

  /** `session[key] = value`: a JSON value under a key that no area owns. */
  async set(key: string, value: unknown): Promise<void> {
    this.writableKey(key);
    validateJsonValue('value', value);
    const json = storedJson(value);
    // Too large on its own: refused before any engine work.
    if (Buffer.byteLength(json) > this.settings.maxBytes) {
      this.events.tooLarge();
      throw tooLarge();
    }
    await this.change(setValue(key, value ?? null));
  }

  /** `del session[key]`; no error when absent. An area's key may be deleted too (its value is then the default). */
  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.change(deleteValue(key));
  }

  /** `session.pop(key, default)`: the value removed, atomically; with a default, never undefined. */
  pop<T = unknown>(key: string): Promise<T | undefined>;
  pop<T>(key: string, fallback: T): Promise<T>;
  async pop<T = unknown>(key: string, fallback?: T): Promise<T | undefined> {
    this.writableKey(key);
    const { previous } = await this.change(popValue(key));
    return previous && Object.hasOwn(previous, key) ? (previous[key] as T) : fallback;
  }

  /** `session.setdefault(key, default)`: the value now stored under key, atomically. */
  async setdefault<T>(key: string, fallback: T): Promise<T> {
    this.writableKey(key);
    validateJsonValue('value', fallback);
    const { previous } = await this.change(setDefaultValue(key, fallback ?? null));
    return previous && Object.hasOwn(previous, key) ? (previous[key] as T) : fallback;
  }

  /**
   * An atomic read-modify-write of one key: `fn` gets the current value
   * (undefined when absent) and returns the new one (undefined removes the
   * key). It may run more than once under contention, so it must be pure.
   * Returns the value written.
   */
  async update<T>(key: string, fn: (value: T | undefined) => T): Promise<T>;
  async update<T>(key: string, fn: (value: T | undefined) => T | undefined): Promise<T | undefined>;
  async update<T>(key: string, fn: (value: T | undefined) => T | undefined): Promise<T | undefined> {
    this.writableKey(key);
    const change = updateValue(key, (value) => {
      const next = fn(value as T | undefined);
      if (next !== undefined) validateJsonValue('value', next);
      return next;
    });
    const { snapshot } = await this.change(change);
    return snapshot.data[key] as T | undefined;
  }

  /** `session.clear()`: every key removed, the session key kept. */
  async clear(): Promise<void> {
    await this.change(clearValues);
  }

  /** Runs an area's operation; returns its result (the area's new value, viewed, by default). */
  async apply<A extends AnyArea, N extends keyof A['operations'] & string>(
    area: A,
    name: N,
    input: InputOf<A['operations'][N]>,
  ): Promise<ResultOf<A['operations'][N]>> {
    const change = area.change(name, input);
    const { snapshot, previous } = await this.change(change);
    return change.result(snapshot.data, previous) as ResultOf<A['operations'][N]>;
  }

  /** `session.set_expiry(value)`: seconds (0: at browser close), a Date, or null (the configured default). */
  async setExpiry(value: Expiry): Promise<void> {
    await this.setExpiryPolicy(resolveExpiry(value, this.clock.now()));
  }

  /** `session.flush()`: the stored session deleted, the cookie expired; later writes get a new key. */
  async flush(): Promise<void> {
    this.accessed = true;
    const key = this.cookieKey();
    if (key) await this.engine.flush(hashSessionKey(key));
    this.events.flushed();
    this.forget();
    this.cookie = { kind: 'clear' };
  }

  /** `session.cycle_key()`: the same data under a new key; the old key stops working. Nothing happens when not stored. */
  async cycleKey(): Promise<void> {
    this.accessed = true;
    const now = this.clock.now();
    const key = this.cookieKey();
    if (key) {
      const fresh = newSessionKey();
      const row = await this.engine.cycle(hashSessionKey(key), hashSessionKey(fresh), now);
      if (row) {
        this.events.cycled();
        this.remember(fresh, row, now);
        return;
      }
    }
    this.forget();
  }

  /** set_expiry() from a resolved policy (the GraphQL mutation's arguments); stores an empty session when none is. */
  async setExpiryPolicy(policy: ExpiryPolicy): Promise<void> {
    this.accessed = true;
    const now = this.clock.now();
    const { ageSeconds } = this.settings.cookie;
    const columns: ExpiryColumns =
      policy.kind === 'age'
        ? { expiresAt: renewedExpiry(now, policy.seconds), browserClose: false, maxAge: policy.seconds, fixedExpiry: false }
        : policy.kind === 'at'
          ? { expiresAt: policy.at, browserClose: false, maxAge: null, fixedExpiry: true }
          : {
              expiresAt: renewedExpiry(now, ageSeconds),
              browserClose: policy.kind === 'browserClose' || (policy.kind === 'default' && this.settings.expireAtBrowserClose),
              maxAge: null,
              fixedExpiry: false,
            };
    const key = this.cookieKey();
    if (key) {
      const row = await this.engine.setExpiry(hashSessionKey(key), columns, now);
      if (row) {
        this.events.written();
        this.remember(key, row, now);
        return;
      }
    }
    const fresh = newSessionKey();
    const row = await this.engine.create(hashSessionKey(fresh), {}, columns, now);
    this.events.created();
    this.remember(fresh, row, now);
  }

  /**
   * Applies a change atomically. On a session that is not stored, the change
   * is applied to empty data, and a session is created (under a fresh key)
   * only when that stores something.
   */
  async change(change: SessionChange): Promise<{ snapshot: SessionSnapshot; previous: SessionData }> {
    try {
      return await this.write(change);
    } catch (error) {
      if (error instanceof WriteRefused && error.code === TOO_LARGE) this.events.tooLarge();
      throw error;
    }
  }

  private async write(change: SessionChange): Promise<{ snapshot: SessionSnapshot; previous: SessionData }> {
    this.accessed = true;
    const now = this.clock.now();
    const key = this.cookieKey();
    if (key) {
      const known = this.loaded ? await this.loaded.catch(() => null) : null;
      const applied = await this.engine.change(hashSessionKey(key), change, now, known);
      if (applied) {
        this.events.written();
        return { snapshot: this.remember(key, applied.row, now), previous: applied.previous };
      }
    }
    const data = change.next({});
    if (data instanceof WriteRefused) throw data;
    if (Object.keys(data).length === 0) {
      this.forget();
      return { snapshot: this.snapshot(null, now), previous: {} };
    }
    const fresh = newSessionKey();
    const expiry = {
      expiresAt: renewedExpiry(now, this.settings.cookie.ageSeconds),
      browserClose: this.settings.expireAtBrowserClose,
      maxAge: null,
      fixedExpiry: false,
    };
    const row = await this.engine.create(hashSessionKey(fresh), data, expiry, now);
    this.events.created();
    return { snapshot: this.remember(fresh, row, now), previous: {} };
  }

  /** The Set-Cookie header this request's writes call for, if any. */
  setCookieHeader(): string | null {
    const c = this.cookie;
    if (c.kind === 'none') return null;
    if (c.kind === 'clear') return expiredSessionCookie(this.settings.cookie);
    return sessionCookie(this.settings.cookie, c.value, c.maxAge, this.clock.now());
  }

  // ---- internals -------------------------------------------------------------

  /** A key the dict-like API may write: valid, and not owned by an area. */
  private writableKey(key: string): void {
    validateKey(key);
    if (this.areaKeys.has(key)) throw new InputError('key', `"${key}" belongs to a session area; write it through the area's operations`);
  }

  /** The key the cookie carries, if its signature verifies; no engine involved. */
  private cookieKey(): string | null {
    if (this.key === undefined) {
      const value = readCookie(this.cookieHeader, this.settings.cookie.name);
      this.key = value ? unsignSessionKey(value, this.settings.secrets) : null;
      if (value && !this.key) this.events.rejectedCookie();
    }
    return this.key;
  }

  private snapshot(row: StoredSession | null, nowMs: number): SessionSnapshot {
    if (!row) {
      return {
        exists: false,
        data: {},
        expiresAt: null,
        expireAtBrowserClose: this.settings.expireAtBrowserClose,
        expiryAge: this.settings.cookie.ageSeconds,
      };
    }
    return {
      exists: true,
      data: row.data,
      expiresAt: row.expiresAt,
      expireAtBrowserClose: row.browserClose,
      expiryAge: secondsLeft(nowMs, row.expiresAt),
    };
  }

  /** After a write: the row is what the engine returned, and the cookie says so. */
  private remember(key: string, row: StoredSession, nowMs: number): SessionSnapshot {
    this.key = key;
    this.loaded = Promise.resolve(row);
    this.settled = { of: this.loaded, row };
    this.cookie = {
      kind: 'set',
      value: signSessionKey(key, this.settings.secrets),
      maxAge: row.browserClose ? null : secondsLeft(nowMs, row.expiresAt),
    };
    return this.snapshot(row, nowMs);
  }

  private forget(): void {
    this.key = null;
    this.loaded = Promise.resolve(null);
    this.settled = { of: this.loaded, row: null };
  }
}

/** Django's set_expiry() argument, checked and resolved. */
export function resolveExpiry(value: Expiry, nowMs: number): ExpiryPolicy {
  if (value === null) return { kind: 'default' };
  if (typeof value === 'number') {
    if (value < 0) throw new InputError('seconds', `must be 0 or more (got ${value})`);
    if (!Number.isInteger(value) || value > MAX_AGE_SECONDS) {
      throw new InputError('seconds', `must be a whole number of at most ${MAX_AGE_SECONDS} (got ${value})`);
    }
    return value === 0 ? { kind: 'browserClose' } : { kind: 'age', seconds: value };
  }
  if (value instanceof Date) {
    const at = value.getTime();
    if (Number.isNaN(at) || at <= nowMs)
      throw new InputError('at', `must be in the future (got ${Number.isNaN(at) ? 'an invalid date' : value.toISOString()})`);
    // expiryAge is a GraphQL Int: a deadline must be expressible in it.
    if (at - nowMs > MAX_AGE_SECONDS * 1000)
      throw new InputError('at', `must be at most ${MAX_AGE_SECONDS} seconds (about 68 years) from now`);
    return { kind: 'at', at: at / 1000 };
  }
  return value.browserClose ? { kind: 'browserClose' } : { kind: 'persistent' };
}
