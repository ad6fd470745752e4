// What REDIS_WAIT_REPLICAS=1 costs: the server on a Redis Cluster of its own
// (scripts/redis.sh, a fresh folder under $TMPDIR, ports from 52001), built
// as `npm start` runs it (into bench/.work/redis-wait/, beside node_modules), once
// with WAIT off and once with WAIT=1, interleaved over the reps; each run is
// CONCURRENCY visitors, each its own session, writing one key as fast as the
// server answers for SECONDS. Prints writes/s and latency per run and the
// medians; nothing is saved.
//
//   node bench/redis-wait.mjs [--reps 3] [--seconds 8] [--concurrency 32]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFlags } from '../scripts/lib.mjs';

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '32' },
  },
});
const [REPS, SECONDS, CONCURRENCY] = [Number(opts.reps), Number(opts.seconds), Number(opts.concurrency)];
const repo = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sessionql-bench-wait-'));
const env = { ...process.env, SESSIONQL_REDIS_DIR: path.join(dir, 'redis'), SESSIONQL_REDIS_CLUSTER_PORT: '52001' };
const bundle = path.join(repo, 'bench/.work/redis-wait/main.mjs');
const redis = (cmd) => execFileSync(path.join(repo, 'scripts/redis.sh'), [cmd], { env, encoding: 'utf8' }).trim().split('\n').at(-1);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startServer(nodes, wait) {
  const port = await freePort();
  const child = spawn(process.execPath, [...startFlags(repo), bundle], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      SESSION_SECRET: 'bench-secret-0123456789-0123456789-abcdefgh',
      SESSION_ENGINE: 'cache',
      REDIS_CLUSTER_NODES: nodes,
      REDIS_WAIT_REPLICAS: String(wait),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
  });
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url: `http://127.0.0.1:${port}/graphql` };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not become ready');
}

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });

async function load(url, seconds = SECONDS) {
  const body = (i) =>
    JSON.stringify({ query: 'mutation($v: JSON) { setSessionValue(key: "n", value: $v) { exists } }', variables: { v: i } });
  const latencies = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      let cookie = '';
      for (let i = 0; Date.now() < end; i++) {
        const t = performance.now();
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: body(i) });
        const text = await r.text();
        const set = r.headers.get('set-cookie');
        if (set) cookie = set.split(';')[0];
        if (r.status === 200 && !text.includes('"errors"')) latencies.push(performance.now() - t);
        else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]?.toFixed(1);
  return { writesPerSecond: Math.round(latencies.length / seconds), p50: Number(at(50)), p99: Number(at(99)), errors };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  execFileSync(process.execPath, ['scripts/build.mjs', `--outfile=${bundle}`], { cwd: repo, stdio: 'inherit' });
  const nodes = redis('cluster-start');
  console.log(`cluster ${nodes}; ${REPS} reps × (WAIT off, WAIT=1), ${CONCURRENCY} visitors, ${SECONDS} s each`);
  const results = { 0: [], 1: [] };
  for (let rep = 0; rep < REPS; rep++) {
    for (const wait of rep % 2 ? [1, 0] : [0, 1]) {
      const server = await startServer(nodes, wait);
      await load(server.url, 3); // warm-up (JIT, connections), not counted
      const r = await load(server.url);
      await stop(server.child);
      results[wait].push(r);
      console.log(`rep ${rep + 1} WAIT=${wait}: ${JSON.stringify(r)}`);
    }
  }
  const ratios = results[1].map((r, i) => r.writesPerSecond / results[0][i].writesPerSecond);
  console.log(`WAIT=1 ÷ WAIT off, writes/s per rep: ${ratios.map((x) => x.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(2)})`);
  for (const wait of [0, 1]) {
    const rs = results[wait];
    console.log(
      `WAIT=${wait} median: ${Math.round(median(rs.map((r) => r.writesPerSecond)))} writes/s, p50 ${median(rs.map((r) => r.p50)).toFixed(1)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(1)} ms, errors ${rs.reduce((n, r) => n + r.errors, 0)}`,
    );
  }
} finally {
  try {
    redis('cluster-stop');
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}
