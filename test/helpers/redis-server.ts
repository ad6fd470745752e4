import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Each server's folder (a replica writes the RDB its master sends there), removed with it. */
const folders = new Map<ChildProcess, string>();

/**
 * A redis-server of a test's own on 127.0.0.1:`port`, nothing persisted
 * (stopping the shared one would fail the other test files): its process,
 * once it accepts connections. `args` are more options, e.g. `--replicaof`.
 */
export async function startRedis(port: number, args: string[] = []): Promise<ChildProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-test-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  folders.set(child, dir);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not start`);
}

/** Stops a server of {@link startRedis} (kill -9 by its PID), waits for its exit and removes its folder. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  const dir = folders.get(child);
  if (dir) rmSync(dir, { recursive: true, force: true });
  folders.delete(child);
}
