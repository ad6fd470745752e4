import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from '../postgres/client.js';
import type { PostgresFeed } from '../postgres/feed.js';
import { cacheGeneration as table } from '../postgres/schema.js';

/** The NOTIFY channel of a raised generation; the payload is the new generation. */
export const GENERATION_CHANNEL = 'sessionql_cache_generation';

const dialect = new PgDialect();
const read = dialect.sqlToQuery(sql`SELECT coalesce(max(${table.generation}), 0)::float8 AS generation FROM ${table}`).sql;
/** One statement: the row raised (made at the first raise) and every instance told, at commit. */
const raise = dialect.sqlToQuery(sql`WITH raised AS (
    INSERT INTO ${table} (id, generation) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET generation = ${table.generation} + 1 RETURNING generation
  ) SELECT generation::float8 AS generation, pg_notify(${GENERATION_CHANNEL}, generation::text) FROM raised`);

export interface GenerationOptions {
  /** DATABASE_TIMEOUT_MS, for each statement. */
  timeoutMs: number;
  /** How often the generation is read again, should a NOTIFY be lost with the LISTEN connection; 0: never. */
  pollMs: number;
  /** Told of a failed read or raise. Must not throw. */
  onError?: (error: unknown) => void;
}

/**
 * The cache generation of the cached_db engine, kept in PostgreSQL
 * (`sessionql_cache_generation`): the newest one this instance knows of.
 * Cache entries of older generations are misses. A write whose copy in
 * Redis did not happen raises it before answering, so that no instance that
 * has heard of the raise serves what the cache held before the write
 * (docs/decisions/0015). Instances hear of it by NOTIFY on the LISTEN
 * connection of the session feed, by reading it again every `pollMs`, and
 * from the generations of the entries they read.
 */
export class CacheGeneration {
  /** The newest generation this instance knows of. */
  current = 0;
  /** A raise failed (PostgreSQL unreachable): until one succeeds, this instance reads nothing from the cache. */
  owed = false;
  /** How often the cache was distrusted: a raise clears `owed` only if none came while it was sent. */
  private distrusts = 0;
  /** The raise not yet sent: callers whose commit came before it join it. */
  private next: Promise<void> | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly database: Database,
    private readonly options: GenerationOptions,
  ) {}

  /** Listens on `feed`'s connection (PostgreSQL; PGlite has one process and no need), then reads the generation. */
  async start(feed?: PostgresFeed): Promise<void> {
    if (feed) {
      await feed.listenAlso(
        GENERATION_CHANNEL,
        (payload) => this.adopt(Number(payload)),
        // Listening again after a lost connection: raises meanwhile were not heard.
        () => void this.refresh().catch((error) => this.options.onError?.(error)),
      );
    }
    await this.refresh();
    if (feed && this.options.pollMs > 0) {
      this.timer = setInterval(() => void this.refresh().catch((error) => this.options.onError?.(error)), this.options.pollMs);
      this.timer.unref();
    }
  }

  /** Moves to `generation` if it is newer. */
  adopt(generation: number): void {
    if (Number.isSafeInteger(generation) && generation > this.current) this.current = generation;
  }

  /** Reads the generation from PostgreSQL. */
  async refresh(): Promise<void> {
    const { rows } = await this.database.query(read, [], this.options.timeoutMs);
    this.adopt(Number(rows[0]?.generation));
  }

  /**
   * Raises the generation in PostgreSQL (every instance is told) and here.
   * Raises coalesce: one sent after the caller's commit covers it, so a caller
   * joins the raise not yet sent, or queues one behind the raise in flight.
   * On failure the caller gets the error (its write committed; the client is
   * told the store is unavailable) and the raise is retried until it succeeds,
   * this instance reading nothing from the cache meanwhile.
   */
  raise(): Promise<void> {
    this.next ??= this.sendAfter(this.inFlight);
    return this.next;
  }

  private async sendAfter(previous: Promise<void> | null): Promise<void> {
    await previous?.catch(() => {});
    // Sent from here on: later callers queue the next raise.
    const mine = this.next!;
    this.next = null;
    this.inFlight = mine;
    const distrusts = this.distrusts;
    try {
      const { rows } = await this.database.query(raise.sql, raise.params, this.options.timeoutMs);
      this.adopt(Number(rows[0]?.generation));
      // A raise sent before the cache was last distrusted does not settle it: the one queued since will.
      if (distrusts === this.distrusts) this.owed = false;
    } catch (error) {
      this.owed = true;
      this.options.onError?.(error);
      if (!this.closed) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.raise().catch(() => {}), 500);
        this.retry.unref();
      }
      throw error;
    } finally {
      if (this.inFlight === mine) this.inFlight = null;
    }
  }

  /**
   * What the cache holds may be older than what it acknowledged (Redis came
   * back from an older snapshot, a failover lost writes): it is left alone
   * until a raise lands, which makes every entry written before it a miss.
   */
  distrust(): void {
    if (this.closed) return;
    this.distrusts++;
    this.owed = true;
    void this.raise().catch(() => {});
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
  }
}
