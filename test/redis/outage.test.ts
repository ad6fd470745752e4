import { execFileSync } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openRedisEngine } from '../../src/engines/redis/engine.js';
import { createApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { serve, TEST_SECRET, testEngine } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { TestClock } from '../helpers/clock.js';
import { freePort } from '../helpers/process.js';
import { startRedis, stopRedis } from '../helpers/redis-server.js';
import { EventStream } from '../helpers/sse.js';

const ADD = 'mutation { addToCart(sku: "book", label: "Book") { totalQuantity } }';

// Single Redis only: a server of its own, stopped and started by PID.
describe.skipIf(testEngine !== 'redis')('Redis stopped mid-traffic', { timeout: 60_000 }, () => {
  it('requests get 503 SERVICE_UNAVAILABLE within the timeout, and the service recovers without a restart', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    onTestFinished(() => stopRedis(redis));
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_TIMEOUT_MS: '1000' });
    const engine = await openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: config.databaseTimeoutMs });
    onTestFinished(() => engine.close());
    const built = createApp({ config, engine, clock: new TestClock() });
    const app = await serve(built);
    const c = new CookieClient(app);
    expect((await c.data(ADD)).addToCart.totalQuantity).toBe(1);

    // Traffic while Redis goes away.
    const during = Array.from({ length: 20 }, (_, i) => new Promise((r) => setTimeout(r, i * 10)).then(() => c.gql(ADD)));
    await new Promise((r) => setTimeout(r, 50));
    await stopRedis(redis);
    for (const r of await Promise.all(during)) {
      if (r.body.errors) {
        expect(r.status).toBe(503);
        expect(r.body.errors[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      }
    }
    const started = Date.now();
    const down = await c.gql(ADD);
    expect(down.status).toBe(503);
    expect(down.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(config.databaseTimeoutMs + 1500);
    // A read too (the fast path reads the session before executing it): the same answer.
    const read = await c.gql('{ session { exists } cart { totalQuantity } }');
    expect(read.status).toBe(503);
    expect(read.body.data).toBeNull();
    expect(read.body.errors?.length).toBeGreaterThan(0);
    for (const error of read.body.errors ?? []) expect(error.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await app.fetch('http://localhost/ready')).status).toBe(503);

    // Back (empty: nothing persisted): the same process serves again.
    redis = await startRedis(port);
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      const r = await new CookieClient(app).gql(ADD);
      ok = r.status === 200 && !r.body.errors;
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
    expect((await app.fetch('http://localhost/ready')).status).toBe(200);
  });

  it('a full Redis (maxmemory, noeviction): writes get 503, not 500, and nothing is written', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    onTestFinished(() => stopRedis(redis));
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET });
    const engine = await openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: config.databaseTimeoutMs });
    onTestFinished(() => engine.close());
    const c = new CookieClient(await serve(createApp({ config, engine, clock: new TestClock() })));
    expect((await c.data(ADD)).addToCart.totalQuantity).toBe(1);
    const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
    expect(cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction', 'maxmemory', '1')).toBe('OK');
    const r = await c.gql(ADD);
    expect([r.status, r.body.errors?.[0]?.extensions?.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(cli('CONFIG', 'SET', 'maxmemory', '0')).toBe('OK');
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
    expect((await c.data(ADD)).addToCart.totalQuantity).toBe(2);
  });

  // ioredis times a command from when it is written; with auto-pipelining, the commands of later turns wait
  // unwritten behind the pipeline a hung server never answers. Each request still gets its 503 within the timeout.
  it('a hung Redis (SIGSTOP): concurrent requests each get 503 within DATABASE_TIMEOUT_MS, not twice it', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    onTestFinished(() => {
      redis.kill('SIGCONT');
      return stopRedis(redis);
    });
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_TIMEOUT_MS: '1500' });
    const engine = await openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: config.databaseTimeoutMs });
    onTestFinished(() => engine.close());
    const app = await serve(createApp({ config, engine, clock: new TestClock() }));
    const visitors = Array.from({ length: 8 }, () => new CookieClient(app));
    for (const v of visitors) await v.data(ADD);
    redis.kill('SIGSTOP');
    const answers = await Promise.all(
      visitors.map(async (v, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const started = Date.now();
        const r = await v.gql(ADD);
        return {
          status: r.status,
          code: r.body.errors?.[0]?.extensions?.code,
          late: Date.now() - started > 2 * config.databaseTimeoutMs - 300,
        };
      }),
    );
    expect(answers).toEqual(visitors.map(() => ({ status: 503, code: 'SERVICE_UNAVAILABLE', late: false })));
  });

  it('a sessionChanged stream lives through the outage: after Redis comes back (empty) its subscriber reads again and is told the session is gone', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    onTestFinished(() => stopRedis(redis));
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_TIMEOUT_MS: '1000' });
    const engine = await openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: config.databaseTimeoutMs });
    onTestFinished(() => engine.close());
    const app = await serve(createApp({ config, engine }));
    const c = new CookieClient(app);
    await c.data(ADD);
    const stream = await EventStream.open(c);
    onTestFinished(() => stream.close());
    expect(await stream.session()).toMatchObject({ exists: true, cart: { totalQuantity: 1 } });
    await stopRedis(redis);
    await stream.quiet(500);
    redis = await startRedis(port);
    // Nothing was published about it: the subscriber connection's return is the signal.
    expect(await stream.session(10_000)).toMatchObject({ exists: false });
    await stream.completes();
  });
});
