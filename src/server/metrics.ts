import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { noSessionEvents, type SessionEvents } from '../core/session.js';
import type { CacheStats } from '../engines/cached-db/engine.js';

/** What happened to sessions, for /metrics: the session's events, and the server's own. They never throw. */
export interface ServerEvents extends SessionEvents {
  pruned(rows: number): void;
}

export const noServerEvents: ServerEvents = { ...noSessionEvents, pruned() {} };

/** At most this many distinct operation names are labelled; the rest count as "other". */
const MAX_OPERATION_NAMES = 100;

/**
 * The Prometheus registry: GraphQL operation counts and durations, and the
 * session counters. One per app (no global default registry), so tests and
 * several apps in one process do not share counts.
 */
export function createMetrics() {
  const registry = new Registry();
  const operations = new Counter({
    name: 'sessionql_graphql_operations_total',
    help: 'GraphQL operations executed, by type, name and outcome (ok or the first error code).',
    labelNames: ['type', 'name', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'sessionql_graphql_operation_duration_seconds',
    help: 'Time from request to response for GraphQL operations.',
    labelNames: ['type'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const sessions = {
    created: counter('sessionql_sessions_created_total', 'Sessions stored for the first time (new keys).'),
    loaded: counter('sessionql_sessions_loaded_total', 'Requests that loaded a stored session.'),
    written: counter('sessionql_sessions_written_total', 'Writes applied to a stored session.'),
    flushed: counter('sessionql_sessions_flushed_total', 'flushSession calls.'),
    cycled: counter('sessionql_sessions_cycled_total', 'Session keys cycled.'),
    rejected: counter('sessionql_cookies_rejected_total', 'Session cookies ignored because their signature did not verify.'),
    tooLarge: counter('sessionql_session_too_large_total', 'Writes refused by SESSION_MAX_BYTES.'),
    pruned: counter('sessionql_sessions_pruned_total', 'Expired sessions deleted by the pruner or sessions:clear.'),
  };
  const names = new Set<string>();
  const caches = new Map<string, { readonly bytes: number }>();
  new Gauge({
    name: 'sessionql_document_cache_bytes',
    help: 'Estimated heap held by each parsed-document cache; each is bounded in bytes (docs/security.md).',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [cache, source] of caches) this.set({ cache }, source.bytes);
    },
  });

  const events: ServerEvents = {
    created: () => sessions.created.inc(),
    loaded: () => sessions.loaded.inc(),
    written: () => sessions.written.inc(),
    flushed: () => sessions.flushed.inc(),
    cycled: () => sessions.cycled.inc(),
    rejectedCookie: () => sessions.rejected.inc(),
    tooLarge: () => sessions.tooLarge.inc(),
    pruned: (rows) => sessions.pruned.inc(rows),
  };

  return {
    registry,
    events,
    /** Reports a cache's `bytes` under `sessionql_document_cache_bytes{cache=name}`. */
    watchCache(name: string, cache: { readonly bytes: number }) {
      caches.set(name, cache);
    },
    /** Reports a cached_db engine's cache: its lookups by result, its failed commands, and the generation it knows. */
    watchSessionCache(cache: { readonly stats: CacheStats; readonly generation: { readonly current: number } }) {
      const { stats } = cache;
      new Counter({
        name: 'sessionql_session_cache_lookups_total',
        help: 'cached_db lookups by result: hit (the cache answered), miss (read from the database), skipped (the cache failed or is left alone).',
        labelNames: ['result'],
        registers: [registry],
        collect() {
          this.reset();
          this.inc({ result: 'hit' }, stats.hits);
          this.inc({ result: 'miss' }, stats.misses);
          this.inc({ result: 'skipped' }, stats.skipped);
        },
      });
      new Counter({
        name: 'sessionql_session_cache_errors_total',
        help: 'cached_db cache commands (Redis) that failed or took longer than SESSION_CACHE_TIMEOUT_MS.',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(stats.errors);
        },
      });
      new Gauge({
        name: 'sessionql_session_cache_generation',
        help: 'The cached_db cache generation this instance knows: it rises when a write could not be copied to Redis, or Redis may have lost writes.',
        registers: [registry],
        collect() {
          this.set(cache.generation.current);
        },
      });
    },
    /** One GraphQL operation done; `name` is client-chosen, so its label set is bounded. */
    operation(type: string, name: string | undefined, outcome: string, seconds: number) {
      let label = name && /^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name) ? name : 'anonymous';
      if (label !== 'anonymous' && !names.has(label)) {
        if (names.size >= MAX_OPERATION_NAMES) label = 'other';
        else names.add(label);
      }
      operations.inc({ type, name: label, outcome });
      duration.observe({ type }, seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. */
export function bearerMatches(header: string | null, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
