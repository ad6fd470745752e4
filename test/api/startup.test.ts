import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { CookieClient } from '../helpers/client.js';
import { testDatabase, testDatabaseUrl } from '../helpers/database.js';
import { buildServer, freePort, runScript, spawnRun, waitFor } from '../helpers/process.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-start-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Real processes, each opening PGlite or PostgreSQL: slow on a busy 2-core machine.
describe('start-up (npm start: the built dist/main.mjs)', { timeout: 90_000 }, async () => {
  buildServer();
  await testDatabase();
  const databaseUrl = testDatabaseUrl();

  it('bad values stop start-up with a message naming each variable and its rule', async () => {
    const bad = {
      PORT: ['abc', /PORT: must be a whole number/],
      SESSION_COOKIE_AGE: ['-5', /SESSION_COOKIE_AGE: must be a whole number/],
      SESSION_COOKIE_SAMESITE: ['sometimes', /SESSION_COOKIE_SAMESITE: must be Strict, Lax or None/],
      CORS_ORIGINS: ['*', /CORS_ORIGINS: each origin must be scheme/],
      DATABASE_URL: ['mysql://db', /DATABASE_URL: must be a postgres/],
      // A generated password pasted as is: refused naming the fix, the password not repeated (the driver's error did).
      DATABASE_LISTEN_URL: [
        'postgres://app:Zq#9x@db/app',
        /DATABASE_LISTEN_URL: postgres:\/\/\*\*\*@db\/app does not parse as a URL: .* must be percent-encoded/,
      ],
    } as const;
    const env = Object.fromEntries(Object.entries(bad).map(([name, [value]]) => [name, value]));
    const run = runScript('dist/main.mjs', { SESSIONQL_DATA_DIR: tempDir(), ...env });
    expect(await run.exited).toBe(1);
    for (const [, message] of Object.values(bad)) expect(run.output()).toMatch(message);
    expect(run.output()).not.toContain('Zq#9x');
  });

  it('an unreachable DATABASE_URL: exit 1 with one line naming it, the password hidden', async () => {
    const url = `postgres://sessions:hunter2-secret@127.0.0.1:${await freePort()}/app`;
    const run = runScript('dist/main.mjs', {
      NODE_ENV: 'production',
      SESSION_SECRET: 'a-secret-of-32-characters-or-more-0123',
      DATABASE_URL: url,
      DATABASE_TIMEOUT_MS: '1000',
    });
    expect(await run.exited).toBe(1);
    const out = run.output().trim();
    // In production, a JSON line as the logger writes them, for the same log collector.
    expect(out.split('\n')).toHaveLength(1);
    const line = JSON.parse(out);
    expect(line).toMatchObject({ level: 'error' });
    expect(line.msg).toMatch(
      /^sessionql: cannot use PostgreSQL \(DATABASE_URL=postgres:\/\/sessions:\*\*\*@127\.0\.0\.1:\d+\/app\): .*ECONNREFUSED/,
    );
    expect(out).not.toContain('hunter2');
  });

  it('a port taken, or a data folder that is a file: exit 1 with one line naming it, no stack', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void taken.close());
    const port = (taken.address() as AddressInfo).port;
    const secret = { NODE_ENV: 'production', SESSION_SECRET: 'a-secret-of-32-characters-or-more-0123', HOST: '127.0.0.1' };
    const busy = runScript('dist/main.mjs', { ...secret, DATABASE_URL: databaseUrl, SESSIONQL_DATA_DIR: tempDir(), PORT: String(port) });
    expect(await busy.exited).toBe(1);
    expect(JSON.parse(busy.output().trim()).msg).toBe(
      `sessionql: cannot listen on 127.0.0.1:${port}: another process listens there (PORT)`,
    );

    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const notFolder = runScript('dist/main.mjs', { ...secret, SESSIONQL_DATA_DIR: file, PORT: String(await freePort()) });
    expect(await notFolder.exited).toBe(1);
    expect(JSON.parse(notFolder.output().trim()).msg).toMatch(
      new RegExp(`^sessionql: failed to start: ENOTDIR: not a directory, mkdir '${file}/pglite'$`),
    );
  });

  it('NODE_ENV=production without SESSION_SECRET refuses to start', async () => {
    const run = runScript('dist/main.mjs', { NODE_ENV: 'production', SESSIONQL_DATA_DIR: tempDir() });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/SESSION_SECRET: required when NODE_ENV=production/);
  });

  it('in development it generates a secret, keeps it under the data folder, and cookies survive a restart', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const env = { SESSIONQL_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: databaseUrl };
    // The first through `npm start` as the README runs it: SIGTERM to npm must reach node (it drains, exits, frees the port).
    const start = async (viaNpm = false) => {
      const run = viaNpm ? spawnRun('npm', ['start', '--silent'], env) : runScript('dist/main.mjs', env);
      // Stopped by PID also when an expectation fails or the test times out.
      onTestFinished(() => void run.child.kill('SIGKILL'));
      await waitFor(run, /sessionql on http/);
      return run;
    };
    const first = await start(true);
    expect(first.output()).toMatch(/SESSION_SECRET is not set/);
    expect(statSync(path.join(dataDir, 'session-secret')).mode & 0o777).toBe(0o600);
    const browser = new CookieClient({
      fetch: (url: string, init?: RequestInit) => fetch(url.replace('http://localhost', `http://127.0.0.1:${port}`), init),
    } as never);
    await browser.data('mutation { addToCart(sku: "book") { totalQuantity } }');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/SIGTERM: draining/);

    const second = await start();
    expect((await browser.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'book', quantity: 1 }]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
