import type { AddressInfo } from 'node:net';
import { type CachedDbEngine, type CacheOptions, withCache } from '../../src/engines/cached-db/engine.js';
import type { Database } from '../../src/engines/postgres/client.js';
import { openRedisEngine, type RedisEngine } from '../../src/engines/redis/engine.js';
import { type App, type AppOptions, createApp, createDbStore } from '../../src/server/app.js';
import { type Config, loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
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
  const engine =
    testEngine === 'db'
      ? undefined
      : testEngine === 'cached_db'
        ? await testCachedDbEngine(config, database)
        : await testRedisEngine(config);
  const built = createApp({ config, database, engine, clock, ...options, fastPath });
  const app = await serve(built);
  /** `statements`: the SQL the app ran, for tests of what hits the database. */
  return { app, built, config, clock, database, statements, client: (origin?: string) => new CookieClient(app, origin) };
}

/**
 * SESSIONQL_TEST_ENGINE: the engine the API suite runs on, as drivers: `db`
 * (PostgreSQL with DATABASE_URL, else PGlite; the default), `redis`
 * (REDIS_URL), `redis-cluster` (REDIS_CLUSTER_NODES) or `cached_db` (the
 * database as for `db`, cached in REDIS_URL or REDIS_CLUSTER_NODES).
 */
export const testEngine = (process.env.SESSIONQL_TEST_ENGINE || 'db') as 'db' | 'redis' | 'redis-cluster' | 'cached_db';
if (!['db', 'redis', 'redis-cluster', 'cached_db'].includes(testEngine))
  throw new Error(`SESSIONQL_TEST_ENGINE=${testEngine}: db, redis, redis-cluster or cached_db`);
/** True on the Redis engines: for tests about the PostgreSQL table or PGlite themselves. */
export const onRedis = testEngine === 'redis' || testEngine === 'redis-cluster';
/** True on cached_db: reads come from Redis, so tests counting SQL statements do not apply (test/cached-db counts its own). */
export const onCachedDb = testEngine === 'cached_db';

/** The cache of cached_db in REDIS_URL, else REDIS_CLUSTER_NODES. */
export function testCacheTarget(): { url: string } | { clusterNodes: string[] } {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
  const nodes = process.env.REDIS_CLUSTER_NODES;
  if (!nodes) throw new Error('SESSIONQL_TEST_ENGINE=cached_db needs REDIS_URL or REDIS_CLUSTER_NODES (scripts/redis.sh start)');
  return { clusterNodes: nodes.split(',') };
}

/**
 * The cached_db engine on `database` (the recording one of {@link setup}) with
 * `config`'s settings. Closing it leaves the worker's database open.
 */
export async function testCachedDbEngine(config: Config, shared: Database, options: Partial<CacheOptions> = {}): Promise<CachedDbEngine> {
  const database: Database = { ...shared, close: async () => {} };
  return withCache(createDbStore(config, database, createLogger({ json: false, level: 'silent' })), database, {
    ...testCacheTarget(),
    timeoutMs: config.databaseTimeoutMs,
    cacheTimeoutMs: config.cacheTimeoutMs,
    ageSeconds: config.cookie.ageSeconds,
    // Its reads of the generation would show among the statements tests count (test/cached-db checks the poll).
    generationPollMs: 3_600_000,
    // A cache command that failed or was late sends reads to the database for a while: said in the
    // test's output, so that a test counting statements or cache entries shows why it saw others.
    onCacheError: (error) => console.warn(`session cache: ${(error as Error).message}`),
    ...options,
  });
}

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
