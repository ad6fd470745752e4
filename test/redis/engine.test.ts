import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { SessionChange, SessionData } from '../../src/core/engine.js';
import { hashSessionKey, newSessionKey } from '../../src/core/keys.js';
import { unsignSessionKey } from '../../src/core/signing.js';
import { clusterSlot, RedisEngine } from '../../src/engines/redis/engine.js';
import { onRedis, setup, TEST_SECRET, testEngine, testRedisEngine } from '../helpers/app.js';

/** n += 1: a pure change, as an area's operation is. */
const increment: SessionChange = {
  name: 'test.increment',
  args: {},
  next: (data: SessionData) => ({ ...data, n: ((data.n as number | undefined) ?? 0) + 1 }),
};

/** Every key of the store: SCAN on each master of a cluster. */
async function allKeys(engine: RedisEngine): Promise<string[]> {
  const nodes = engine.client instanceof Cluster ? engine.client.nodes('master') : [engine.client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', 'sessionql:*', 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

// The `cache` engine on a real Redis (SESSIONQL_TEST_ENGINE=redis) or Redis Cluster (redis-cluster).
describe.skipIf(!onRedis)(`the cache engine on ${testEngine}`, async () => {
  const { client, built, clock } = await setup();
  const engine = built.store as RedisEngine;

  it('keys are hashed at rest: Redis holds SHA-256(key) in braces (one slot), never the cookie key', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "book", label: "Book") { totalQuantity } }');
    const key = unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!;
    expect(key).toBeTruthy();
    const keys = await allKeys(engine);
    expect(keys).toContain(`sessionql:s:{${hashSessionKey(key)}}`);
    for (const k of keys) {
      // cached_db's entries (sessionql:c:) may share this Redis; they are hashed too.
      expect(k).toMatch(/^sessionql:[sc]:\{[0-9a-f]{64}\}$/);
      expect(k).not.toContain(key);
    }
  });

  it('the TTL follows expiresAt, relative to the (injected) clock; expiresAt and expiryAge stay exact', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "a", label: "A") { totalQuantity } }');
    const s = await c.data('{ session { expiresAt expiryAge } }');
    const key = unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!;
    const redisKey = engine.key(hashSessionKey(key));
    const expected = Math.ceil(clock.now() / 1000) + 1_209_600;
    expect(Date.parse(s.session.expiresAt) / 1000).toBe(expected);
    expect(s.session.expiryAge).toBe(Math.floor((expected * 1000 - clock.now()) / 1000));
    const ttl = await engine.client.pttl(redisKey);
    // The deadline by the caller's clock, plus a minute before the memory is freed.
    expect(ttl).toBeGreaterThan(expected * 1000 - clock.now() + 60_000 - 5000);
    expect(ttl).toBeLessThanOrEqual(expected * 1000 - clock.now() + 60_000);
    // Past the deadline by the injected clock: gone for the engine although Redis still holds the key.
    clock.advance(1_209_601);
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
    expect(await engine.client.exists(redisKey)).toBe(1);
    expect(await engine.change(hashSessionKey(key), increment, clock.now())).toBeNull();
  });

  it('50 concurrent addToCart on one session: 50', async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "x", label: "X") { totalQuantity } }');
    await Promise.all(Array.from({ length: 49 }, () => c.data('mutation { addToCart(sku: "x", label: "X") { totalQuantity } }')));
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(50);
  });

  it('50 concurrent changes from two engines (two processes, as far as Redis knows): 50', async () => {
    const other = new RedisEngine(
      testEngine === 'redis' ? { url: process.env.REDIS_URL } : { clusterNodes: process.env.REDIS_CLUSTER_NODES!.split(',') },
    );
    await other.connect();
    try {
      const hash = hashSessionKey(newSessionKey());
      const now = clock.now();
      await engine.create(hash, {}, null, now);
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? engine : other).change(hash, increment, now)));
      expect((await engine.load(hash, now))?.data.n).toBe(50);
    } finally {
      await other.close();
    }
  });

  it('a failover that loses acknowledged writes cannot bring back a version a writer remembers (ABA)', async () => {
    const other = new RedisEngine(
      testEngine === 'redis' ? { url: process.env.REDIS_URL } : { clusterNodes: process.env.REDIS_CLUSTER_NODES!.split(',') },
    );
    await other.connect();
    const append = (entry: string): SessionChange => ({
      name: 'test.append',
      args: { entry },
      next: (data: SessionData) => ({ ...data, log: [...((data.log as string[] | undefined) ?? []), entry] }),
    });
    try {
      for (let round = 0; round < 20; round++) {
        const hash = hashSessionKey(newSessionKey());
        const key = engine.key(hash);
        const now = clock.now();
        await engine.create(hash, {}, null, now);
        await engine.change(hash, append('a1'), now);
        const kept = await engine.client.hgetall(key);
        // Acknowledged, remembered by this engine, then lost: the replica that takes over never got it.
        await engine.change(hash, append('a2'), now);
        await engine.client.hset(key, kept);
        // Another instance writes on what survived; then this engine writes from what it remembers.
        await other.change(hash, append('b'), now);
        await engine.change(hash, append('a3'), now);
        expect((await engine.load(hash, now))?.data.log).toEqual(['a1', 'b', 'a3']);
      }
    } finally {
      await other.close();
    }
  });

  it('a cycle racing writes: every acknowledged write lands under exactly one key, and the old key stops working', async () => {
    for (let round = 0; round < 5; round++) {
      const now = clock.now();
      const oldHash = hashSessionKey(newSessionKey());
      const newHash = hashSessionKey(newSessionKey());
      await engine.create(oldHash, { n: 0 }, null, now);
      const writes = Array.from({ length: 20 }, (_, i) =>
        new Promise((r) => setTimeout(r, i % 5)).then(() => engine.change(oldHash, increment, now)),
      );
      const moved = new Promise((r) => setTimeout(r, 2)).then(() => engine.cycle(oldHash, newHash, now));
      const results = await Promise.all(writes);
      const row = await moved;
      expect(row).not.toBeNull();
      const landed = results.filter((r) => r !== null).length;
      expect((await engine.load(newHash, now))?.data.n).toBe(landed);
      expect(await engine.load(oldHash, now)).toBeNull();
      expect(await engine.change(oldHash, increment, now)).toBeNull();
    }
  });

  it('no resurrection: writes after a flush, a cycle or an expiry change nothing', async () => {
    const now = clock.now();
    const hash = hashSessionKey(newSessionKey());
    await engine.create(hash, { n: 1 }, null, now);
    await engine.flush(hash);
    expect(await engine.change(hash, increment, now)).toBeNull();
    expect(await engine.touch(hash, now)).toBeNull();
    expect(
      await engine.setExpiry(hash, { expiresAt: now / 1000 + 60, browserClose: false, maxAge: null, fixedExpiry: false }, now),
    ).toBeNull();
    expect(await engine.client.exists(engine.key(hash))).toBe(0);
  });

  it('the size limit is on the stored JSON, and a refused write changes nothing', async () => {
    const now = clock.now();
    const hash = hashSessionKey(newSessionKey());
    await engine.create(hash, {}, null, now);
    const big: SessionChange = { name: 'big', args: {}, next: () => ({ v: 'x'.repeat(70_000) }) };
    await expect(engine.change(hash, big, now)).rejects.toMatchObject({ code: 'SESSION_TOO_LARGE' });
    expect((await engine.load(hash, now))?.version).toBe(0);
    await expect(engine.create(hashSessionKey(newSessionKey()), { v: 'x'.repeat(70_000) }, null, now)).rejects.toMatchObject({
      code: 'SESSION_TOO_LARGE',
    });
  });

  it('prune has nothing to do (TTLs) and ready() pings every master', async () => {
    expect(await engine.prune(clock.now())).toBe(0);
    expect(await engine.ready()).toBe(true);
  });
});

