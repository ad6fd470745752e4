import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { acquireFolderLock } from '../../src/engines/postgres/folder-lock.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { testEngine } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { engine } from '../helpers/database.js';
import { freePort, type Run, runScript, spawnRun, waitFor } from '../helpers/process.js';

/** The server from source in one process (tsx's CLI would put a second process in front), so its PID is the lock's. */
function startServer(env: Record<string, string>): Run {
  return spawnRun(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], { LOG_LEVEL: 'info', SESSION_PRUNE_INTERVAL: '0', ...env });
}

/** `run`'s exit code, or 'still running' after `ms`. */
const exitWithin = (run: Run, ms: number) =>
  Promise.race([run.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref())]);

const clearSessions = (dataDir: string) => runScript('src/server/scripts/clear-sessions.ts', { SESSIONQL_DATA_DIR: dataDir });

/** Inserts `n` sessions that expired an hour ago into the PGlite folder of `dataDir`, from this process. */
async function seedExpired(dataDir: string, n: number): Promise<void> {
  const database = await openDatabase({ url: undefined, pgliteDir: path.join(dataDir, 'pglite') });
  try {
    await migrate(database);
    await database.rows(sql`INSERT INTO sessionql_session (key_hash, data, expires_at)
      SELECT 'seeded-' || i, '{}'::jsonb, now() - interval '1 hour' FROM generate_series(1, ${n}::int) AS i`);
  } finally {
    await database.close();
  }
}

// Where the suite runs on `db` with PGlite: the Redis engines' steps have no DATABASE_URL either, and would run the
// same PGlite processes again.
const embedded = engine === 'pglite' && testEngine === 'db';

describe.runIf(embedded)('one process per PGlite folder (the embedded store is locked)', { timeout: 90_000 }, () => {
  const dirs: string[] = [];
  const runs: Run[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-lock-'));
    dirs.push(dir);
    return dir;
  };
  let dataDir: string;
  let port: number;
  let server: Run;
  let browser: CookieClient;

  beforeAll(async () => {
    dataDir = tempDir();
    port = await freePort();
    // Sessions live 2 s unless set longer, so the test can make expired ones.
    server = startServer({ SESSIONQL_DATA_DIR: dataDir, PORT: String(port), SESSION_COOKIE_AGE: '2' });
    runs.push(server);
    await waitFor(server, /sessionql on http/);
    browser = client();
    await browser.data('mutation { setSessionExpiry(seconds: 100000) { exists } }');
    await browser.data('mutation { addToCart(sku: "kept") { totalQuantity } }');
  });

  afterAll(async () => {
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      run.child.kill('SIGTERM');
      if ((await exitWithin(run, 10_000)) === 'still running') run.child.kill('SIGKILL');
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const client = () =>
    new CookieClient({
      fetch: (url: string, init?: RequestInit) => fetch(url.replace('http://localhost', `http://127.0.0.1:${port}`), init),
    } as never);

  it('a second server on the same folder exits at once, naming the folder and the first server; the first keeps serving', async () => {
    const second = startServer({ SESSIONQL_DATA_DIR: dataDir, PORT: String(await freePort()) });
    runs.push(second);
    expect(await exitWithin(second, 20_000)).toBe(1);
    expect(second.output()).toContain(`${path.join(dataDir, 'pglite')} is in use by process ${server.child.pid}`);
    expect(second.output()).toContain('src/server/main.ts');
    expect(second.output()).not.toMatch(/sessionql on http/);
    expect((await browser.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'kept', quantity: 1 }]);
  });

  it('npm run sessions:clear while the server runs prunes through it, and both see the same data', async () => {
    const expired = Array.from({ length: 4 }, client);
    for (const c of expired) await c.data('mutation { addToCart(sku: "gone") { totalQuantity } }');
    await new Promise((r) => setTimeout(r, 3200)); // SESSION_COOKIE_AGE=2, rounded up to whole seconds

    const run = clearSessions(dataDir);
    expect(await exitWithin(run, 20_000)).toBe(0);
    expect(run.output()).toMatch(
      new RegExp(`Deleted 4 expired sessions in \\d+ ms \\(through the running server, PID ${server.child.pid}\\)`),
    );

    // The server still serves, reads what was written before, and writes.
    expect((await browser.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'kept', quantity: 1 }]);
    await browser.data('mutation { addToCart(sku: "after") { totalQuantity } }');
    expect((await browser.data('{ cart { items { sku } } }')).cart.items.map((i: { sku: string }) => i.sku)).toEqual(['kept', 'after']);
    // And a second run finds nothing left to delete: the first deleted in the server's own store.
    const again = clearSessions(dataDir);
    expect(await exitWithin(again, 20_000)).toBe(0);
    expect(again.output()).toMatch(/Deleted 0 expired sessions .*through the running server/);
  });

  it('npm run sessions:clear with the folder held by a process that does not answer exits 1, naming it', async () => {
    const other = tempDir();
    const lock = acquireFolderLock(path.join(other, 'pglite'));
    try {
      const run = clearSessions(other);
      expect(await exitWithin(run, 30_000)).toBe(1);
      expect(run.output()).toContain(`${path.join(other, 'pglite')} is in use by process ${process.pid}`);
      expect(run.output()).toContain(`did not prune through ${path.join(other, 'pglite.sock')}`);
    } finally {
      lock.release();
    }
  });

  it('npm run sessions:clear with no server running opens the folder itself, taking over a stale lock', async () => {
    const alone = tempDir();
    await seedExpired(alone, 3);
    const lockFile = path.join(alone, 'pglite.lock');
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(lockFile, JSON.stringify({ pid: gone, startedAt: '2020-01-01T00:00:00.000Z', command: 'a server killed with SIGKILL' }));

    const run = clearSessions(alone);
    expect(await exitWithin(run, 30_000)).toBe(0);
    expect(run.output()).toMatch(/Deleted 3 expired sessions in \d+ ms\.$/m);
    expect(run.output()).not.toMatch(/through the running server/);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('the server removes its control socket and lock when it stops, and a new server starts on the folder', async () => {
    expect(JSON.parse(readFileSync(path.join(dataDir, 'pglite.lock'), 'utf8')).pid).toBe(server.child.pid);
    expect(existsSync(path.join(dataDir, 'pglite.sock'))).toBe(true);
    server.child.kill('SIGTERM');
    expect(await exitWithin(server, 15_000)).toBe(0);
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'pglite.sock'))).toBe(false);

    const next = startServer({ SESSIONQL_DATA_DIR: dataDir, PORT: String(port), SESSION_COOKIE_AGE: '2' });
    runs.push(next);
    await waitFor(next, /sessionql on http/);
    expect((await browser.data('{ cart { items { sku } } }')).cart.items.map((i: { sku: string }) => i.sku)).toEqual(['kept', 'after']);
  });
});
