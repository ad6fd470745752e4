import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const repoRoot = new URL('../../', import.meta.url).pathname;

/**
 * Ports this worker hands out: below the kernel's ephemeral range (32768 on
 * Linux), which outgoing connections take their local ports from. A port
 * picked there (listen(0)) could be taken by any process's next outgoing
 * connection before the server the test starts binds it (EADDRINUSE, seen in
 * CI). Each vitest worker has its own 1,500 ports, each handed out once.
 */
const PORTS_PER_WORKER = 1500;
const firstPort = 20_000 + ((Number(process.env.VITEST_POOL_ID ?? 1) - 1) % 8) * PORTS_PER_WORKER;
let nextPort = firstPort;

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1, outside the ephemeral range, never the same twice in this worker. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 < firstPort + PORTS_PER_WORKER ? nextPort + 1 : firstPort;
    if (await listens(port)) return port;
  }
  throw new Error(`freePort: no free port in ${firstPort}..${firstPort + PORTS_PER_WORKER - 1}`);
}

export interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start`'s build step: src/server/main.ts bundled into dist/main.mjs. */
export function buildServer(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
}

/**
 * Runs an entry point of this repo with the given environment: a `.ts` file
 * with node and tsx's loader (`--import tsx`), a built `.mjs` with node (as
 * `npm start`). One process either way, so a signal reaches the server as in
 * production: tsx's own CLI runs the script in a child and, when the child
 * does not confirm a relayed SIGTERM within about 60 ms (a busy machine),
 * kills it and exits 143.
 */
export function runScript(script: string, env: Record<string, string | undefined>, args: string[] = []): Run {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : startFlags();
  return spawnRun(process.execPath, [...loader, script, ...args], env);
}

/** The node flags of `npm start` (package.json's start script), for a built entry point. */
function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { scripts: { start: string } };
  return scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

/** Runs `command` in the repo with only PATH, HOME and `env`, collecting its output. */
export function spawnRun(command: string, argv: string[], env: Record<string, string | undefined>): Run {
  const child = spawn(command, argv, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Resolves once `pattern` shows in the output; rejects if the process exits first or time runs out. */
export async function waitFor(run: Run, pattern: RegExp, ms = 60_000): Promise<void> {
  const started = Date.now();
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode} before ${pattern}:\n${run.output()}`);
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${pattern}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
