// Process accounting from /proc (Linux): process trees, their resident memory
// and CPU ticks, and the whole machine's busy time. Same arithmetic as the
// peers' cpu.sh, so figures compare with the peers' published ones.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const getconf = (name, fallback) => {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
};
/** Clock ticks per second (CLK_TCK). */
export const HZ = getconf('CLK_TCK', 100);
const PAGE = getconf('PAGESIZE', 4096);

/** Fields of /proc/PID/stat from field 3 (state) on, or null when the process is gone. */
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** PIDs of the trees rooted at the given PIDs (roots first, live descendants included). */
export function treePids(...roots) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = stat(name);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const walk = (pid) => {
    out.push(pid);
    for (const c of children.get(pid) || []) walk(c);
  };
  for (const r of roots) if (r) walk(r);
  return out;
}

/** utime + stime + cutime + cstime (clock ticks) summed over PIDs. */
export function ticks(pids) {
  let total = 0;
  for (const pid of pids) {
    const f = stat(pid);
    if (f) total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return total;
}

/** Resident set size in bytes summed over PIDs (shared pages count once per process). */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
    } catch {}
  }
  return total;
}

/** Busy ticks of the whole machine, all cores (user nice system irq softirq steal). */
export function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return f[1] + f[2] + f[3] + f[6] + f[7] + f[8];
}

/**
 * Loop iterations per millisecond of one core right now (best of three 50 ms
 * tries): the machine's speed as this process sees it. A VM whose host
 * throttles it (CPU credits, frequency) shows it here while /proc looks idle.
 */
export function cpuSpeed() {
  let best = 0;
  let x = 1;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 50) {
      for (let i = 0; i < 10_000; i++) x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
      n++;
    }
    best = Math.max(best, n / (performance.now() - t0));
  }
  return x === 0.5 ? 0 : best; // (x used, so the loop is not optimised away)
}

export const loadavg1 = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

export const alive = (pid) => stat(pid) !== null && stat(pid)[0] !== 'Z';

/**
 * Samples the RSS of the tree rooted at pid every intervalMs until stop()
 * (the tree is rescanned every second: cluster and gunicorn workers).
 * stop() → { maxMb, meanMb, samples }.
 */
export function sampleRss(pid, intervalMs = 200) {
  let pids = treePids(pid);
  let scanned = Date.now();
  const values = [];
  const take = () => {
    if (Date.now() - scanned > 1000) {
      pids = treePids(pid);
      scanned = Date.now();
    }
    const v = rssBytes(pids);
    if (v > 0) values.push(v);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;
      return {
        maxMb: values.length ? mb(Math.max(...values)) : null,
        meanMb: values.length ? mb(values.reduce((a, b) => a + b, 0) / values.length) : null,
        samples: values.length,
      };
    },
  };
}
