import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/engines/postgres/client.js';
import { createPruner } from '../../src/engines/postgres/pruner.js';
import { noServerEvents } from '../../src/server/metrics.js';
import { setup } from '../helpers/app.js';
import { engine, testDatabaseUrl } from '../helpers/database.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function seed(database: Database, tag: string, expired: number, live: number) {
  await database.rows(sql`INSERT INTO sessionql_session (key_hash, data, expires_at)
    SELECT ${tag} || '-expired-' || i, '{}'::jsonb, now() - interval '1 hour' FROM generate_series(1, ${expired}::int) AS i`);
  await database.rows(sql`INSERT INTO sessionql_session (key_hash, data, expires_at)
    SELECT ${tag} || '-live-' || i, '{}'::jsonb, now() + interval '1 hour' FROM generate_series(1, ${live}::int) AS i`);
}
async function left(database: Database, tag: string) {
  const [row] = await database.rows<{ expired: number; live: number }>(sql`SELECT
    count(*) FILTER (WHERE key_hash LIKE ${`${tag}-expired-%`})::int AS expired,
    count(*) FILTER (WHERE key_hash LIKE ${`${tag}-live-%`})::int AS live FROM sessionql_session`);
  return row;
}

describe('the in-process pruner (SESSION_PRUNE_INTERVAL)', async () => {
  const { database, config } = await setup();
  const { SessionStore } = await import('../../src/engines/postgres/store.js');
  const store = new SessionStore(database, { ageSeconds: 100, maxBytes: config.maxBytes });
  const clock = { now: () => Date.now() };

  it('runs every interval and deletes expired rows in batches, keeping live ones', async () => {
    const tag = `pruner-${Date.now()}`;
    await seed(database, tag, 12, 3);
    let pruned = 0;
    const pruner = createPruner({
      store,
      database,
      clock,
      intervalSeconds: 0.2,
      logger: quiet,
      events: {
        ...noServerEvents,
        pruned: (n) => {
          pruned += n;
        },
      },
      batchSize: 5,
    });
    pruner.start();
    const deadline = Date.now() + 10_000;
    while ((await left(database, tag))?.expired !== 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    await pruner.stop();
    expect(await left(database, tag)).toEqual({ expired: 0, live: 3 });
    expect(pruned).toBeGreaterThanOrEqual(12);
  });

  it.runIf(engine === 'postgres')('with several instances only one prunes at a time (advisory lock)', async () => {
    const tag = `locked-${Date.now()}`;
    await seed(database, tag, 4, 1);
    const pruner = createPruner({ store, database, clock, intervalSeconds: 0, logger: quiet, events: noServerEvents });
    // Another instance is pruning: it holds the lock.
    const other = postgres(testDatabaseUrl()!, { max: 1, onnotice: () => {} });
    await other`SELECT pg_advisory_lock(7312694025118440002)`;
    try {
      expect(await pruner.runOnce()).toBe('skipped');
      expect(await left(database, tag)).toEqual({ expired: 4, live: 1 });
    } finally {
      await other`SELECT pg_advisory_unlock(7312694025118440002)`;
      await other.end();
    }
    expect(await pruner.runOnce()).toBeGreaterThanOrEqual(4);
    expect(await left(database, tag)).toEqual({ expired: 0, live: 1 });
    // two at once: one of them skips, and nothing is deleted twice
    await seed(database, `${tag}-b`, 3, 0);
    const results = await Promise.all([pruner.runOnce(), pruner.runOnce()]);
    expect(results.filter((r) => r === 'skipped').length + results.filter((r) => typeof r === 'number').length).toBe(2);
    expect((await left(database, `${tag}-b`))?.expired).toBe(0);
  });
});
