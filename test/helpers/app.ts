import type { AddressInfo } from 'node:net';
import { openRedisEngine, type RedisEngine } from '../../src/engines/redis/engine.js';
import { type App, type AppOptions, createApp } from '../../src/server/app.js';
import { type Config, loadConfig } from '../../src/server/config.js';
import { CookieClient } from './client.js';
import { TestClock } from './clock.js';
import { testDatabase } from './database.js';
import { recordingDatabase } from './queries.js';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdefgh';

/** What the tests talk to: the real node:http server main.ts runs, on a loopback port. */
export interface HttpApp {
  /** `url` is written as http://localhost/…; it is sent to the server's real port. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  readonly baseUrl: string;
}

/**
 * An app on this worker's database with a movable clock, served over real
 * HTTP by the same handler as production (the fast path and Yoga behind it).
 * `env` overrides the environment the config is read from.
 */
export async function setup(env: Record<string, string> = {}, options: Pick<AppOptions, 'fastPath' | 'logger'> = {}) {
  const { database, statements } = recordingDatabase(await testDatabase());
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, ...env });
  const clock = new TestClock();
  const fastPath = options.fastPath ?? testFastPath();
  const engine = testEngine === 'db' ? undefined : await testRedisEngine(config);
  const built = createApp({ config, database, engine, clock, ...options, fastPath });
  const app = await serve(built);
  /** `statements`: the SQL the app ran, for tests of what hits the database. */
  return { app, built, config, clock, database, statements, client: (origin?: string) => new CookieClient(app, origin) };
}

/**
 * SESSIONQL_TEST_ENGINE: the engine the API suite runs on, as drivers: `db`
 * (PostgreSQL with DATABASE_URL, else PGlite; the default), `redis`
 * (REDIS_URL) or `redis-cluster` (REDIS_CLUSTER_NODES).
 */
export const testEngine = (process.env.SESSIONQL_TEST_ENGINE || 'db') as 'db' | 'redis' | 'redis-cluster';
if (!['db', 'redis', 'redis-cluster'].includes(testEngine))
  throw new Error(`SESSIONQL_TEST_ENGINE=${testEngine}: db, redis or redis-cluster`);
/** True on the Redis engines: for tests about the PostgreSQL table or PGlite themselves. */
export const onRedis = testEngine !== 'db';

/** A Redis engine with `config`'s settings on REDIS_URL or REDIS_CLUSTER_NODES (closed when the worker ends). */
export async function testRedisEngine(config: Pick<Config, 'cookie' | 'maxBytes' | 'databaseTimeoutMs'>): Promise<RedisEngine> {
  const settings = { ageSeconds: config.cookie.ageSeconds, maxBytes: config.maxBytes, timeoutMs: config.databaseTimeoutMs };
  if (testEngine === 'redis') {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error('SESSIONQL_TEST_ENGINE=redis needs REDIS_URL (scripts/redis.sh start)');
    return openRedisEngine({ url, ...settings });
  }
  const nodes = process.env.REDIS_CLUSTER_NODES;
  if (!nodes) throw new Error('SESSIONQL_TEST_ENGINE=redis-cluster needs REDIS_CLUSTER_NODES (scripts/redis.sh cluster-start)');
  return openRedisEngine({ clusterNodes: nodes.split(','), ...settings });
}

/** SESSIONQL_TEST_ENTRY=yoga (vitest.config.ts): the whole API suite through Yoga's own handler. */
export const testFastPath = () => process.env.SESSIONQL_TEST_ENTRY !== 'yoga';

/** Serves an app on a loopback port, as main.ts does (the server does not hold the test process open). */
export async function serve(built: App): Promise<HttpApp> {
  const server = built.httpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { baseUrl, fetch: (url, init) => fetch(url.replace(/^http:\/\/localhost/, baseUrl), init) };
}
