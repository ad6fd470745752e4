// Every target the bench knows: how it is started and what it stands on, and
// the groups the report compares (PostgreSQL peers, Redis peers, floors).

export const PROJECT = 'project';

/**
 * The project loaded as real clients send (profiles in bench/profiles.json,
 * written by bench/make-profiles.mjs): target → profile and what it is.
 */
export const CLIENT_TARGETS = {
  'project-apollo': { profile: 'apollo', label: 'Apollo Client 4 (POST)' },
  'project-urql': { profile: 'urql', label: 'urql 6 (GET queries, its default)' },
  'project-urql-post': { profile: 'urql-post', label: 'urql 6, preferGetMethod: false' },
  'project-get': { profile: 'apollo-get', label: 'Apollo 4, useGETForQueries' },
};

const CACHE = { SESSION_ENGINE: 'cache' };
const CACHED_DB = { SESSION_ENGINE: 'cached_db' };

/**
 * name → how to start it. `project`: the project's server (`env` on top of
 * the bench's), else `run`: a peer's run.sh. `db`: its database on the
 * bench's PostgreSQL (DATABASE_URL). `redis`: which of the bench's Redis it
 * gets, `single` (REDIS_URL) or `cluster` (REDIS_CLUSTER_NODES for the
 * project, REDIS_CLUSTER for the peers). `profile`: its loadgen profile in
 * bench/profiles.json (default: `graphql` for the project, `peers` for peers).
 */
export const TARGET_DEFS = {
  project: { project: true, db: 'sessionql_bench' },
  'project-pglite': { project: true, pglite: true },
  'project-large': { project: true, db: 'sessionql_bench_large' }, // --scale's 1M-row table
  'project-tsx': { project: true, db: 'sessionql_bench', tsx: true }, // always node --import tsx src/server/main.ts
  // The project's server started as for `project`, loaded with a client's profile from bench/profiles.json.
  ...Object.fromEntries(
    Object.entries(CLIENT_TARGETS).map(([name, c]) => [name, { project: true, db: 'sessionql_bench', profile: c.profile }]),
  ),
  // Issue 12: the project on Redis (no database for `cache`; PostgreSQL behind Redis for `cached_db`).
  'project-cache': { project: true, redis: 'single', env: CACHE },
  'project-cache-cluster': { project: true, redis: 'cluster', env: CACHE },
  'project-cached-db': { project: true, redis: 'single', db: 'sessionql_bench_cached_db', env: CACHED_DB },
  'project-cache-apollo': { project: true, redis: 'single', env: CACHE, profile: 'apollo' },
  django: { run: 'django/run.sh', db: 'peers_django' },
  'django-sync': { run: 'django/run.sh', db: 'peers_django', env: { GUNICORN_WORKER_CLASS: 'sync' } },
  express: { run: 'express/run.sh', db: 'peers_express' },
  'express-notouch': { run: 'express/run.sh', db: 'peers_express', env: { DISABLE_TOUCH: '1' } },
  'express-cluster2': { run: 'express/run.sh', db: 'peers_express', env: { WORKERS: '2' } },
  'express-pool25': { run: 'express/run.sh', db: 'peers_express', env: { PG_POOL_MAX: '25' } },
  floor: { run: 'floor/run.sh', db: 'peers_floor' },
  'floor-cluster2': { run: 'floor/run.sh', db: 'peers_floor', env: { WORKERS: '2' } },
  'floor-fixed': { run: 'floor-fixed/run.sh', db: 'peers_floor' }, // the floor with our postgres.js patch
  // The peers on Redis (../shared/peers/README.md, "Redis peers"), as its bench.sh starts them.
  'express-redis': { run: 'express/run.sh', redis: 'single', env: { STORE: 'redis' } },
  'express-redis-notouch': { run: 'express/run.sh', redis: 'single', env: { STORE: 'redis', DISABLE_TOUCH: '1' } },
  'express-redis-cluster': { run: 'express/run.sh', redis: 'cluster', env: { STORE: 'redis' } },
  // django/run.sh migrates its database first, so the Django ones have one on Redis too.
  'django-cache': { run: 'django/run.sh', db: 'peers_django', redis: 'single', env: { DJANGO_SESSION_ENGINE: 'cache' } },
  'django-cached-db': { run: 'django/run.sh', db: 'peers_django', redis: 'single', env: { DJANGO_SESSION_ENGINE: 'cached_db' } },
  'floor-redis': { run: 'floor-redis/run.sh', redis: 'single' },
  'floor-redis-cluster': { run: 'floor-redis/run.sh', redis: 'cluster' },
};

/** `npm run bench`: the PostgreSQL comparison (issue 3) and the client profiles (issue 10). */
export const DEFAULT_TARGETS = [
  PROJECT,
  ...Object.keys(CLIENT_TARGETS),
  ...['project-pglite', 'django', 'express', 'express-notouch', 'express-cluster2', 'floor', 'floor-fixed'],
];
/** `npm run bench -- --redis`: the Redis comparison (issue 12). */
export const REDIS_TARGETS = [
  'project-cache',
  'project-cache-cluster',
  'project-cached-db',
  'express-redis',
  'express-redis-notouch',
  'express-redis-cluster',
  'django-cache',
  'django-cached-db',
  'floor-redis',
  'floor-redis-cluster',
];

const framework = (t) => t.startsWith('django') || t.startsWith('express');
export const usesRedis = (t) => !!TARGET_DEFS[t]?.redis;
/** The peers of the PostgreSQL comparison: Django and express-session on PostgreSQL. */
export const isPeer = (t) => framework(t) && !usesRedis(t);
/** The peers of the Redis comparison: express-session + connect-redis, Django's cache and cached_db. */
export const isRedisPeer = (t) => framework(t) && usesRedis(t);
export const isFloor = (t) => t.startsWith('floor');
/** The project on Redis (cache, cached_db), every client profile. */
export const isRedisProject = (t) => !!TARGET_DEFS[t]?.project && usesRedis(t);
