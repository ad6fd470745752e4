// Starting and stopping the servers under test. Each runs in its own process
// group (detached), so a Ctrl-C in the terminal reaches only this script, and
// stopping a target kills its whole tree (gunicorn and cluster workers too).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { alive } from './procfs.mjs';

const live = new Set();

/** A port the kernel considers free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns cmd (its own process group, output to logFile). The returned handle
 * has pid, exited (a promise of { code, signal }) and isRunning().
 */
export function startProcess(cmd, args, { cwd, env, logFile }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const handle = { pid: child.pid, logFile, running: true };
  handle.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      handle.running = false;
      handle.exit = { code, signal };
      live.delete(handle);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      handle.running = false;
      live.delete(handle);
      resolve({ code: null, signal: null, error });
    });
  });
  handle.isRunning = () => handle.running && alive(handle.pid);
  live.add(handle);
  return handle;
}

/** SIGTERM to the process group, SIGKILL after graceMs. */
export async function stopProcess(handle, graceMs = 10_000) {
  if (!handle?.running) return;
  const group = (sig) => {
    try {
      process.kill(-handle.pid, sig);
    } catch {}
  };
  group('SIGTERM');
  const done = await Promise.race([handle.exited.then(() => true), sleep(graceMs).then(() => false)]);
  group('SIGKILL'); // leftovers of the group (workers) even when the leader has gone
  if (!done) await Promise.race([handle.exited, sleep(2000)]);
}

/** Synchronous last resort (process 'exit'): SIGKILL every group still alive. */
export function killAllNow() {
  for (const h of live) {
    try {
      process.kill(-h.pid, 'SIGKILL');
    } catch {}
  }
  live.clear();
}

export async function stopAll() {
  await Promise.all([...live].map((h) => stopProcess(h)));
}

/**
 * Waits until request() (a fetch) gets any HTTP answer, the process dies, or
 * timeoutMs passes. Returns true when it answered.
 */
export async function waitHttp(handle, request, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!handle.isRunning()) return false;
    try {
      await request(AbortSignal.timeout(2000)).then((r) => r.arrayBuffer());
      return true;
    } catch {}
    await sleep(200);
  }
  return false;
}

/** The last lines of a log file. */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
