import type { YogaLogger } from 'graphql-yoga';
import type { Clock } from '../../core/clock.js';
/** What the pruner reports (the server counts it for /metrics). */
export interface PruneEvents {
  pruned(rows: number): void;
}

import type { Database } from './client.js';
import type { SessionStore } from './store.js';

/** An arbitrary 64-bit key for pg_try_advisory_xact_lock, shared by every instance. */
const PRUNE_LOCK = 7_312_694_025_118_440_002n;

export interface PrunerOptions {
  store: SessionStore;
  database: Database;
  clock: Clock;
  /** SESSION_PRUNE_INTERVAL, seconds; 0 = off. */
  intervalSeconds: number;
  logger: YogaLogger;
  events: PruneEvents;
  /** @default 10000 */
  batchSize?: number;
}

/**
 * The in-process pruner (Django's clearsessions on a timer). With several
 * instances on one database only one prunes at a time: deletes go in batches
 * (SessionStore.pruneBatch), each in a transaction that first takes a
 * transaction-level advisory lock (pg_try_advisory_xact_lock). An instance
 * that finds it taken skips that run, or stops a run under way. Nothing is
 * held between transactions, so this holds through PgBouncer in transaction
 * mode too (docs/decisions/0014).
 */
export function createPruner(options: PrunerOptions) {
  const { store, database, clock, logger, events } = options;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;

  /** One run: how many rows it deleted, or 'skipped' when another instance holds the lock. */
  async function runOnce(): Promise<number | 'skipped'> {
    const now = clock.now();
    const batchSize = options.batchSize ?? 10_000;
    let result = 0;
    for (let batch = 0; ; batch++) {
      const deleted = await database.withLock(PRUNE_LOCK, (query) => store.pruneBatch(now, batchSize, query));
      if (deleted === null) {
        // Another instance is pruning: it carries on.
        if (batch === 0) return 'skipped';
        break;
      }
      result += deleted;
      if (deleted < batchSize) break;
    }
    events.pruned(result);
    if (result > 0) logger.info(`pruned ${result} expired session${result === 1 ? '' : 's'}`);
    return result;
  }

  return {
    runOnce,
    start() {
      if (options.intervalSeconds <= 0 || timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = runOnce()
          .catch((error) => logger.error(error))
          .finally(() => {
            running = null;
          });
      }, options.intervalSeconds * 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
