import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** What a lock file says about the process that holds the folder. */
export interface LockHolder {
  pid: number;
  /** When it took the lock (ISO 8601). */
  startedAt: string;
  /** Its command line: the live one from /proc/PID/cmdline where readable, else the one it recorded. */
  command: string;
  /**
   * Where its PID means something: the boot, PID namespace and host name
   * ({@link ownPlace}). A holder elsewhere (another container sharing the
   * volume) cannot be checked by PID; its heartbeat tells instead.
   */
  place?: string;
}

/** Thrown by {@link acquireFolderLock} when a live process holds the folder. */
export class FolderLocked extends Error {
  override name = 'FolderLocked';

  constructor(
    readonly folder: string,
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${folder} is in use by process ${holder.pid} (${holder.command})${holder.place && holder.place !== here ? ` on ${holder.place.split(' ')[0]} (another container or host)` : ''} since ${holder.startedAt}: only one process may open it at a time. ` +
        `Stop that process first; if it is not a sessionql process, delete ${lockFile}.`,
    );
  }
}

/** How often a holder refreshes its lock file's time, and how long a lock held elsewhere may go without it before it is stale. */
const HEARTBEAT_MS = 1000;
const SILENT_MS = 10_000;

/**
 * Where this process's PID means something: the boot, the PID namespace
 * (each container has its own, where node is often PID 1) and the host
 * name. Processes in one place can check each other by PID.
 */
function ownPlace(): string {
  const read = (get: () => string) => {
    try {
      return get().trim();
    } catch {
      return '';
    }
  };
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const namespace = read(() => readlinkSync('/proc/self/ns/pid'));
  return `${hostname()} ${namespace} ${boot}`.trim();
}
const here = ownPlace();

export interface FolderLock {
  /** `<folder>.lock`, beside the folder (not inside it). */
  readonly file: string;
  /** Deletes the lock file if it is still ours; idempotent. Also runs synchronously at process exit. */
  release(): void;
}

/** Lock files this process holds, shared by every copy of this module (bundled and not). */
const registry = globalThis as { [key: symbol]: Set<string> | undefined };
const heldKey = Symbol.for('sessionql.folderLocks');
registry[heldKey] ??= new Set<string>();
const heldHere = registry[heldKey];

/**
 * Takes an exclusive lock on `folder` (Node has no flock): the file
 * `<folder>.lock`, holding JSON `{pid, startedAt, command}`. It is written
 * whole to a temporary file first (`wx`) and published with link(2), which
 * like O_EXCL fails when the name exists, so no process ever reads a half
 * written lock. A lock whose process is gone (kill(pid, 0) → ESRCH) is stale
 * and taken over; see {@link removeStale} for racing takers.
 * @throws FolderLocked when a live process holds it, naming that process.
 */
export function acquireFolderLock(folder: string): FolderLock {
  const dir = path.resolve(folder);
  const file = `${dir}.lock`;
  const content = `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), command: ownCommand(), place: here })}\n`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (publish(file, content)) return hold(file, content);
    const current = readLock(file);
    if (current === null) continue; // released between our link and our read
    if (current.holder && !isStale(file, current.holder)) throw new FolderLocked(dir, file, describe(current.holder));
    removeStale(file, current.raw);
  }
  throw new Error(`could not lock ${dir}: ${file} kept changing (other processes racing for it)`);
}

function hold(file: string, content: string): FolderLock {
  heldHere.add(file);
  let released = false;
  // The heartbeat: a process elsewhere (another container on the same volume) cannot see this PID, only the file's time.
  const beat = setInterval(() => {
    try {
      if (readFileSync(file, 'utf8') === content) utimesSync(file, new Date(), new Date());
    } catch {}
  }, HEARTBEAT_MS);
  beat.unref();
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    heldHere.delete(file);
    process.off('exit', release);
    try {
      if (readFileSync(file, 'utf8') === content) unlinkSync(file);
    } catch {}
  };
  process.on('exit', release);
  return { file, release };
}

/** Creates `file` with `content` if no file has that name: true when it did. */
function publish(file: string, content: string): boolean {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, content, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/** The lock file's text and, when it parses, its holder; null when there is no file. */
function readLock(file: string): { raw: string; holder?: LockHolder } | null {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<LockHolder>;
    if (Number.isInteger(parsed.pid) && (parsed.pid as number) > 0) {
      const place = typeof parsed.place === 'string' ? { place: parsed.place } : {};
      return { raw, holder: { pid: parsed.pid as number, startedAt: String(parsed.startedAt), command: String(parsed.command), ...place } };
    }
  } catch {}
  return { raw }; // unreadable: never written by a holder (it publishes whole files), so stale
}

/**
 * A holder is stale when its process is gone. Its PID may be ours when the
 * previous holder had the same PID (PID 1 in a restarted container): then it
 * is stale unless this process holds the lock. A holder elsewhere (another
 * PID namespace, boot or host: its PID says nothing here) is stale once its
 * heartbeat has stopped: this waits until the file's time moves (alive) or
 * SILENT_MS have passed since it last did.
 */
function isStale(file: string, holder: LockHolder): boolean {
  if (holder.place !== undefined && holder.place !== here) {
    const seen = mtimeMs(file);
    for (;;) {
      const now = mtimeMs(file);
      if (now === null) return true; // released meanwhile
      if (now !== seen) return false;
      if (Date.now() - now > SILENT_MS) return true;
      sleep(100);
    }
  }
  if (holder.pid === process.pid) return !heldHere.has(file);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * Deletes the stale lock file whose text is `raw`. Several processes may find
 * the same stale lock; if one deleted it and another published a fresh lock
 * meanwhile, a blind delete would remove a live lock. So takers first take
 * `<lock>.takeover` (published the same exclusive way, held for a few system
 * calls) and delete the lock only if it still reads `raw`: only a holder's own
 * release or a verified stale delete ever removes a lock file.
 */
function removeStale(file: string, raw: string): void {
  const guard = `${file}.takeover`;
  const guardContent = `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), command: 'takeover', place: here })}\n`;
  if (!publish(guard, guardContent)) {
    // Another taker is at it; a guard left by a taker that died there is removed after a second.
    const other = readLock(guard);
    if (other && (!other.holder || isStale(guard, other.holder)) && ageMs(guard) > 1000) moveAsideIfSame(guard, other.raw);
    sleep(5);
    return;
  }
  try {
    if (readLock(file)?.raw === raw) unlinkSync(file);
  } finally {
    unlinkSync(guard);
  }
}

/** Renames `file` away and deletes it if it still read `raw`; puts it back otherwise. */
function moveAsideIfSame(file: string, raw: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return;
  }
  if (readFileSync(aside, 'utf8') !== raw) {
    try {
      linkSync(aside, file);
    } catch {}
  }
  unlinkSync(aside);
}

function mtimeMs(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function ownCommand(): string {
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)].join(' ');
}

/** The holder, with its live command line where the system shows it (Linux). */
function describe(holder: LockHolder): LockHolder {
  let command = holder.command;
  // Elsewhere, that PID is another process here.
  if (holder.place === undefined || holder.place === here)
    try {
      const live = readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8');
      if (live) command = live;
    } catch {}
  command = command.replace(/[\0\s]+/g, ' ').trim();
  return { ...holder, command: command.length > 300 ? `${command.slice(0, 297)}...` : command };
}
