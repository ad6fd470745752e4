import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { testEngine } from '../helpers/app.js';
import { testDatabase, testDatabaseUrl } from '../helpers/database.js';
import { runScript } from '../helpers/process.js';

// Real processes, each opening PGlite or PostgreSQL: slow on a busy 2-core machine. The command prunes the database
// (`db`, and `cached_db`'s store, the same table): it runs where the suite runs on `db`, not again on each Redis engine.
describe.runIf(testEngine === 'db')('npm run sessions:clear', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sessionql-clear-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  await testDatabase();
  const url = testDatabaseUrl();

  it('deletes the expired sessions in batches, keeps the live ones, and prints how many', async () => {
    // On PGlite the command opens the data folder itself, so seed it here and close it first.
    const database = url ? await testDatabase() : await openDatabase({ url: undefined, pgliteDir: path.join(dataDir, 'pglite') });
    await migrate(database);
    const tag = `clear-${Date.now()}`;
    await database.rows(sql`INSERT INTO sessionql_session (key_hash, data, expires_at)
      SELECT ${tag} || '-expired-' || i, '{}'::jsonb, now() - interval '1 hour' FROM generate_series(1, 25) AS i`);
    await database.rows(sql`INSERT INTO sessionql_session (key_hash, data, expires_at)
      SELECT ${tag} || '-live-' || i, '{}'::jsonb, now() + interval '1 hour' FROM generate_series(1, 5) AS i`);
    if (!url) await database.close();

    const run = runScript('src/server/scripts/clear-sessions.ts', { SESSIONQL_DATA_DIR: dataDir, DATABASE_URL: url }, ['--batch', '10']);
    expect(await run.exited).toBe(0);
    const deleted = Number(/Deleted (\d+) expired sessions?/.exec(run.output())?.[1]);
    expect(deleted).toBeGreaterThanOrEqual(25);

    const check = url ? database : await openDatabase({ url: undefined, pgliteDir: path.join(dataDir, 'pglite') });
    const left = await check.rows<{ expired: number; live: number }>(sql`SELECT
      count(*) FILTER (WHERE key_hash LIKE ${`${tag}-expired-%`})::int AS expired,
      count(*) FILTER (WHERE key_hash LIKE ${`${tag}-live-%`})::int AS live FROM sessionql_session`);
    expect(left[0]).toEqual({ expired: 0, live: 5 });
    if (!url) await check.close();
  });
});
