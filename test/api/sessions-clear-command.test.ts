import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { testEngine } from '../helpers/app.js';
import { emptyDatabaseUrl, testDatabase, testDatabaseUrl } from '../helpers/database.js';
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

  // A cron job: no DDL rights needed, and never a schema change under a server of another version.
  // On PostgreSQL only: PGlite keeps the same bookkeeping, and opening it three times costs CI seconds.
  it.skipIf(!url)('applies no migrations: a database behind this version is refused naming it, with nothing deleted', async () => {
    const behindDir = mkdtempSync(path.join(tmpdir(), 'sessionql-clear-behind-'));
    const behindUrl = url ? await emptyDatabaseUrl('behind') : undefined;
    const database = await openDatabase({ url: behindUrl, pgliteDir: path.join(behindDir, 'pglite') });
    await migrate(database);
    await database.rows(
      sql`INSERT INTO sessionql_session (key_hash, data, expires_at) VALUES ('old', '{}'::jsonb, now() - interval '1 hour')`,
    );
    await database.rows(
      sql`DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations)`,
    );
    await database.close();
    const run = runScript('src/server/scripts/clear-sessions.ts', { SESSIONQL_DATA_DIR: behindDir, DATABASE_URL: behindUrl });
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toMatch(
      /^sessions:clear: .*: its schema lacks 1 migration\(s\) of this version: start this version's server first/,
    );
    const check = await openDatabase({ url: behindUrl, pgliteDir: path.join(behindDir, 'pglite') });
    expect((await check.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM sessionql_session`))[0]?.n).toBe(1);
    await check.close();
    rmSync(behindDir, { recursive: true, force: true });
  });

  it('nothing to prune on SESSION_ENGINE=cache or an empty data folder (and none is made); an unreachable database is one line', async () => {
    const empty = path.join(dataDir, 'never-started');
    const cache = runScript('src/server/scripts/clear-sessions.ts', {
      SESSIONQL_DATA_DIR: empty,
      SESSION_ENGINE: 'cache',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(await cache.exited).toBe(0);
    expect(cache.output()).toMatch(/^Nothing to prune: SESSION_ENGINE=cache keeps sessions in Redis/);
    const fresh = runScript('src/server/scripts/clear-sessions.ts', { SESSIONQL_DATA_DIR: empty });
    expect(await fresh.exited).toBe(0);
    expect(fresh.output()).toMatch(/^Nothing to prune: no embedded database in /);
    expect(existsSync(empty)).toBe(false);
    const down = runScript('src/server/scripts/clear-sessions.ts', { DATABASE_URL: 'postgres://cron:s3cret-pw@127.0.0.1:1/app' });
    expect(await down.exited).toBe(1);
    expect(down.output().trim()).toBe('sessions:clear: DATABASE_URL=postgres://cron:***@127.0.0.1:1/app: connect ECONNREFUSED 127.0.0.1:1');
  });
});
