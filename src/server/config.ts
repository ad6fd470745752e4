import { z } from 'zod';
import { brokenCookiePrefix, COOKIE_RULES, type CookieSettings, MAX_COOKIE_AGE } from '../core/cookie.js';
import { parsedUrl } from '../engines/redacted-url.js';
import { clusterConnection } from '../engines/redis/nodes.js';
import type { QueryLimits } from '../graphql/limits.js';

/**
 * Every setting of the server, read once from the environment by
 * {@link loadConfig}. Names follow Django's settings where Django has one.
 */
export interface Config {
  /** `development`, `production` or `test`. */
  readonly nodeEnv: 'development' | 'production' | 'test';
  /** @default 4000 */
  readonly port: number;
  /** @default '127.0.0.1' in development, '0.0.0.0' otherwise */
  readonly host: string;
  /** postgres://… for PostgreSQL; unset for the embedded PGlite under dataDir. */
  readonly databaseUrl: string | undefined;
  /** @default './.data' */
  readonly dataDir: string;
  /**
   * SESSION_ENGINE (Django's names): `db`, PostgreSQL or PGlite; `cache`, Redis or Redis Cluster;
   * `cached_db`, PostgreSQL or PGlite with Redis as a write-through cache. @default 'db'
   */
  readonly engine: 'db' | 'cache' | 'cached_db';
  /** SESSION_CACHE_TIMEOUT_MS: each command to the cache of `cached_db`; a slower one counts as a failure (reads go to the database). @default 200 */
  readonly cacheTimeoutMs: number;
  /** REDIS_URL: redis://… of a single server (engine `cache` or `cached_db`). */
  readonly redisUrl: string | undefined;
  /** REDIS_CLUSTER_NODES: host:port of Redis Cluster nodes (engine `cache` or `cached_db`). */
  readonly redisClusterNodes: readonly string[] | undefined;
  /** REDIS_WAIT_REPLICAS: replicas that must acknowledge each write (Redis WAIT); 0 = off. @default 0 */
  readonly redisWaitReplicas: number;
  /** REDIS_WAIT_TIMEOUT_MS: how long a write waits for them, below databaseTimeoutMs. @default min(1000, databaseTimeoutMs / 2) */
  readonly redisWaitTimeoutMs: number;
  /** The first signs cookies, all verify (rotation). */
  readonly secrets: readonly string[];
  readonly secretGenerated: boolean;
  readonly cookie: CookieSettings;
  /** @default false */
  readonly expireAtBrowserClose: boolean;
  /** @default false */
  readonly saveEveryRequest: boolean;
  /** @default 65536 */
  readonly maxBytes: number;
  /** Origins allowed to call the API cross-origin with credentials. @default [] */
  readonly corsOrigins: readonly string[];
  /** Connections in the postgres.js pool. @default 10 */
  readonly poolSize: number;
  /** Named prepared statements; false behind PgBouncer in transaction mode. @default true */
  readonly databasePrepare: boolean;
  /** Where to LISTEN for other instances' session changes: PostgreSQL itself, not PgBouncer in transaction mode. @default databaseUrl */
  readonly databaseListenUrl: string | undefined;
  /** Live sessionChanged subscriptions allowed per session (its tabs) and per instance. @default 16, 10000 */
  readonly subscriptions: { readonly perSession: number; readonly perInstance: number };
  /** How long a database statement or connection attempt may take before the request fails (503). @default 5000 */
  readonly databaseTimeoutMs: number;
  /** Largest request body; larger ones get 413. @default 262144 */
  readonly requestMaxBytes: number;
  readonly limits: QueryLimits;
  /** GraphiQL at GET /graphql for browsers. @default true, except false with NODE_ENV=production */
  readonly graphiql: boolean;
  /** Bearer token for /metrics; unset: /metrics answers 404. */
  readonly metricsToken: string | undefined;
  /** Seconds between in-process prunes of expired sessions; 0 = off. @default 0 */
  readonly pruneIntervalSeconds: number;
  /** @default 'info' ('silent' under NODE_ENV=test) */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Seconds SIGTERM waits for in-flight requests before closing anyway. @default 10 */
  readonly shutdownTimeoutSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

/** A comma-separated list, trimmed, empty items dropped. */
const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/**
 * A connection URL: `scheme` (a regex), and it parses. A password with a
 * reserved character not percent-encoded would otherwise fail later, in the
 * driver, with an error that repeats the URL, password and all.
 */
const connectionUrl = (scheme: RegExp, message: string) =>
  z
    .string()
    .regex(scheme, { message, abort: true })
    .superRefine((url, ctx) => {
      try {
        parsedUrl(url);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().min(1).optional(),
  DATABASE_URL: connectionUrl(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  DATABASE_LISTEN_URL: connectionUrl(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  SESSIONQL_DATA_DIR: z.string().min(1).default('./.data'),
  SESSION_ENGINE: z.enum(['db', 'cache', 'cached_db'], { message: 'must be db, cache or cached_db' }).default('db'),
  SESSION_CACHE_TIMEOUT_MS: int(1, 60_000).default(200),
  REDIS_URL: connectionUrl(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL').optional(),
  REDIS_CLUSTER_NODES: commaList
    .pipe(
      z
        .array(z.string())
        .min(1, { message: 'must list at least one host:port' })
        .superRefine((nodes, ctx) => {
          try {
            clusterConnection(nodes);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: (error as Error).message });
          }
        }),
    )
    .optional(),
  REDIS_WAIT_REPLICAS: int(0, 100).default(0),
  REDIS_WAIT_TIMEOUT_MS: int(1, 600_000).optional(),
  SESSION_SECRET: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.string().min(32, { message: 'each secret must be at least 32 characters' })))
    .optional(),
  SESSION_COOKIE_NAME: z.string().regex(COOKIE_RULES.name.pattern, { message: COOKIE_RULES.name.rule }).default('sessionid'),
  SESSION_COOKIE_AGE: int(1, MAX_COOKIE_AGE).default(1209600),
  SESSION_COOKIE_DOMAIN: z.string().regex(COOKIE_RULES.domain.pattern, { message: COOKIE_RULES.domain.rule }).optional(),
  SESSION_COOKIE_PATH: z.string().regex(COOKIE_RULES.path.pattern, { message: COOKIE_RULES.path.rule }).default('/'),
  SESSION_COOKIE_SECURE: bool.default(false),
  SESSION_COOKIE_HTTPONLY: bool.default(true),
  SESSION_COOKIE_SAMESITE: z
    .string()
    .transform((v) => v.charAt(0).toUpperCase() + v.slice(1).toLowerCase())
    .pipe(z.enum(['Strict', 'Lax', 'None'], { message: 'must be Strict, Lax or None' }))
    .default('Lax'),
  SESSION_EXPIRE_AT_BROWSER_CLOSE: bool.default(false),
  SESSION_SAVE_EVERY_REQUEST: bool.default(false),
  SESSION_MAX_BYTES: int(256, 16 * 1024 * 1024).default(65536),
  CORS_ORIGINS: commaList
    .pipe(
      z.array(
        z.string().refine((o) => o !== '*' && /^https?:\/\/[^/\s]+$/.test(o), {
          message: 'each origin must be scheme://host[:port] with no path; * is not allowed',
        }),
      ),
    )
    .default([]),
  DATABASE_POOL_SIZE: int(1, 1000).default(10),
  DATABASE_PREPARE: bool.default(true),
  SESSION_SUBSCRIPTIONS_PER_SESSION: int(1, 10_000).default(16),
  SESSION_SUBSCRIPTIONS_MAX: int(1, 1_000_000).default(10_000),
  DATABASE_TIMEOUT_MS: int(100, 600_000).default(5000),
  REQUEST_MAX_BYTES: int(1024, 64 * 1024 * 1024).default(262144),
  GRAPHQL_MAX_DEPTH: int(2, 100).default(10),
  GRAPHQL_MAX_ALIASES: int(0, 1000).default(15),
  GRAPHQL_MAX_ROOT_FIELDS: int(1, 1000).default(10),
  GRAPHQL_MAX_TOKENS: int(50, 100_000).default(1000),
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHIQL: bool.optional(),
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  SESSION_PRUNE_INTERVAL: int(0, 7 * 24 * 3600).default(0),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent'], { message: 'must be debug, info, warn, error or silent' }).optional(),
  SHUTDOWN_TIMEOUT: int(0, 3600).default(10),
});

/**
 * Cookie name prefixes (RFC 6265bis §4.1.3): browsers drop a `__Secure-`
 * cookie without Secure, and a `__Host-` one unless it is also host-only
 * (no Domain) with Path=/. Such a cookie cannot be set or overwritten by a
 * sibling subdomain (cookie tossing). The problem, or null.
 */
function cookiePrefixProblem(name: string, secure: boolean, path: string, domain: string | undefined): string | null {
  const broken = brokenCookiePrefix({ name, secure, path, domain });
  if (broken === '__Host-') {
    return `${name} (a __Host- cookie) requires SESSION_COOKIE_SECURE=true, SESSION_COOKIE_PATH=/ and no SESSION_COOKIE_DOMAIN (browsers drop it otherwise)`;
  }
  if (broken === '__Secure-') return `${name} (a __Secure- cookie) requires SESSION_COOKIE_SECURE=true (browsers drop it otherwise)`;
  return null;
}

/** SESSION_ENGINE against REDIS_URL / REDIS_CLUSTER_NODES: the problem, or null. */
function redisProblem(engine: string, url: string | undefined, nodes: readonly string[] | undefined): string | null {
  if (engine === 'cache' || engine === 'cached_db') {
    if (url && nodes)
      return 'REDIS_URL and REDIS_CLUSTER_NODES: give one, not both (REDIS_URL for one server, REDIS_CLUSTER_NODES for a cluster)';
    if (!url && !nodes)
      return `SESSION_ENGINE: ${engine} requires REDIS_URL (redis://host:port) or REDIS_CLUSTER_NODES (host:port,host:port,…)`;
  }
  return null;
}

/** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: the problem, or null. */
function redisWaitProblem(engine: string, replicas: number, timeoutMs: number | undefined, databaseTimeoutMs: number): string | null {
  if (replicas > 0 && engine !== 'cache') return 'REDIS_WAIT_REPLICAS: only with SESSION_ENGINE=cache (it waits for Redis replicas)';
  // WAIT's timeout must end before the command's own (DATABASE_TIMEOUT_MS), or every slow replica reads as an outage.
  if (timeoutMs !== undefined && timeoutMs >= databaseTimeoutMs)
    return `REDIS_WAIT_TIMEOUT_MS: must be less than DATABASE_TIMEOUT_MS (${databaseTimeoutMs})`;
  return null;
}

/** The variables {@link loadConfig} reads, for the README's table and the tests. */
export const configVariables = Object.keys(schema.shape);

export interface LoadOptions {
  /** Supplies SESSION_SECRET outside production when it is unset (see main.ts). */
  secretFallback?: () => string;
  /** False for commands that never see a cookie (sessions:clear). @default true */
  needsSecret?: boolean;
}

/**
 * Parses and validates the environment once. Throws a {@link ConfigError}
 * naming the variable and the rule. `SESSION_SECRET` is required in
 * production; elsewhere `secretFallback` supplies one.
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  const { secretFallback, needsSecret = true } = options;
  // An empty variable counts as unset, as in a compose file's `FOO:`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${String(i.path[0] ?? 'environment')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.SESSION_COOKIE_SAMESITE === 'None' && !e.SESSION_COOKIE_SECURE) {
    throw new ConfigError(
      'invalid configuration:\n  SESSION_COOKIE_SAMESITE: None requires SESSION_COOKIE_SECURE=true (browsers drop it otherwise)',
    );
  }
  const prefixed = cookiePrefixProblem(e.SESSION_COOKIE_NAME, e.SESSION_COOKIE_SECURE, e.SESSION_COOKIE_PATH, e.SESSION_COOKIE_DOMAIN);
  if (prefixed) throw new ConfigError(`invalid configuration:\n  SESSION_COOKIE_NAME: ${prefixed}`);
  const engineProblem = redisProblem(e.SESSION_ENGINE, e.REDIS_URL, e.REDIS_CLUSTER_NODES);
  if (engineProblem) throw new ConfigError(`invalid configuration:\n  ${engineProblem}`);
  const waitProblem = redisWaitProblem(e.SESSION_ENGINE, e.REDIS_WAIT_REPLICAS, e.REDIS_WAIT_TIMEOUT_MS, e.DATABASE_TIMEOUT_MS);
  if (waitProblem) throw new ConfigError(`invalid configuration:\n  ${waitProblem}`);
  let secrets = e.SESSION_SECRET;
  let secretGenerated = false;
  if (!secrets && !needsSecret) secrets = [];
  if (!secrets) {
    if (e.NODE_ENV === 'production' || !secretFallback) {
      throw new ConfigError(
        'invalid configuration:\n  SESSION_SECRET: required when NODE_ENV=production (one or more comma-separated secrets of 32+ characters)',
      );
    }
    secrets = [secretFallback()];
    secretGenerated = true;
  }
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST ?? (e.NODE_ENV === 'development' ? '127.0.0.1' : '0.0.0.0'),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.SESSIONQL_DATA_DIR,
    engine: e.SESSION_ENGINE,
    cacheTimeoutMs: e.SESSION_CACHE_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ? Object.freeze(e.REDIS_CLUSTER_NODES) : undefined,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    redisWaitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS ?? Math.min(1000, Math.floor(e.DATABASE_TIMEOUT_MS / 2)),
    secrets: Object.freeze(secrets),
    secretGenerated,
    cookie: Object.freeze({
      name: e.SESSION_COOKIE_NAME,
      ageSeconds: e.SESSION_COOKIE_AGE,
      domain: e.SESSION_COOKIE_DOMAIN,
      path: e.SESSION_COOKIE_PATH,
      secure: e.SESSION_COOKIE_SECURE,
      httpOnly: e.SESSION_COOKIE_HTTPONLY,
      sameSite: e.SESSION_COOKIE_SAMESITE,
    }),
    expireAtBrowserClose: e.SESSION_EXPIRE_AT_BROWSER_CLOSE,
    saveEveryRequest: e.SESSION_SAVE_EVERY_REQUEST,
    maxBytes: e.SESSION_MAX_BYTES,
    corsOrigins: Object.freeze(e.CORS_ORIGINS),
    poolSize: e.DATABASE_POOL_SIZE,
    databasePrepare: e.DATABASE_PREPARE,
    databaseListenUrl: e.DATABASE_LISTEN_URL,
    subscriptions: Object.freeze({ perSession: e.SESSION_SUBSCRIPTIONS_PER_SESSION, perInstance: e.SESSION_SUBSCRIPTIONS_MAX }),
    databaseTimeoutMs: e.DATABASE_TIMEOUT_MS,
    requestMaxBytes: e.REQUEST_MAX_BYTES,
    limits: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxRootFields: e.GRAPHQL_MAX_ROOT_FIELDS,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      // On while developing; in production only when asked for.
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
    }),
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    metricsToken: e.METRICS_TOKEN,
    pruneIntervalSeconds: e.SESSION_PRUNE_INTERVAL,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT,
  });
}
