import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hashSessionKey } from '../../src/core/keys.js';
import { unsignSessionKey } from '../../src/core/signing.js';
import type { CachedDbEngine } from '../../src/engines/cached-db/engine.js';
import { createApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { onCachedDb, serve, TEST_SECRET, testCachedDbEngine } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { TestClock } from '../helpers/clock.js';
import { engine as databaseEngine, testDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/process.js';
import { recordingDatabase } from '../helpers/queries.js';
import { startRedis, stopRedis } from '../helpers/redis-server.js';
import { entryOf, inspector } from './helpers.js';

const ADD = 'mutation { addToCart(sku: "book", label: "Book") { totalQuantity } }';
const READ = '{ cart { totalQuantity } }';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** The cache's figures on `app`'s /metrics. */
async function cacheMetrics(app: { fetch: (url: string, init?: RequestInit) => Promise<Response> }) {
  const r = await app.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const lines = (await r.text()).split('\n');
  const value = (series: string) => Number(lines.find((line) => line.startsWith(`${series} `))?.split(' ')[1]);
  return {
    hit: value('sessionql_session_cache_lookups_total{result="hit"}'),
    miss: value('sessionql_session_cache_lookups_total{result="miss"}'),
    skipped: value('sessionql_session_cache_lookups_total{result="skipped"}'),
    errors: value('sessionql_session_cache_errors_total'),
    generation: value('sessionql_session_cache_generation'),
  };
}

/** `n` instances (apps over engines of their own) on the suite's database and the Redis at `url`. */
async function instances(n: number, url: string) {
  const { database, statements } = recordingDatabase(await testDatabase());
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, METRICS_TOKEN });
  const clock = new TestClock();
  const engines: CachedDbEngine[] = [];
  const apps = [];
  for (let i = 0; i < n; i++) {
    const engine = await testCachedDbEngine(config, database, { url, clusterNodes: undefined });
    onTestFinished(() => engine.close());
    engines.push(engine);
    apps.push(await serve(createApp({ config, engine, clock })));
  }
  return { engines, apps, statements };
}

