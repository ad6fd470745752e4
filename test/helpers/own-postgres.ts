import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, repoRoot } from './process.js';

export const postgresBinariesPresent = existsSync('/usr/lib/postgresql/15/bin/pg_ctl');

/**
 * A PostgreSQL 15 cluster of the test's own (scripts/pg.sh), which the test
 * may stop, restart, freeze and thaw: database faults without mocks.
 */
export async function ownPostgres() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-fault-pg-'));
  chmodSync(dir, 0o755); // the cluster runs as the postgres user
  const env = { ...process.env, SESSIONQL_PGDATA: path.join(dir, 'data'), SESSIONQL_PGPORT: String(await freePort()) };
  const pg = (command: string) =>
    execFileSync(path.join(repoRoot, 'scripts/pg.sh'), [command], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const url = pg('start').split('\n').pop()!;
  const pids = () => {
    const postmaster = readFileSync(path.join(env.SESSIONQL_PGDATA, 'postmaster.pid'), 'utf8').split('\n')[0]!;
    const children = execFileSync('pgrep', ['-P', postmaster], { encoding: 'utf8' }).split('\n').filter(Boolean);
    return [postmaster, ...children].map(Number);
  };
  let frozen: number[] = [];
  return {
    url,
    stop: () => void pg('stop'),
    start: () => void pg('start'),
    /** SIGSTOP: the server accepts nothing and answers nothing (a hung database). */
    freeze: () => {
      frozen = pids().filter((pid) => signal(pid, 'SIGSTOP'));
    },
    thaw: () => {
      for (const pid of frozen) signal(pid, 'SIGCONT');
      frozen = [];
    },
    remove: () => {
      try {
        pg('stop');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends `name` to `pid`; false when the process has exited meanwhile (a backend that ended after it was listed). */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
