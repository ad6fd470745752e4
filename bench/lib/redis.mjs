// The Redis of the Redis targets, project and peers alike: the servers given
// (--redis-url, --redis-cluster), or our own from scripts/redis.sh (a single
// server, a 6-node cluster) in a fresh folder under $TMPDIR on ports of their
// own, so that neither the tests' servers (scripts/redis.sh's defaults) nor
// the peers' (../shared/peers/redis.sh) are touched; stopped and removed at
// the end by the same script. Also the PIDs of every server, for redis_cpu_s.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** Preferred ports: neither scripts/redis.sh's (56380, 54001…) nor the peers' (56379, 57001…); the cluster ≤ 55535. */
const SINGLE_PORT = '56390';
const CLUSTER_PORT = '53001'; // 53001-53006, bus 63001-63006

/**
 * Brings up what `need` ({ single, cluster }) asks for and fills `state` (the
 * caller's, so that a start that fails half-way is still stopped by
 * stopRedis / stopRedisNow): { single: { url, pids, ours }, cluster: { nodes, pids, ours } }.
 * `run(cmd, args, opts)` is the caller's runCapture (children tracked, time-bounded).
 */
export async function startRedis(state, { repo, need, url, clusterNodes, run, log }) {
  Object.assign(state, { dir: null, env: null, script: path.join(repo, 'scripts', 'redis.sh'), started: [] });
  const own = (need.single && !url) || (need.cluster && !clusterNodes);
  if (own) {
    state.dir = mkdtempSync(path.join(os.tmpdir(), 'sessionql-bench-redis-'));
    state.env = {
      ...process.env,
      SESSIONQL_REDIS_DIR: state.dir,
      SESSIONQL_REDIS_PORT: SINGLE_PORT,
      SESSIONQL_REDIS_CLUSTER_PORT: CLUSTER_PORT,
    };
  }
  const script = async (cmd) => {
    state.started.push(cmd); // before it returns: a half-started cluster is stopped too
    const r = await run('bash', [state.script, cmd], { env: state.env, timeoutMs: 120_000, detached: true });
    const last = r.out.trim().split('\n').pop() || '';
    if (r.code !== 0 || !last) throw new Error(`scripts/redis.sh ${cmd} failed: ${r.err.trim().split('\n').slice(-8).join('\n')}`);
    return last;
  };
  if (need.single) {
    const ours = !url;
    const u = url ?? (await script('start'));
    state.single = { url: u, ours, pids: await pidsOf([hostPort(u)], u) };
    log(`redis: ${ours ? 'started' : 'using'} ${u} (pid ${state.single.pids.join(', ') || 'unknown: no redis_cpu_s'})`);
  }
  if (need.cluster) {
    const ours = !clusterNodes;
    const nodes = clusterNodes ?? (await script('cluster-start'));
    const all = await clusterMembers(nodes.split(',')[0]);
    state.cluster = { nodes, ours, pids: await pidsOf(all) };
    log(
      `redis: ${ours ? 'started' : 'using'} the cluster ${nodes} (${all.length} nodes, pids ${state.cluster.pids.join(', ') || 'unknown'})`,
    );
  }
}

/** Stops the servers we started (scripts/redis.sh stop / cluster-stop, then their PIDs) and removes their folder. */
export async function stopRedis(state, run) {
  if (!state?.dir) return;
  for (const cmd of stopCommands(state)) await run('bash', [state.script, cmd], { env: state.env, timeoutMs: 60_000, detached: true });
  finish(state);
}

/** The same, synchronously (process 'exit'). */
export function stopRedisNow(state) {
  if (!state?.dir) return;
  for (const cmd of stopCommands(state)) spawnSync('bash', [state.script, cmd], { env: state.env, stdio: 'ignore', timeout: 30_000 });
  finish(state);
}

const stopCommands = (state) => [
  ...(state.started.includes('start') ? ['stop'] : []),
  ...(state.started.includes('cluster-start') ? ['cluster-stop'] : []),
];
function finish(state) {
  // A server the script could not shut down: by the PID in its pidfile, if that process still works in our folder.
  const pidfiles = [path.join(state.dir, 'single', 'redis.pid')];
  try {
    for (const node of readdirSync(path.join(state.dir, 'cluster'))) pidfiles.push(path.join(state.dir, 'cluster', node, 'redis.pid'));
  } catch {}
  for (const file of pidfiles) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0 && readlinkSync(`/proc/${pid}/cwd`).startsWith(state.dir)) process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(state.dir, { recursive: true, force: true });
  state.dir = null;
}

/** The PIDs of the Redis servers a target uses ([] when none or unknown). */
export const redisPids = (state, kind) => (kind ? (state?.[kind]?.pids ?? []) : []);

const hostPort = (u) => {
  const x = new URL(u);
  return `${x.hostname}:${x.port || 6379}`;
};

/** Every node's host:port, from CLUSTER NODES of one of them. */
async function clusterMembers(first) {
  const text = await ask(first, (r) => r.cluster('NODES'));
  return text
    .split('\n')
    .map((l) => l.split(' ')[1]?.split('@')[0])
    .filter(Boolean)
    .map((a) => (a.startsWith(':') ? `${first.split(':')[0]}${a}` : a));
}

/** process_id of each server that runs on this machine (INFO server; a remote one has none here). */
async function pidsOf(addresses, url) {
  const pids = [];
  for (const a of addresses) {
    const host = a.slice(0, a.lastIndexOf(':'));
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) continue;
    const info = await ask(url ?? a, (r) => r.info('server')).catch(() => '');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    try {
      if (pid && /redis-server/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) pids.push(pid);
    } catch {}
  }
  return pids;
}

/** One command on a fresh connection to a URL or host:port. */
async function ask(target, fn) {
  const opts = { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null };
  const r = target.includes('://')
    ? new Redis(target, opts)
    : new Redis({ ...opts, host: target.slice(0, target.lastIndexOf(':')), port: Number(target.slice(target.lastIndexOf(':') + 1)) });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}
