import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { systemClock } from '../core/clock.js';
import type { SessionEngine } from '../core/engine.js';
import { type CachedDbEngine, withCache } from '../engines/cached-db/engine.js';
import { type Database, openDatabase } from '../engines/postgres/client.js';
import { FolderLocked } from '../engines/postgres/folder-lock.js';
import { migrate } from '../engines/postgres/migrate.js';
import { postgresQueuePatched } from '../engines/postgres/postgres-queue.js';
import { createPruneControl, pruneSocketPath } from '../engines/postgres/prune-control.js';
import { createPruner } from '../engines/postgres/pruner.js';
import { redactedUrl } from '../engines/redacted-url.js';
import { openRedisEngine, type RedisEngine } from '../engines/redis/engine.js';
import { clusterConnection } from '../engines/redis/nodes.js';
import { createApp, createDbStore } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

/**
 * Outside production a missing SESSION_SECRET is generated once and kept in
 * the data folder, so cookies survive a restart of the dev server.
 */
function devSecret(dataDir: string): () => string {
  return () => {
    const file = path.resolve(dataDir, 'session-secret');
    try {
      const kept = readFileSync(file, 'utf8').trim();
      if (kept.length >= 32) return kept;
    } catch {}
    mkdirSync(path.dirname(file), { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    return secret;
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { secretFallback: devSecret(process.env.SESSIONQL_DATA_DIR || './.data') });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fatal(error.message);
  }
  const log = createLogger({ json: config.nodeEnv === 'production', level: config.logLevel });
  if (config.secretGenerated) {
    log.warn(
      `SESSION_SECRET is not set: using a generated one kept in ${path.join(config.dataDir, 'session-secret')} (set SESSION_SECRET in production)`,
    );
  }
  if (config.engine === 'cache') return serveOn(config, log, await openCacheEngine(config), null);
  const database = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: path.join(config.dataDir, 'pglite'),
    poolSize: config.poolSize,
    prepare: config.databasePrepare,
  });
  if (database.engine === 'postgres' && !postgresQueuePatched()) {
    log.warn(
      'postgres.js is not patched (installed with --ignore-scripts?): throughput will fall the longer this process runs; run `npx patch-package` (patches/postgres+3.4.9.patch)',
    );
  }
  try {
    await migrate(database);
  } catch (error) {
    if (!config.databaseUrl) throw error;
    // Unreachable, refused, the wrong password, no such database: one line naming the setting (the password hidden).
    const { message, code } = error as NodeJS.ErrnoException;
    await database.close().catch(() => {});
    fatal(
      `cannot use PostgreSQL (DATABASE_URL=${redactedUrl(config.databaseUrl)}): ${message}${code && !message.includes(code) ? ` (${code})` : ''}`,
    );
  }
  if (config.engine === 'cached_db') return serveOn(config, log, await openCachedDb(config, database, log), database);
  return serveOn(config, log, null, database);
}

/** SESSION_ENGINE=cached_db: the `db` store with Redis in front; an unreachable Redis at start-up exits 1 naming it. */
async function openCachedDb(config: Config, database: Database, log: Logger): Promise<CachedDbEngine> {
  try {
    return await withCache(createDbStore(config, database, log), database, {
      url: config.redisUrl,
      clusterNodes: config.redisClusterNodes,
      timeoutMs: config.databaseTimeoutMs,
      cacheTimeoutMs: config.cacheTimeoutMs,
      ageSeconds: config.cookie.ageSeconds,
      listenUrl: config.databaseListenUrl,
      onCacheError: (error) => log.warn(`session cache (Redis): ${(error as Error).message}; reading from the database meanwhile`),
    });
  } catch (error) {
    fatal(`SESSION_ENGINE=cached_db: cannot use Redis (${redisTarget(config)}): ${(error as Error).message}`);
  }
}

/** SESSION_ENGINE=cache: connects to Redis (a cluster: cluster_state:ok) within DATABASE_TIMEOUT_MS, else exits 1 naming it. */
async function openCacheEngine(config: Config): Promise<RedisEngine> {
  try {
    return await openRedisEngine({
      url: config.redisUrl,
      clusterNodes: config.redisClusterNodes,
      ageSeconds: config.cookie.ageSeconds,
      maxBytes: config.maxBytes,
      timeoutMs: config.databaseTimeoutMs,
      waitReplicas: config.redisWaitReplicas,
      waitTimeoutMs: config.redisWaitTimeoutMs,
    });
  } catch (error) {
    fatal(`SESSION_ENGINE=cache: cannot use Redis (${redisTarget(config)}): ${(error as Error).message}`);
  }
}

/** The Redis setting, for messages (a URL's password hidden). */
function redisTarget(config: Config): string {
  return config.redisUrl
    ? `REDIS_URL=${redactedUrl(config.redisUrl)}`
    : `REDIS_CLUSTER_NODES=${clusterConnection(config.redisClusterNodes ?? []).shown}`;
}

