// Django's `clearsessions`: deletes expired sessions in batches and prints how many.
// Usage: npm run sessions:clear [-- --batch 10000]
// On PGlite only one process may open the data folder: while the server runs,
// this asks it to prune (src/engines/postgres/prune-control.ts) instead.
// It applies no migrations (a cron job needs no DDL rights, and never changes
// the schema under a server of another version): a database behind this
// version's schema is refused. Failures are one line, exit 1.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../core/clock.js';
import { type Database, openDatabase } from '../../engines/postgres/client.js';
import { FolderLocked } from '../../engines/postgres/folder-lock.js';
import { migrationState } from '../../engines/postgres/migrate.js';
import { pruneSocketPath, requestPrune } from '../../engines/postgres/prune-control.js';
import { SessionStore } from '../../engines/postgres/store.js';
import { redactedUrl } from '../../engines/redacted-url.js';
import { ConfigError, loadConfig } from '../config.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '10000' } } });
const batch = Number(values.batch);
if (!Number.isInteger(batch) || batch < 1) {
  console.error('sessions:clear: --batch must be a whole number of at least 1');
  process.exit(2);
}
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, { needsSecret: false });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`sessions:clear: ${error.message}`);
  process.exit(2);
}
const report = (deleted: number, started: number, how = '') =>
  console.log(`Deleted ${deleted} expired session${deleted === 1 ? '' : 's'} in ${Math.round(performance.now() - started)} ms${how}.`);
const where = config.databaseUrl ? `DATABASE_URL=${redactedUrl(config.databaseUrl)}` : `PGlite in ${path.join(config.dataDir, 'pglite')}`;
/** One line naming the database (its password hidden), exit 1. */
function fail(error: unknown): never {
  // The driver's error, under ours ("the database is unavailable") when there is one.
  let root = error as NodeJS.ErrnoException;
  while (root.cause instanceof Error) root = root.cause as NodeJS.ErrnoException;
  const { message, code } = root;
  console.error(`sessions:clear: ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`);
  process.exit(1);
}

if (config.engine === 'cache') {
  console.log('Nothing to prune: SESSION_ENGINE=cache keeps sessions in Redis, which deletes each at its expiry (a TTL).');
  process.exit(0);
}
// No folder and no lock (a server making it now would hold one): the server never started here.
const embedded = path.join(config.dataDir, 'pglite');
if (!config.databaseUrl && !existsSync(embedded) && !existsSync(`${embedded}.lock`)) {
  console.log(`Nothing to prune: no embedded database in ${config.dataDir} yet (the server makes it at its first start).`);
  process.exit(0);
}

let database!: Database;
try {
  // On PGlite this takes the folder's lock (src/engines/postgres/folder-lock.ts) and keeps it until close.
  database = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: path.join(config.dataDir, 'pglite'),
    poolSize: 1,
    prepare: config.databasePrepare,
  });
} catch (error) {
  if (!(error instanceof FolderLocked)) fail(error);
  // A running server has the folder open: a second opener would diverge from it, so ask the server.
  const socketPath = pruneSocketPath(config.dataDir);
  const started = performance.now();
  try {
    const answer = await requestPrune(socketPath, batch);
    report(answer.deleted, started, ` (through the running server, PID ${answer.pid})`);
    process.exit(0);
  } catch (failure) {
    console.error(
      `sessions:clear: ${error.message}\nIt did not prune through ${socketPath} (${(failure as Error).message}); if it is a server still starting, try again.`,
    );
    process.exit(1);
  }
}
try {
  const { applied, pending } = await migrationState(database);
  if (applied === 0) {
    console.log(`Nothing to prune: ${where} has no session table yet (the server makes it at its first start).`);
  } else if (pending > 0) {
    console.error(
      `sessions:clear: ${where}: its schema lacks ${pending} migration(s) of this version: start this version's server first (it applies them at start-up), then prune.`,
    );
    process.exitCode = 1;
  } else {
    const store = new SessionStore(database, {
      ageSeconds: config.cookie.ageSeconds,
      maxBytes: config.maxBytes,
    });
    const started = performance.now();
    report(await store.prune(systemClock.now(), batch), started);
  }
} catch (error) {
  await database.close().catch(() => {});
  fail(error);
} finally {
  await database.close().catch(() => {});
}
