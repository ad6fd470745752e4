import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import type { NoticeListener, SessionFeed, SessionNotice } from '../../core/engine.js';
import { decodeNotice, encodeNotice, LocalFeed } from '../feed.js';
import { redactedUrl } from '../redacted-url.js';
import { within } from '../within.js';
import type { Database } from './client.js';
import { DatabaseUnavailable } from './unavailable.js';

/** The NOTIFY channel of every instance: payloads are `hash:version` (under 80 bytes; the limit is 8,000). */
export const NOTICE_CHANNEL = 'sessionql_session';

/** How long the start-up probe waits for its own NOTIFY. */
const PROBE_MS = 2000;

/** LISTEN works but hears nothing (PgBouncer in transaction mode): subscriptions get SERVICE_UNAVAILABLE, and the log says why. */
export class ListenMisconfigured extends DatabaseUnavailable {
  override name = 'ListenMisconfigured';
}

/** What the feed needs of the store: counting this instance in or out of a session's watchers. */
export interface Watchable {
  watch(hash: string, delta: 1 | -1): Promise<void>;
}

export interface PostgresFeedOptions {
  /**
   * Where to LISTEN: PostgreSQL itself (or a session-mode pool). PgBouncer in
   * transaction mode cannot LISTEN (DATABASE_LISTEN_URL). @default the database URL
   */
  listenUrl: string;
  /** Told when the LISTEN connection is lost (notices may be missed until it is back). Must not throw. */
  onError?: (error: unknown) => void;
}

/**
 * Session notices over PostgreSQL LISTEN/NOTIFY, for the `db` engine on
 * PostgreSQL: one dedicated LISTEN connection per instance, one channel.
 *
 * A NOTIFY takes a database-wide lock from commit until the commit is
 * flushed, which serialises every notifying writer (measured: 5,600 → 1,700
 * updates/s with pgbench). So writes notify only for sessions someone
 * watches: an instance with a subscriber to a session adds itself to the
 * row's `watchers` before it reads the state (the subscription's first
 * event), and writes return that count. A write committed after the count
 * is raised therefore notifies; one committed before is in the state read.
 */
export class PostgresFeed implements SessionFeed {
  private readonly local: LocalFeed;
  private listener: postgres.Sql | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private started: Promise<void> | null = null;
  /** Channels besides NOTICE_CHANNEL listened to on the same connection ({@link listenAlso}). */
  private others = 0;
  private misconfigured: ListenMisconfigured | null = null;
  private closed = false;

  constructor(
    private readonly database: Database,
    store: Watchable,
    private readonly options: PostgresFeedOptions,
  ) {
    this.local = new LocalFeed({
      first: (hash) => store.watch(hash, 1),
      last: (hash) => void store.watch(hash, -1).catch(() => {}),
    });
  }

  /** Listens (once, at the first subscriber); resolves once LISTEN is in place and a NOTIFY sent through the pool came back. */
  start(): Promise<void> {
    if (this.misconfigured) return Promise.reject(this.misconfigured);
    this.started ??= this.listen().catch(async (error) => {
      // Tried again by the next subscriber (a misconfiguration is not: it does not mend itself).
      this.started = null;
      if (error instanceof ListenMisconfigured) this.misconfigured = error;
      this.options.onError?.(error);
      // The connection stays while other channels listen on it (postgres.js reconnects it).
      const sql = this.others ? null : this.listener;
      if (sql) this.listener = null;
      await sql?.end({ timeout: 1 }).catch(() => {});
      throw error instanceof ListenMisconfigured
        ? error
        : new DatabaseUnavailable(`cannot LISTEN for session changes: ${(error as Error).message}`, { cause: error });
    });
    return this.started;
  }

  private async listen(): Promise<void> {
    if (this.closed) throw new Error('closed');
    let listening = false;
    const sql = this.connection();
    const probe = `probe:${randomUUID()}`;
    let probed: () => void = () => {};
    const echoed = new Promise<void>((resolve) => (probed = resolve));
    const { unlisten } = await sql.listen(
      NOTICE_CHANNEL,
      (payload) => {
        if (payload === probe) return probed();
        const notice = decodeNotice(payload);
        if (notice) this.local.deliver(notice);
      },
      () => {
        // postgres.js listens again after a lost connection: what was sent meanwhile is gone.
        if (listening) this.local.resync();
        listening = true;
      },
    );
    this.unlisten = unlisten;
    // A NOTIFY sent the way writes send theirs must reach this connection:
    // through PgBouncer in transaction mode, LISTEN succeeds and then hears nothing.
    await this.database.query('SELECT pg_notify($1, $2)', [NOTICE_CHANNEL, probe], 5000);
    await within(
      echoed,
      PROBE_MS,
      () =>
        new ListenMisconfigured(
          `LISTEN on ${redactedUrl(this.options.listenUrl)} did not hear a NOTIFY sent through the pool within ${PROBE_MS} ms: ` +
            'behind PgBouncer in transaction mode, set DATABASE_LISTEN_URL to PostgreSQL itself (or a session-mode pool); ' +
            'sessionChanged is unavailable until then',
        ),
    );
  }

  /** The instance's one LISTEN connection, made at first use. */
  private connection(): postgres.Sql {
    this.listener ??= postgres(this.options.listenUrl, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 5,
      prepare: false,
      connection: { application_name: 'sessionql listen' },
    });
    return this.listener;
  }

  /**
   * LISTENs on `channel` too, on the same connection, from now on (not at the
   * first subscriber): the cached_db engine's cache generation. `onListen`
   * runs after LISTEN is in place and after each reconnection (anything sent
   * meanwhile is lost). Resolves once LISTEN is in place.
   */
  async listenAlso(channel: string, onPayload: (payload: string) => void, onListen?: () => void): Promise<void> {
    if (this.closed) throw new Error('closed');
    this.others++;
    await this.connection().listen(channel, onPayload, onListen);
  }

  async subscribe(hash: string, listener: NoticeListener): Promise<() => void> {
    await this.start();
    return this.local.subscribe(hash, listener);
  }

  /**
   * After a commit: NOTIFY when any instance watches the session (`watchers`
   * as the write returned it). Not awaited by the
   * writer: a lost notice costs a subscriber one event, never the write.
   */
  committed(notice: SessionNotice, watchers: number): void {
    if (watchers <= 0) return;
    this.database.query('SELECT pg_notify($1, $2)', [NOTICE_CHANNEL, encodeNotice(notice)], 5000).catch((error) => {
      this.options.onError?.(error);
    });
  }

  /** Sessions watched by this instance. */
  get watching(): number {
    return this.local.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started?.catch(() => {});
    await this.unlisten?.().catch(() => {});
    await this.listener?.end({ timeout: 1 }).catch(() => {});
  }
}
