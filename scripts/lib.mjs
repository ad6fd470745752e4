// Helpers shared by the plain-JS scripts (soak, bench:profile).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once GET base/ready answers 200 (at most ~20 s). */
export async function waitReady(base) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/ready`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base} did not become ready`);
}

/**
 * DATABASE_URL, or else a throwaway PostgreSQL from scripts/pg.sh with its data
 * under $TMPDIR/<name>. stop() stops the throwaway one (no-op otherwise).
 */
export function database(root, name) {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop() {} };
  const pg = path.join(root, 'scripts', 'pg.sh');
  const env = { ...process.env, SESSIONQL_PGDATA: path.join(process.env.TMPDIR ?? '/tmp', name) };
  const url = execFileSync(pg, ['start'], { env, encoding: 'utf8' }).trim().split('\n').pop();
  return { url, stop: () => execFileSync(pg, ['stop'], { env, stdio: 'ignore' }) };
}

/** node's flags in `npm start` (package.json's start script), so a built server runs as in production. */
export function startFlags(root) {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

/**
 * Starts the built server (root/dist/main.mjs, with `npm start`'s node flags; `npm run build` first) on a free
 * port of 127.0.0.1 against databaseUrl, in production mode with warnings only
 * and a random secret, and resolves once it is ready: { server, port, base }.
 */
export async function startServer(root, databaseUrl, { nodeArgs = [], env = {} } = {}) {
  const port = await freePort();
  const server = spawn(process.execPath, [...startFlags(root), ...nodeArgs, 'dist/main.mjs'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base);
  } catch (error) {
    server.kill('SIGKILL');
    throw error;
  }
  return { server, port, base };
}