async function serveOn(config: Config, log: Logger, engine: SessionEngine | null, database: Database | null) {
  const app = engine ? createApp({ config, engine, logger: log }) : createApp({ config, database: database!, logger: log });
  // Pruning is the `db` store's (cached_db's too): Redis expires keys by their TTLs.
  const pruner =
    database && app.dbStore
      ? createPruner({
          store: app.dbStore,
          database,
          clock: systemClock,
          intervalSeconds: config.pruneIntervalSeconds,
          logger: app.logger,
          events: app.metrics.events,
        })
      : null;
  pruner?.start();
  // Listening for other instances' changes is checked now, so that a misconfiguration is in the start-up log.
  app.store.feed?.start?.().catch((error) => log.error(`sessionChanged is unavailable: ${(error as Error).message}`));
  // On PGlite, `npm run sessions:clear` prunes through this process (only one may open the folder).
  const control =
    database?.engine === 'pglite'
      ? createPruneControl({
          socketPath: pruneSocketPath(config.dataDir),
          prune: async (batch) => {
            const deleted = await app.store.prune(systemClock.now(), batch);
            app.metrics.events.pruned(deleted);
            return deleted;
          },
          logger: log,
        })
      : null;
  await control?.listen();
  let stopping = false;
  let draining = false;
  const server = app.httpServer((req, res) => {
    if (draining) {
      // Draining: answer what arrives on open connections, then let them close.
      res.setHeader('connection', 'close');
      if (req.url === '/ready') return void res.writeHead(503).end();
    }
    return app.handle(req, res);
  });
  // Connections not yet closed. A connection cut at SHUTDOWN_TIMEOUT has left
  // the server's count before its 'close', which carries its request's log
  // line (aborted, 499): the exit waits for those.
  const open = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // The port taken, a privileged port, a HOST that does not resolve: one line naming the setting, not a stack.
  const cannotListen = (error: NodeJS.ErrnoException) => {
    const why: Record<string, string> = {
      EADDRINUSE: 'another process listens there (PORT)',
      EACCES: 'ports below 1024 need privileges this process lacks (PORT)',
      EADDRNOTAVAIL: 'no network interface has that address (HOST)',
      ENOTFOUND: 'HOST does not resolve',
      EAI_AGAIN: 'HOST does not resolve',
    };
    fatal(`cannot listen on ${config.host}:${config.port}: ${why[error.code ?? ''] ?? error.message}`);
  };
  server.once('error', cannotListen);
  server.listen(config.port, config.host, () => {
    server.off('error', cannotListen);
    const port = (server.address() as net.AddressInfo | null)?.port ?? config.port;
    const redis = () =>
      `Redis ${config.redisUrl ? redactedUrl(config.redisUrl) : `Cluster ${clusterConnection(config.redisClusterNodes ?? []).shown}`}`;
    const db = database?.engine === 'pglite' ? `PGlite in ${path.join(config.dataDir, 'pglite')}` : 'PostgreSQL';
    const store = !database ? redis() : engine ? `${db}, cached in ${redis()}` : db;
    log.info(`sessionql on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/graphql (${store})`);
  });

  /**
   * Graceful shutdown (SIGTERM from an orchestrator, Ctrl-C): stop accepting
   * connections, answer every request already on an open connection with
   * `Connection: close` (so no client sends another on a socket we are about
   * to close), let idle ones time out, force the rest after SHUTDOWN_TIMEOUT,
   * then close the pool and exit 0.
   */
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining connections (at most ${config.shutdownTimeoutSeconds} s)`);
    // Event streams would hold their connections open: each ends with `complete` (clients resubscribe elsewhere).
    app.sessions.endSubscriptions();
    const stopped = Promise.all([pruner?.stop(), control?.close()]);
    // Closing the listening socket resets every connection the kernel has
    // completed but Node has not accepted yet: its request fails with
    // ECONNRESET. A busy event loop (PGlite runs queries on it) leaves some
    // waiting, so the listener closes one loop turn later, after a poll phase
    // has accepted them. Until then requests are answered as usual: the first
    // `Connection: close` goes out once the listener is closed, so a client
    // that reconnects is refused, never caught in the queue.
    setImmediate(() =>
      setImmediate(() => {
        draining = true;
        // net.Server's close stops listening without http.Server's immediate
        // closing of idle keep-alive sockets (a request in flight towards one would be reset).
        net.Server.prototype.close.call(server, async () => {
          // (A listener, not events.once: that would reject on a socket's late 'error'.)
          await Promise.all([stopped, ...[...open].map((socket) => new Promise((resolve) => socket.once('close', resolve)))]);
          await app.store.close().catch((error) => log.error(error));
          log.info('closed');
          process.exit(0);
        });
      }),
    );
    // Idle keep-alive connections are not cut early: closing one races with a
    // client sending on it (a reset request). Node's keep-alive timeout (5 s)
    // ends them, and SHUTDOWN_TIMEOUT bounds the whole drain.
    setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutSeconds * 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  // The data folder unusable (a file, no permission, read-only, full): the system's message names the path.
  const system = typeof (error as NodeJS.ErrnoException).syscall === 'string';
  if (error instanceof FolderLocked || system) fatal(`failed to start: ${(error as Error).message}`);
  fatal('failed to start:', error);
});

/**
 * A start-up failure: one line on stderr, then exit 1. With NODE_ENV=production
 * the line is JSON, as the logger's are (the config may be what failed, so
 * this reads NODE_ENV itself); an unexpected error keeps its stack.
 */
function fatal(message: string, error?: unknown): never {
  if (process.env.NODE_ENV === 'production') {
    const why = error === undefined ? '' : ` ${error instanceof Error ? error.message : String(error)}`;
    const stack = error instanceof Error ? { stack: error.stack } : {};
    const line = { time: new Date().toISOString(), level: 'error', msg: `sessionql: ${message}${why}`, ...stack };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  } else if (error === undefined) console.error(`sessionql: ${message}`);
  else console.error(`sessionql: ${message}`, error);
  process.exit(1);
}