// A redis-server of the test's own (its own port), stopped, killed or paused by PID.
describe.skipIf(!onCachedDb)(`cached_db through a Redis outage (${databaseEngine})`, { timeout: 60_000 }, () => {
  it('Redis killed mid-traffic: every request succeeds (no 503) and reads stay right; back (empty), reads come from it again', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    onTestFinished(() => stopRedis(redis));
    const { apps, statements } = await instances(1, `redis://127.0.0.1:${port}`);
    const c = new CookieClient(apps[0]!);
    expect((await c.data(ADD)).addToCart.totalQuantity).toBe(1);
    expect((await c.data(READ)).cart.totalQuantity).toBe(1);
    const before = await cacheMetrics(apps[0]!);
    expect(before).toMatchObject({ skipped: 0, errors: 0 });
    expect(before.hit).toBeGreaterThanOrEqual(1);

    const traffic = Array.from({ length: 40 }, (_, i) => new Promise((r) => setTimeout(r, i * 10)).then(() => c.gql(i % 2 ? READ : ADD)));
    await new Promise((r) => setTimeout(r, 100));
    await stopRedis(redis);
    for (const r of await Promise.all(traffic)) {
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
    }
    // Redis is gone: the database answers, slower, never wrong.
    for (let i = 0; i < 5; i++) expect((await c.data(ADD)).addToCart.totalQuantity).toBe(22 + i);
    expect((await c.data(READ)).cart.totalQuantity).toBe(26);
    const down = await cacheMetrics(apps[0]!);
    expect(down.errors).toBeGreaterThanOrEqual(1);
    expect(down.skipped).toBeGreaterThan(down.errors);
    // A write whose copy failed raised the generation.
    expect(down.generation).toBeGreaterThan(before.generation);

    redis = await startRedis(port);
    let cached = false;
    for (let i = 0; i < 100 && !cached; i++) {
      statements.length = 0;
      expect((await c.data(READ)).cart.totalQuantity).toBe(26);
      cached = statements.length === 0;
      if (!cached) await new Promise((r) => setTimeout(r, 100));
    }
    expect(cached).toBe(true);
    // Back and empty: a miss (read from PostgreSQL, then copied), then hits.
    const back = await cacheMetrics(apps[0]!);
    expect(back.miss).toBeGreaterThan(down.miss);
    expect(back.hit).toBeGreaterThan(down.hit);
  });

  // Redis acknowledged writes, then lost them: it restarted from a snapshot taken before (or a failover
  // promoted a replica they never reached). Every instance's connection dropped meanwhile, so each
  // distrusts the cache until its generation is raised: the old entries are misses, not answers.
  it('Redis back from an older snapshot: no instance serves a state older than the last write, nor a flushed session', async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-test-snapshot-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const persisted = ['--dir', dir, '--dbfilename', 'dump.rdb'];
    let redis = await startRedis(port, persisted);
    onTestFinished(() => stopRedis(redis));
    const { apps, statements } = await instances(2, `redis://127.0.0.1:${port}`);
    const [a, b] = apps.map((app) => new CookieClient(app)) as [CookieClient, CookieClient];
    const [loggedIn, sameOnB] = apps.map((app) => new CookieClient(app)) as [CookieClient, CookieClient];
    expect((await a.data(ADD)).addToCart.totalQuantity).toBe(1);
    await loggedIn.data('mutation { setSessionValue(key: "user", value: "alice") { exists } }');
    b.jar.set('sessionid', a.sessionCookie!);
    sameOnB.jar.set('sessionid', loggedIn.sessionCookie!);
    expect((await b.data(READ)).cart.totalQuantity).toBe(1);
    expect((await sameOnB.data('{ session { value(key: "user") } }')).session.value).toBe('alice');

    expect(execFileSync('redis-cli', ['-p', String(port), 'SAVE'], { encoding: 'utf8' }).trim()).toBe('OK');
    expect((await a.data(ADD)).addToCart.totalQuantity).toBe(2);
    await loggedIn.data('mutation { flushSession { exists } }');
    await stopRedis(redis);
    redis = await startRedis(port, persisted);

    // Once reads are answered from Redis again (no SQL), they are still the newest state.
    let cached = false;
    for (let i = 0; i < 100 && !cached; i++) {
      statements.length = 0;
      expect((await a.data(READ)).cart.totalQuantity).toBe(2);
      expect((await b.data(READ)).cart.totalQuantity).toBe(2);
      expect((await sameOnB.data('{ session { exists value(key: "user") } }')).session).toEqual({ exists: false, value: null });
      // The flushed session has no entry to fill: only its read goes to PostgreSQL.
      cached = statements.filter((s) => s.includes('sessionql_session')).length <= 1;
      if (!cached) await new Promise((r) => setTimeout(r, 100));
    }
    expect(cached).toBe(true);
  });

  it.runIf(databaseEngine === 'postgres')(
    'Redis paused (SIGSTOP) while one instance writes: no 503, and after SIGCONT no instance reads a stale entry',
    async () => {
      const port = await freePort();
      const redis = await startRedis(port);
      onTestFinished(() => {
        redis.kill('SIGCONT');
        return stopRedis(redis);
      });
      const url = `redis://127.0.0.1:${port}`;
      const { engines, apps } = await instances(2, url);
      const [a, b] = engines as [CachedDbEngine, CachedDbEngine];
      const onA = new CookieClient(apps[0]!);
      expect((await onA.data(ADD)).addToCart.totalQuantity).toBe(1);
      const onB = new CookieClient(apps[1]!);
      onB.jar.set('sessionid', onA.sessionCookie!);
      expect((await onB.data(READ)).cart.totalQuantity).toBe(1);
      const generation = b.generation.current;

      redis.kill('SIGSTOP');
      for (let i = 2; i <= 6; i++) {
        const r = await onA.gql(ADD);
        expect(r.status).toBe(200);
        expect(r.body.data?.addToCart.totalQuantity).toBe(i);
        expect((await onB.data(READ)).cart.totalQuantity).toBe(i);
      }
      // The copies did not happen: A raised the generation, and B heard of it (a NOTIFY: B's read just
      // before went to PostgreSQL and may have been answered before the last one arrived).
      expect(a.generation.current).toBeGreaterThan(generation);
      for (const until = Date.now() + 2000; b.generation.current < a.generation.current && Date.now() < until; )
        await new Promise((r) => setTimeout(r, 5));
      expect(b.generation.current).toBe(a.generation.current);
      redis.kill('SIGCONT');

      // What Redis holds once it has run the commands queued meanwhile: any entry of the
      // generation the instances now know is the newest state; older ones are misses.
      const look = inspector(url);
      onTestFinished(() => look.disconnect());
      const hash = hashSessionKey(unsignSessionKey(decodeURIComponent(onA.sessionCookie!), [TEST_SECRET])!);
      await look.ping();
      const entry = await entryOf(look, a, hash);
      console.log(
        `after SIGCONT the cache holds version ${entry.version} of generation ${entry.generation}; PostgreSQL version 5, generation ${a.generation.current}`,
      );
      if (entry.generation !== null && entry.generation >= a.generation.current) expect(entry.version).toBe(5);
      for (let i = 0; i < 10; i++) {
        expect((await onA.data(READ)).cart.totalQuantity).toBe(6);
        expect((await onB.data(READ)).cart.totalQuantity).toBe(6);
        await new Promise((r) => setTimeout(r, 150));
      }
      // Back in use: filled anew at the current generation.
      expect(await entryOf(look, a, hash)).toMatchObject({ version: 5, generation: a.generation.current });
    },
  );
});
