import type { DataChange, SessionStore, StoredSession } from '../engines/postgres/store.js';
import type { Config } from '../server/config.js';
import { noSessionEvents, type SessionEvents } from '../server/metrics.js';
import type { Clock } from './clock.js';
import { expiredSessionCookie, readCookie, sessionCookie } from './cookie.js';
import { type ExpiryPolicy, renewedExpiry, secondsLeft } from './expiry.js';
import { hashSessionKey, newSessionKey } from './keys.js';
import { signSessionKey, unsignSessionKey } from './signing.js';

/** What the GraphQL layer reads: one consistent view of the session. */
export interface SessionSnapshot {
  /** True once stored server-side. */
  readonly exists: boolean;
  readonly data: Readonly<Record<string, unknown>>;
  /** Seconds since the epoch; null when not stored. */
  readonly expiresAt: number | null;
  readonly expireAtBrowserClose: boolean;
  /** Seconds until expiry (the configured age when not stored). */
  readonly expiryAge: number;
}

type CookieAction = { kind: 'none' } | { kind: 'set'; value: string; maxAge: number | null } | { kind: 'clear' };

/**
 * `request.session` for one HTTP request. Loads lazily and at most once, never
 * writes on a read (except SESSION_SAVE_EVERY_REQUEST), turns each write into
 * one store statement, and remembers what the response's cookie must say.
 */
export class RequestSession {
  /** The verified key: from the cookie, or the new one after a create/cycle. Null after a flush. */
  private key: string | null | undefined;
  private loaded: Promise<StoredSession | null> | undefined;
  private cookie: CookieAction = { kind: 'none' };
  /** Whether anything about the response depends on the session. */
  accessed = false;

  constructor(
    private readonly store: SessionStore,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly cookieHeader: string | null,
    private readonly events: SessionEvents = noSessionEvents,
  ) {}

  /** Milliseconds since the epoch, from the injected clock. */
  now(): number {
    return this.clock.now();
  }

  /** The key the cookie carries, if its signature verifies; no database involved. */
  private cookieKey(): string | null {
    if (this.key === undefined) {
      const value = readCookie(this.cookieHeader, this.config.cookie.name);
      this.key = value ? unsignSessionKey(value, this.config.secrets) : null;
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
        expireAtBrowserClose: this.config.expireAtBrowserClose,
        expiryAge: this.config.cookie.ageSeconds,
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

  /** The session as stored now (one statement per request at most). */
  async load(): Promise<SessionSnapshot> {
    this.accessed = true;
    if (!this.loaded) {
      const key = this.cookieKey();
      const now = this.clock.now();
      if (!key) this.loaded = Promise.resolve(null);
      else if (this.config.saveEveryRequest) {
        this.loaded = this.store.touch(hashSessionKey(key), now).then((row) => {
          if (row) this.remember(key, row, now);
          return row;
        });
      } else {
        this.loaded = this.store.load(hashSessionKey(key), now).then((row) => {
          if (row) this.events.loaded();
          return row;
        });
      }
    }
    return this.snapshot(await this.loaded, this.clock.now());
  }

  /** After a write: the row is what the statement returned, and the cookie says so. */
  private remember(key: string, row: StoredSession, nowMs: number): SessionSnapshot {
    this.key = key;
    this.loaded = Promise.resolve(row);
    this.cookie = {
      kind: 'set',
      value: signSessionKey(key, this.config.secrets),
      maxAge: row.browserClose ? null : secondsLeft(nowMs, row.expiresAt),
    };
    return this.snapshot(row, nowMs);
  }

  private forget(): void {
    this.key = null;
    this.loaded = Promise.resolve(null);
  }

  /**
   * Applies a data change. A session that is not stored (no cookie, a forged,
   * unknown or expired one, or one flushed meanwhile) gets a fresh key when
   * the change creates data: a cookie's key is never adopted.
   */
  async change(change: DataChange, params: Record<string, unknown>): Promise<SessionSnapshot> {
    this.accessed = true;
    const now = this.clock.now();
    const key = this.cookieKey();
    if (key) {
      const row = await this.store.change(hashSessionKey(key), change, params, now);
      if (row) {
        this.events.written();
        return this.remember(key, row, now);
      }
    }
    if (!change.createsSession) {
      this.forget();
      return this.snapshot(null, now);
    }
    const fresh = newSessionKey();
    const row = await this.store.create(hashSessionKey(fresh), change, params, null, now);
    this.events.created();
    return this.remember(fresh, row, now);
  }

  /** Django's set_expiry(); on a session not yet stored it stores an empty one. */
  async setExpiry(policy: ExpiryPolicy): Promise<SessionSnapshot> {
    this.accessed = true;
    const now = this.clock.now();
    const { ageSeconds } = this.config.cookie;
    const columns =
      policy.kind === 'age'
        ? { expiresAt: renewedExpiry(now, policy.seconds), browserClose: false, maxAge: policy.seconds, fixedExpiry: false }
        : policy.kind === 'at'
          ? { expiresAt: policy.at, browserClose: false, maxAge: null, fixedExpiry: true }
          : {
              expiresAt: renewedExpiry(now, ageSeconds),
              browserClose: policy.kind === 'browserClose' || (policy.kind === 'default' && this.config.expireAtBrowserClose),
              maxAge: null,
              fixedExpiry: false,
            };
    const key = this.cookieKey();
    if (key) {
      const row = await this.store.setExpiry(hashSessionKey(key), columns, now);
      if (row) {
        this.events.written();
        return this.remember(key, row, now);
      }
    }
    const fresh = newSessionKey();
    const row = await this.store.create(hashSessionKey(fresh), null, {}, columns, now);
    this.events.created();
    return this.remember(fresh, row, now);
  }

  /** Django's flush(): the row deleted, the cookie expired, later writes get a new key. */
  async flush(): Promise<SessionSnapshot> {
    this.accessed = true;
    const key = this.cookieKey();
    if (key) await this.store.flush(hashSessionKey(key));
    this.events.flushed();
    this.forget();
    this.cookie = { kind: 'clear' };
    return this.snapshot(null, this.clock.now());
  }

  /** Django's cycle_key(): same data under a new key; nothing happens when not stored. */
  async cycleKey(): Promise<SessionSnapshot> {
    this.accessed = true;
    const now = this.clock.now();
    const key = this.cookieKey();
    if (key) {
      const fresh = newSessionKey();
      const row = await this.store.cycle(hashSessionKey(key), hashSessionKey(fresh), now);
      if (row) {
        this.events.cycled();
        return this.remember(fresh, row, now);
      }
    }
    this.forget();
    return this.snapshot(null, now);
  }

  /** The Set-Cookie header this request's writes call for, if any. */
  setCookieHeader(): string | null {
    const c = this.cookie;
    if (c.kind === 'none') return null;
    if (c.kind === 'clear') return expiredSessionCookie(this.config.cookie);
    return sessionCookie(this.config.cookie, c.value, c.maxAge, this.clock.now());
  }
}
