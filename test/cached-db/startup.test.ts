import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { onCachedDb, TEST_SECRET } from '../helpers/app.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';
import { freePort, repoRoot, runScript, waitFor } from '../helpers/process.js';

const main = `${repoRoot}src/server/main.ts`;
const base = { NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, SESSION_ENGINE: 'cached_db' };

/** The database of a server process: a new PostgreSQL database, or PGlite in a folder of its own. */
async function databaseEnv(tag: string): Promise<Record<string, string>> {
  if (postgresUrl) return { DATABASE_URL: await emptyDatabaseUrl(tag) };
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-cached-db-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return { SESSIONQL_DATA_DIR: dir };
}

// Real processes (tsx), where the suite runs on cached_db.
describe.skipIf(!onCachedDb)('start-up on SESSION_ENGINE=cached_db', { timeout: 60_000 }, () => {
  it('an unreachable REDIS_URL: exit 1 with a message naming it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = runScript(main, { ...base, ...(await databaseEnv('startup_bad')), REDIS_URL: url, DATABASE_TIMEOUT_MS: '1000' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`SESSION_ENGINE=cached_db: cannot use Redis (REDIS_URL=${url})`);
    expect(run.output()).toMatch(/unreachable/);
  });

  it('starts on the database cached in Redis, serves, and stops on SIGTERM', async () => {
    const redis = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES };
    const port = await freePort();
    const run = runScript(main, {
      ...base,
      ...(await databaseEnv('startup')),
      ...redis,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    await waitFor(run, /sessionql on http/);
    expect(run.output()).toMatch(/\((PostgreSQL|PGlite in .*), cached in Redis /);
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { addToCart(sku: "a") { totalQuantity } }' }),
    });
    expect((await response.json()).data.addToCart.totalQuantity).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