// On a cluster, a session's commands go straight to the connection of its slot's master (engine.ts, command()).
describe.skipIf(testEngine !== 'redis-cluster')('routing on Redis Cluster', async () => {
  const { client, built, config } = await setup();
  const engine = built.store as RedisEngine;
  const cluster = engine.client as Cluster;

  it("a key's slot is CLUSTER KEYSLOT's: hash tags, empty tags, no tag, non-ASCII", async () => {
    const keys = [
      ...Array.from({ length: 200 }, () => engine.key(hashSessionKey(newSessionKey()))),
      'sessionql:s:{}x',
      'plain-key',
      'a{b}{c}',
      'a{}{c}',
      'x}{y',
      '{ünïcödé}:k',
      'pré{fix}:{h}',
      'é',
    ];
    for (const key of keys) expect([key, clusterSlot(key)]).toEqual([key, await cluster.cluster('KEYSLOT', key)]);
  });

  it("with a stale map of slots (MOVED from the node it went to), a session's writes and reads still land", async () => {
    const c = client();
    await c.data('mutation { addToCart(sku: "a") { totalQuantity } }');
    const hash = hashSessionKey(unsignSessionKey(decodeURIComponent(c.sessionCookie!), [TEST_SECRET])!);
    const slot = clusterSlot(engine.key(hash));
    const owner = cluster.slots[slot]![0]!;
    const other = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` !== owner)!;
    // The cluster client's map now says another master serves the slot: it answers MOVED.
    cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
    expect(await c.data('mutation { addToCart(sku: "a") { totalQuantity } }')).toEqual({ addToCart: { totalQuantity: 2 } });
    cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
    expect(await c.data('{ cart { totalQuantity } }')).toEqual({ cart: { totalQuantity: 2 } });
    // The redirection taught the cluster client the slot's master again.
    expect(cluster.slots[slot]![0]).toBe(owner);
  });

  it("a master's connection that closes late, then no answer through the cluster client: unavailable within the one timeout, not two", async () => {
    const timeoutMs = 600;
    const short = await testRedisEngine({ ...config, databaseTimeoutMs: timeoutMs });
    try {
      const hash = hashSessionKey(newSessionKey());
      const shortCluster = short.client as Cluster;
      const owner = shortCluster.slots[clusterSlot(short.key(hash))]![0]!;
      const node = shortCluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)!;
      // The master's connection closes after most of the timeout (the command did not run there); the
      // cluster client, which the command is sent through next, does not answer.
      node.hmget = (() =>
        new Promise((_, reject) => setTimeout(() => reject(new Error('Connection is closed.')), timeoutMs - 100))) as never;
      shortCluster.hmget = (() => new Promise(() => {})) as never;
      const started = Date.now();
      await expect(short.load(hash, Date.now())).rejects.toThrow(/no answer from Redis within 600 ms/);
      expect(Date.now() - started).toBeLessThan(timeoutMs + 250);
    } finally {
      await short.close().catch(() => {});
    }
  });
});
