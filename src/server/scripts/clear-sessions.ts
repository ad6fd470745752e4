// Django's `clearsessions`: deletes expired sessions in batches and prints how many.
// Usage: npm run sessions:clear [-- --batch 10000]
// On PGlite only one process may open the data folder: while the server runs,
// this asks it to prune (src/engines/postgres/prune-control.ts) instead.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../core/clock.js';
import { type Database, openDatabase } from '../../engines/postgres/client.js';
import { FolderLocked } from '../../engines/postgres/folder-lock.js';
import { migrate } from '../../engines/postgres/migrate.js';
import { pruneSocketPath, requestPrune } from '../../engines/postgres/prune-control.js';
import { SessionStore } from '../../engines/postgres/store.js';
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

let database: Database;
try {
  // On PGlite this takes the folder's lock (src/engines/postgres/folder-lock.ts) and keeps it until close.
  database = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: path.join(config.dataDir, 'pglite'),
    poolSize: 1,
    prepare: config.databasePrepare,
  });
} catch (error) {
  if (!(error instanceof FolderLocked)) throw error;
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
  await migrate(database);
  const store = new SessionStore(database, {
    ageSeconds: config.cookie.ageSeconds,
    maxBytes: config.maxBytes,
  });
  const started = performance.now();
  report(await store.prune(systemClock.now(), batch), started);
} finally {
  await database.close();
}
