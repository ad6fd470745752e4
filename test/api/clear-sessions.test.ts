import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/engines/postgres/store.js';
import { onRedis, setup } from '../helpers/app.js';

// Pruning is the db engine's: Redis expires keys by their TTLs (prune returns 0).
describe.skipIf(onRedis)('pruning expired sessions (clearsessions)', async () => {
  const { client, clock, database, config } = await setup({ SESSION_COOKIE_AGE: '100' });

  it('deletes expired rows in batches, keeps live ones, and says how many', async () => {
    const old = Array.from({ length: 7 }, () => client());
    for (const c of old) await c.data('mutation { setSessionValue(key: "k", value: 1) { exists } }');
    clock.advance(50);
    const live = client();
    await live.data('mutation { setSessionValue(key: "k", value: 1) { exists } }');
    const longLived = client();
    await longLived.data('mutation { setSessionExpiry(seconds: 100000) { exists } }');
    clock.advance(60);

    const count = async () => (await database.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM sessionql_session`))[0]!.n;
    const before = await count();
    const store = new SessionStore(database, { ageSeconds: 100, maxBytes: config.maxBytes });
    const deleted = await store.prune(clock.now(), 3);
    expect(deleted).toBeGreaterThanOrEqual(7);
    expect(await count()).toBe(before - deleted);
    expect((await live.data('{ session { exists } }')).session.exists).toBe(true);
    expect((await longLived.data('{ session { exists } }')).session.exists).toBe(true);
    expect(await store.prune(clock.now(), 3)).toBe(0);
  });
});
