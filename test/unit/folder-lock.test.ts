import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { acquireFolderLock, FolderLocked } from '../../src/engines/postgres/folder-lock.js';
import { repoRoot } from '../helpers/process.js';

const root = mkdtempSync(path.join(tmpdir(), 'sessionql-lock-'));
let count = 0;
const newFolder = () => path.join(root, `db${++count}`);
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/**
 * Another process that tries to lock `folder` once `startAt` (ms since the
 * epoch) has come, prints `won` or `locked <holder pid>`, and (when it won)
 * holds the lock until its stdin closes, then exits without releasing it by
 * hand (the exit hook must).
 */
function contender(folder: string, startAt = 0, ownPidNamespace = false) {
  const code = `// lock-contender
    const { acquireFolderLock, FolderLocked } = await import(${JSON.stringify(path.join(repoRoot, 'src/engines/postgres/folder-lock.ts'))});
    while (Date.now() < ${startAt});
    try {
      acquireFolderLock(${JSON.stringify(folder)});
      console.log('won');
      process.stdin.on('end', () => process.exit(0)).resume();
    } catch (error) {
      if (!(error instanceof FolderLocked)) throw error;
      console.log('locked ' + error.holder.pid);
      process.exit(0);
    }`;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', code];
  const argv = ownPidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', ...node] : node;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const said = async (ms = 20_000) => {
    const until = Date.now() + ms;
    while (!out.includes('\n') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return out.trim();
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, said, exited };
}

/** The PID of a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('the folder lock (one process per PGlite folder)', () => {
  it('is a file beside the folder holding {pid, startedAt, command}, removed on release', () => {
    const folder = newFolder();
    const lock = acquireFolderLock(folder);
    expect(lock.file).toBe(`${folder}.lock`);
    const holder = JSON.parse(readFileSync(lock.file, 'utf8'));
    expect(holder).toEqual({
      pid: process.pid,
      startedAt: expect.any(String),
      command: expect.stringContaining(process.execPath),
      place: expect.stringMatching(/pid:\[\d+\]/),
    });
    expect(Date.parse(holder.startedAt)).toBeGreaterThan(Date.now() - 10_000);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    acquireFolderLock(folder).release();
  });

  it('a second acquire in the same process fails while the first holds it', () => {
    const folder = newFolder();
    const lock = acquireFolderLock(folder);
    expect(() => acquireFolderLock(folder)).toThrow(FolderLocked);
    lock.release();
  });

  it('another process fails at once, naming the folder, the holder PID and its command line; the exit hook releases it', async () => {
    const folder = newFolder();
    const holder = contender(folder);
    expect(await holder.said()).toBe('won');
    const started = Date.now();
    let error: unknown;
    try {
      acquireFolderLock(folder);
    } catch (e) {
      error = e;
    }
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(FolderLocked);
    const locked = error as FolderLocked;
    expect(locked.folder).toBe(folder);
    expect(locked.holder.pid).toBe(holder.child.pid);
    expect(locked.holder.command).toMatch(/lock-contender/);
    expect(locked.message).toContain(folder);
    expect(locked.message).toContain(`process ${holder.child.pid}`);
    expect(locked.message).not.toContain('another container');

    holder.child.stdin!.end();
    expect(await holder.exited).toBe(0);
    expect(existsSync(`${folder}.lock`)).toBe(false);
    acquireFolderLock(folder).release();
  });

  it('a lock whose process is gone is stale and taken over, leaving no stray files', async () => {
    const folder = newFolder();
    const pid = deadPid();
    writeFileSync(`${folder}.lock`, JSON.stringify({ pid, startedAt: '2020-01-01T00:00:00.000Z', command: 'gone' }));
    const lock = acquireFolderLock(folder);
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();

    // A holder killed outright (no exit hook) leaves its lock behind: the next process takes it over.
    const killed = contender(folder);
    expect(await killed.said()).toBe('won');
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(JSON.parse(readFileSync(`${folder}.lock`, 'utf8')).pid).toBe(killed.child.pid);
    acquireFolderLock(folder).release();
    expect(readdirSync(root).filter((f) => f.startsWith(path.basename(folder)))).toEqual([]);
  });

  // Containers sharing the data volume: each has its own PID namespace, where node is often PID 1, so a PID
  // says nothing about a holder elsewhere; its heartbeat (the lock file's time, refreshed every second) does.
  it('a lock held elsewhere (another PID namespace or host) is not taken while its heartbeat goes on, whatever its PID', async () => {
    const folder = newFolder();
    const lock = `${folder}.lock`;
    const elsewhere = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      command: 'node dist/main.mjs',
      place: 'web-2 pid:[4026532999] x',
    };
    writeFileSync(lock, JSON.stringify(elsewhere));
    const beat = spawn(process.execPath, [
      '-e',
      `setInterval(() => require('fs').utimesSync(${JSON.stringify(lock)}, new Date(), new Date()), 300)`,
    ]);
    children.push(beat);
    onTestFinished(() => void beat.kill('SIGKILL'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    expect(() => acquireFolderLock(folder)).toThrow(
      /in use by process \d+ \(node dist\/main\.mjs\) on web-2 \(another container or host\)/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toEqual(elsewhere);
  });

  it('a lock held elsewhere whose heartbeat stopped over 10 s ago is stale and taken over', () => {
    const folder = newFolder();
    const lock = `${folder}.lock`;
    writeFileSync(
      lock,
      JSON.stringify({ pid: 1, startedAt: '2020-01-01T00:00:00.000Z', command: 'gone', place: 'web-2 pid:[4026532999] x' }),
    );
    const silent = new Date(Date.now() - 11_000);
    utimesSync(lock, silent, silent);
    const taken = acquireFolderLock(folder);
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    taken.release();
  });

  // The real thing, where the system allows it (root, as CI runs): two servers' processes, each PID 1 of its own namespace.
  it.skipIf(process.getuid?.() !== 0 || spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status !== 0)(
    'a process in another PID namespace (a second container) with the same PID 1 is refused',
    async () => {
      const folder = newFolder();
      const first = contender(folder, 0, true);
      expect(await first.said()).toBe('won');
      const second = contender(folder, 0, true);
      expect(await second.said()).toBe('locked 1');
      first.child.stdin!.end();
      await first.exited;
      await second.exited;
    },
  );

  it('of several processes racing for one stale lock exactly one wins; the others name it', async () => {
    const folder = newFolder();
    writeFileSync(`${folder}.lock`, JSON.stringify({ pid: deadPid(), startedAt: '2020-01-01T00:00:00.000Z', command: 'gone' }));
    const startAt = Date.now() + 4000; // all spinning by then, so they collide
    const racers = Array.from({ length: 6 }, () => contender(folder, startAt));
    const said = await Promise.all(racers.map((r) => r.said()));
    const winners = racers.filter((_, i) => said[i] === 'won');
    expect(winners).toHaveLength(1);
    expect(said.filter((s) => s !== 'won')).toEqual(Array(5).fill(`locked ${winners[0]!.child.pid}`));
    winners[0]!.child.stdin!.end();
    await Promise.all(racers.map((r) => r.exited));
    expect(readdirSync(root).filter((f) => f.startsWith(path.basename(folder)))).toEqual([]);
  });
});
