// Django's `clearsessions`: deletes expired sessions in batches and prints how many.
// Usage: npm run sessions:clear [-- --batch 10000]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { SessionStore } from '../session/store.js';

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
const database = await openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pglite'), poolSize: 1 });
try {
  await migrate(database);
  const store = new SessionStore(database, {
    ageSeconds: config.cookie.ageSeconds,
    browserCloseByDefault: false,
    maxBytes: config.maxBytes,
  });
  const started = performance.now();
  const deleted = await store.prune(systemClock.now(), batch);
  console.log(`Deleted ${deleted} expired session${deleted === 1 ? '' : 's'} in ${Math.round(performance.now() - started)} ms.`);
} finally {
  await database.close();
}
