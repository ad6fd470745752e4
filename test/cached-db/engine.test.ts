import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionKey, newSessionKey } from '../../src/core/keys.js';
import { unsignSessionKey } from '../../src/core/signing.js';
import type { CachedDbEngine } from '../../src/engines/cached-db/engine.js';
import { clusterSlot } from '../../src/engines/redis/engine.js';
import { onCachedDb, setup, TEST_SECRET, testCachedDbEngine } from '../helpers/app.js';
import { engine as databaseEngine } from '../helpers/database.js';
import { entryOf, holdStoreReads, increment, inspector, keysMatching, spread } from './helpers.js';

// The cached_db engine on a real Redis (or Redis Cluster) and the suite's
// database (SESSIONQL_TEST_ENGINE=cached_db): what the API suite cannot see.
describe.skipIf(!onCachedDb)(`the cached_db engine (${databaseEngine})`, async () => {
  // What these tests count (statements, cache entries, generations) is what the cache did when it
  // answered. A cache command later than SESSION_CACHE_TIMEOUT_MS (200 ms by default; a worker
  // descheduled on a busy machine, a node's first connection) sends reads to PostgreSQL for a second,
  // as it should, and those counts with it: test/cached-db/outage.test.ts tests that, with the default.
  const { client, built, clock, statements, database, config } = await setup({ SESSION_CACHE_TIMEOUT_MS: '5000' });
  const a = built.store as CachedDbEngine;
  /** A second instance on the same database and Redis (its own LISTEN connection and generation). */
  let b: CachedDbEngine;
  let redis: ReturnType<typeof inspector>;
  // Not in the describe's body, which runs (to collect the tests) where they are skipped too.
  beforeAll(async () => {
    b = await testCachedDbEngine(config, database);
    redis = inspector();
  });
  afterAll(async () => {
    await b.close().catch(() => {});
    redis.disconnect();
  });
  const newHash = () => hashSessionKey(newSessionKey());

  it('keys are hashed at rest: Redis holds sessionql:c:{SHA-256(key)}, never the cookie key', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "book", label: "Book") { totalQuantity } }');
    const key = unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!;
    expect(await redis.exists(`sessionql:c:{${hashSessionKey(key)}}`)).toBe(1);
    const keys = await keysMatching(redis, 'sessionql:c:*');
    for (const k of keys) expect(k).toMatch(/^sessionql:c:\{[0-9a-f]{64}\}$/);
    expect(await keysMatching(redis, `*${key}*`)).toEqual([]);
  });

  it('a cached read runs no SQL; a miss reads PostgreSQL once and fills the cache; a write with nothing read is one statement', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }');
    statements.length = 0;
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
    expect(statements).toEqual([]);
    const key = unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!;
    await redis.del(a.key(hashSessionKey(key)));
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^select/i);
    statements.length = 0;
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
    expect(statements).toEqual([]);
    // The write starts from the cached session: only its compare-and-set reaches PostgreSQL.
    expect((await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }')).addToCart.totalQuantity).toBe(2);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^with/i);
  });

  it('cached reads against reads from the database (figures for docs/decisions/0015)', async () => {
    const hash = newHash();
    const now = clock.now();
    await a.create(hash, { cart: { items: [{ sku: 'a', quantity: 1 }] }, username: 'alice' }, null, now);
    const reads = { cache: () => a.load(hash, now), [databaseEngine]: () => a.store.load(hash, now) };
    // Interleaved, so both see the same noise: one read at a time, then 50 in flight.
    const latency: Record<string, number[]> = { cache: [], [databaseEngine]: [] };
    const perSecond: Record<string, number[]> = { cache: [], [databaseEngine]: [] };
    statements.length = 0;
    for (let round = 0; round < 10; round++) {
      for (const [name, read] of Object.entries(reads)) {
        for (let i = 0; i < 200; i++) {
          const t = performance.now();
          await read();
          latency[name]!.push(performance.now() - t);
        }
        const t = performance.now();
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            for (let i = 0; i < 20; i++) await read();
          }),
        );
        perSecond[name]!.push(Math.round(1000 / ((performance.now() - t) / 1000)));
      }
    }
    // Cached reads that went to the database (the cache did not answer within SESSION_CACHE_TIMEOUT_MS): 0 on a quiet machine.
    const missed = statements.length - 10 * 1200;
    for (const name of Object.keys(reads)) {
      console.log(
        `${name} load: one at a time ${JSON.stringify(spread(latency[name]!))} ms; 50 in flight, median of 10 rounds ${spread(perSecond[name]!).median} reads/s`,
      );
    }
    console.log(`cached reads answered by the database instead: ${missed} of ${10 * 1200}`);
    expect(missed).toBeGreaterThanOrEqual(0);
  });

  it('read-your-writes across two instances with concurrent writers: no read returns an older version than the newest acknowledged', async () => {
    for (let round = 0; round < 5; round++) {
      const hash = newHash();
      const now = clock.now();
      await a.create(hash, { n: 0 }, null, now);
      let acknowledged = 0;
      let writing = true;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i++) {
          const applied = await (i % 2 === w % 2 ? a : b).change(hash, increment, now);
          acknowledged = Math.max(acknowledged, applied!.row.version);
        }
      });
      const readers = Array.from({ length: 2 }, async (_, r) => {
        let reads = 0;
        while (writing || reads < 5) {
          const floor = acknowledged;
          const row = await (r === 0 ? a : b).load(hash, now);
          expect(row!.version).toBeGreaterThanOrEqual(floor);
          reads++;
        }
      });
      await Promise.all(writers);
      writing = false;
      await Promise.all(readers);
      for (const engine of [a, b]) expect((await engine.load(hash, now))?.data.n).toBe(100);
      expect((await entryOf(redis, a, hash)).version).toBe(100);
    }
  });

  it('50 concurrent writes on one session through two instances: 50', async () => {
    const hash = newHash();
    const now = clock.now();
    await a.create(hash, {}, null, now);
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).change(hash, increment, now)));
    expect((await b.load(hash, now))?.data.n).toBe(50);
    expect((await a.store.load(hash, now))?.data.n).toBe(50);
  });

  /**
   * B reads a new session (version 0, nothing cached) from PostgreSQL, and its
   * fill is held until `write` on A is done: what B's read returned.
   */
  const fillRacing = async (hash: string, now: number, write: () => Promise<unknown>) => {
    await a.create(hash, { n: 0 }, null, now);
    await redis.del(a.key(hash));
    const held = holdStoreReads(b);
    const reading = b.load(hash, now);
    await held.didRead;
    await write();
    held.release();
    return reading;
  };

  it('a fill that read version n from PostgreSQL cannot overwrite version n + 1 written through meanwhile', async () => {
    const hash = newHash();
    const now = clock.now();
    const read = await fillRacing(hash, now, () => a.change(hash, increment, now));
    // That read began before the write: it may answer version 0, but its fill is refused.
    expect(read?.version).toBe(0);
    expect(await entryOf(redis, a, hash)).toMatchObject({ version: 1, dead: false });
    for (const engine of [a, b]) expect((await engine.load(hash, now))?.version).toBe(1);
  });

  it('a flush or a cycle is never resurrected by a racing fill of the old state', async () => {
    for (const how of ['flush', 'cycle'] as const) {
      const hash = newHash();
      const moved = newHash();
      const now = clock.now();
      await fillRacing(hash, now, () => (how === 'flush' ? a.flush(hash) : a.cycle(hash, moved, now)));
      expect(await entryOf(redis, a, hash)).toMatchObject({ dead: true });
      statements.length = 0;
      for (const engine of [a, b]) {
        expect(await engine.load(hash, now)).toBeNull();
        expect(await engine.change(hash, increment, now)).toBeNull();
      }
      // The tombstone answers: no SQL.
      expect(statements).toEqual([]);
      if (how === 'cycle') expect((await b.load(moved, now))?.data).toEqual({ n: 0 });
    }
  });

  it.runIf(databaseEngine === 'postgres')(
    'a raised generation reaches the other instance by NOTIFY; its entries of older generations are then misses',
    async () => {
      const hash = newHash();
      const now = clock.now();
      await a.create(hash, { n: 1 }, null, now);
      expect((await b.load(hash, now))?.data.n).toBe(1);
      // B's poll is off (testCachedDbEngine): only the NOTIFY can tell it. How soon is a figure, not a bound.
      const delays: number[] = [];
      for (let i = 0; i < 100; i++) {
        await a.generation.raise();
        const target = a.generation.current;
        const t = performance.now();
        while (b.generation.current < target && performance.now() - t < 10_000) await new Promise((resolve) => setImmediate(resolve));
        expect(b.generation.current).toBe(target);
        delays.push(performance.now() - t);
      }
      console.log(`cache generation raise → other instance, ms after the raise commits: ${JSON.stringify(spread(delays))}`);
      statements.length = 0;
      expect((await b.load(hash, now))?.data.n).toBe(1);
      expect(statements).toHaveLength(1);
      expect((await entryOf(redis, a, hash)).generation).toBe(a.generation.current);
      statements.length = 0;
      expect((await a.load(hash, now))?.data.n).toBe(1);
      expect(statements).toEqual([]);
    },
  );

  it.runIf(databaseEngine === 'postgres')('a raise not heard (no NOTIFY) is read by the poll', async () => {
    const polled = await testCachedDbEngine(config, database, { generationPollMs: 100 });
    try {
      const before = polled.generation.current;
      await database.query('UPDATE sessionql_cache_generation SET generation = generation + 1', [], 5000);
      // No NOTIFY was sent: only the poll (every 100 ms here; hourly in the other test engines) can read it.
      const t = performance.now();
      while (polled.generation.current <= before && performance.now() - t < 10_000) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(polled.generation.current).toBeGreaterThan(before);
      console.log(`a raise not notified, read by the 100 ms poll after ${Math.round(performance.now() - t)} ms`);
    } finally {
      await polled.close();
    }
  });

  // REDIS_URL is the cache when both are set (testCacheTarget).
  it.skipIf(!!process.env.REDIS_URL || !process.env.REDIS_CLUSTER_NODES)(
    "on a cluster, a session's cache commands go to its slot's master; with a stale map of slots (MOVED), the copy and the cached read still land and nothing is raised",
    async () => {
      const cluster = a.redis.client as Cluster;
      // What goes through the cluster client's own routing rather than straight to a master.
      const routed: string[] = [];
      const own = { hmget: cluster.hmget, evalsha: cluster.evalsha };
      for (const name of ['hmget', 'evalsha'] as const) {
        (cluster as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          routed.push(name);
          return (own[name] as (...a: unknown[]) => unknown).apply(cluster, args);
        };
      }
      try {
        const c = client();
        await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }');
        const hash = hashSessionKey(unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!);
        // The master's connection is ready now (a node's connection is opened by its first command).
        routed.length = 0;
        expect((await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }')).addToCart.totalQuantity).toBe(2);
        statements.length = 0;
        expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(2);
        expect(statements).toEqual([]);
        expect(routed).toEqual([]);

        const generation = a.generation.current;
        const slot = clusterSlot(a.key(hash));
        const owner = cluster.slots[slot]![0]!;
        const other = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` !== owner)!;
        // The cluster client's map now says another master serves the slot: it answers MOVED.
        cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
        expect((await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }')).addToCart.totalQuantity).toBe(3);
        expect(await entryOf(redis, a, hash)).toMatchObject({ version: 2, dead: false });
        cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
        statements.length = 0;
        expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(3);
        expect(statements).toEqual([]);
        // A redirection is not a cache failure: no generation raised, the cache not left alone. (Which
        // commands met the stale map depends on when the cluster client refreshes its map by itself.)
        expect(a.generation.current).toBe(generation);
        expect(cluster.slots[slot]![0]).toBe(owner);
      } finally {
        Object.assign(cluster, own);
      }
    },
  );
});
