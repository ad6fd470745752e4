import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';

/**
 * A redis-server of a test's own on 127.0.0.1:`port`, nothing persisted
 * (stopping the shared one would fail the other test files): its process,
 * once it accepts connections. `args` are more options, e.g. `--replicaof`.
 */
export async function startRedis(port: number, args: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  });
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

/** Stops a server of {@link startRedis} (kill -9 by its PID) and waits for its exit. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
