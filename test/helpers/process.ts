import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const repoRoot = new URL('../../', import.meta.url).pathname;
const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
 * through tsx (as the npm scripts do), a built `.mjs` with node (as `npm start`).
 */
export function runScript(script: string, env: Record<string, string | undefined>, args: string[] = []): Run {
  const [command, argv] = script.endsWith('.ts') ? [tsx, [script, ...args]] : [process.execPath, ['--enable-source-maps', script, ...args]];
  return spawnRun(command, argv, env);
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
