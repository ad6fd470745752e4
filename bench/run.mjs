#!/usr/bin/env node
// npm run bench [-- options]: the project against its peers (Django, express-session,
// the floor) on one PostgreSQL, interleaved, with the issue's targets as PASS/FAIL;
// with --redis, the project on Redis against the peers on Redis (issue 12).
// See bench/README.md. Options:
//   --reps N            repetitions of every target × mix (default 3)
//   --duration S        measured seconds per run (default 10)
//   --write-duration S  measured seconds per write-only run (default 5, at most --duration):
//                       keeps loadgen's 50 carts under the contract's 999 per line
//   --connections C     concurrent connections = sessions per run (default 50)
//   --warmup S          unmeasured 80/20 seconds per server after start (default 5)
//   --targets a,b,...   default project,project-apollo,project-urql,project-urql-post,project-get,project-pglite,
//                       django,express,express-notouch,express-cluster2,floor,floor-fixed; project-<client>: the
//                       same server loaded with a real client's requests (bench/profiles.json)
//   --redis             the Redis comparison: default targets project-cache,project-cache-cluster,project-cached-db,
//                       express-redis,express-redis-notouch,express-redis-cluster,django-cache,django-cached-db,
//                       floor-redis,floor-redis-cluster (--targets still wins); Redis targets mix with the others freely
//   --redis-url URL     a Redis for the Redis targets (default: our own from scripts/redis.sh, stopped at the end)
//   --redis-cluster H:P,...  a Redis Cluster for the *-cluster targets (default: our own 6 nodes, the same way)
//   --mixes 1,0,0.8     read ratios (or read,write,mix); default all three
//   --quick             1 rep, 5 s runs, 3 s warm-up (development)
//   --lost-updates      also run lost-updates.mjs against every target (--lost-repeat N, default 3)
//   --scale             also the project-only scale checks: 10k vs 1M rows, sessions:clear under load
//   --scale-rows N      rows for the large table and expired rows for the clear (default 1,000,000)
//   --no-load           skip the comparison runs (e.g. --no-load --scale)
//   --project-run HOW   start: the project as `npm start` runs it (the esbuild bundle, built into
//                       bench/.work/dist), the default; tsx: node --import tsx src/server/main.ts
//   --quiet-wait S      before each run, wait up to S s (default 15, quick 5; 0 = off; 10 min in all) for the rest
//   --quiet-cores X     of the machine to use ≤ X cores (default 0.3) over one second
//   --peers DIR         the peers' folder (default ../shared/peers from the repo root)
//   --out DIR           results folder (default bench/results)
//   --report FILE.json  only print (and rewrite the .md of) a saved run's report
// DATABASE_URL set: that server is used (the bench databases on it are dropped and
// recreated); unset: a fresh cluster from scripts/pg.sh, stopped and removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { makeFixedFloor, missingParts, runSetup, syncPeers } from './lib/peers.mjs';
import { alive, cpuSpeed, HZ, loadavg1, machineBusy, sampleRss, ticks, treePids } from './lib/procfs.mjs';
import { redisPids, startRedis, stopRedis, stopRedisNow } from './lib/redis.mjs';
import {
  clientRows,
  clientVerdicts,
  fmt,
  lostRows,
  lostVerdicts,
  median,
  mixName,
  othersCores,
  renderMarkdown,
  renderText,
  renderVerdicts,
  summarize,
  tableRows,
  verdicts,
} from './lib/report.mjs';
import { freePort, killAllNow, startProcess, stopAll, stopProcess, tail, waitHttp } from './lib/servers.mjs';
import { DEFAULT_TARGETS, PROJECT, REDIS_TARGETS, TARGET_DEFS } from './lib/targets.mjs';
import { startTimelineLoad, windowStats } from './lib/timeline-load.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(REPO, 'bench', '.work');
const CLIENT_PROFILES = path.join(REPO, 'bench', 'profiles.json'); // written by bench/make-profiles.mjs

// --- options -------------------------------------------------------------------
const { values: o } = parseArgs({
  options: {
    reps: { type: 'string' },
    duration: { type: 'string' },
    'write-duration': { type: 'string' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string' },
    targets: { type: 'string' },
    redis: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    'redis-cluster': { type: 'string' },
    mixes: { type: 'string', default: '1,0,0.8' },
    quick: { type: 'boolean', default: false },
    'lost-updates': { type: 'boolean', default: false },
    'lost-repeat': { type: 'string', default: '3' },
    scale: { type: 'boolean', default: false },
    'scale-rows': { type: 'string', default: '1000000' },
    'no-load': { type: 'boolean', default: false },
    'project-run': { type: 'string', default: 'start' },
    'quiet-wait': { type: 'string' },
    'quiet-cores': { type: 'string', default: '0.3' },
    peers: { type: 'string', default: process.env.PEERS_DIR || path.join(REPO, '..', 'shared', 'peers') },
    out: { type: 'string', default: path.join(REPO, 'bench', 'results') },
    report: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  const head = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  head.length = head.findIndex((l) => !l.startsWith('//'));
  console.log(head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const num = (v, name, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    console.error(`bench: --${name} must be a number ≥ ${min}`);
    process.exit(2);
  }
  return n;
};
const REPS = num(o.reps ?? (o.quick ? 1 : 3), 'reps', 1);
const DURATION = num(o.duration ?? (o.quick ? 5 : 10), 'duration', 1);
// Write-only runs are shorter: loadgen adds SKU A to the same 50 sessions, and
// the contract refuses a line past 999, so at 7,000 writes/s a 10 s run spends
// its last seconds on refusals (cheaper than writes). 5 s keeps every session
// under the cap up to ~9,900 writes/s, for every target alike.
const WRITE_DURATION = num(o['write-duration'] ?? Math.min(DURATION, 5), 'write-duration', 1);
/** Measured seconds of a run of this mix. */
const runSeconds = (readRatio) => (readRatio === 0 ? WRITE_DURATION : DURATION);
const WARMUP = num(o.warmup ?? (o.quick ? 3 : 5), 'warmup', 0);
const CONNECTIONS = num(o.connections, 'connections', 1);
const LOST_REPEAT = num(o['lost-repeat'], 'lost-repeat', 1);
const SCALE_ROWS = num(o['scale-rows'], 'scale-rows', 20_000);
const QUIET_WAIT = num(o['quiet-wait'] ?? (o.quick ? 5 : 15), 'quiet-wait', 0);
const QUIET_CORES = num(o['quiet-cores'], 'quiet-cores', 0);
const MIX_NAMES = { read: 1, 'read-only': 1, write: 0, 'write-only': 0, mix: 0.8, '80/20': 0.8 };
const MIXES = o.mixes
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => (s in MIX_NAMES ? MIX_NAMES[s] : num(s, 'mixes')))
  .filter((r) => r <= 1);

const LOAD_TARGETS = [
  ...new Set(
    (o.targets ?? (o.redis ? REDIS_TARGETS : DEFAULT_TARGETS).join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
];
for (const t of LOAD_TARGETS) {
  if (!TARGET_DEFS[t]) {
    console.error(`bench: unknown target ${t} (known: ${Object.keys(TARGET_DEFS).join(', ')})`);
    process.exit(2);
  }
}
if (o['redis-url'] && !/^rediss?:\/\/\S+$/.test(o['redis-url'])) {
  console.error('bench: --redis-url must be a redis:// URL');
  process.exit(2);
}
if (o['redis-cluster'] && !/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/.test(o['redis-cluster'])) {
  console.error('bench: --redis-cluster must be host:port,host:port,...');
  process.exit(2);
}
if (!['start', 'tsx'].includes(o['project-run'])) {
  console.error('bench: --project-run must be start or tsx');
  process.exit(2);
}
/** Progress lines align on the longest target name (at least 17). */
const NAME_WIDTH = Math.max(17, ...LOAD_TARGETS.map((t) => t.length));
const DO_LOAD = !o['no-load'] && MIXES.length > 0;
const DO_LOST = o['lost-updates'];
const DO_SCALE = o.scale;
if (!o.report && !DO_LOAD && !DO_LOST && !DO_SCALE) {
  console.error('bench: nothing to do (--no-load without --lost-updates or --scale)');
  process.exit(2);
}
const START = [...new Set([...(DO_LOAD || DO_LOST ? LOAD_TARGETS : []), ...(DO_SCALE ? [PROJECT] : [])])];

// --- bookkeeping, cleanup ---------------------------------------------------------
const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const startedAt = new Date();
const STAMP = startedAt
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, 'Z');
const LOG_DIR = path.join(WORK, 'logs', STAMP);
const PEERS = path.join(WORK, 'peers');
const JSON_OUT = path.join(o.out, `${STAMP}.json`);
const MD_OUT = path.join(o.out, `${STAMP}.md`);
const result = {
  meta: {},
  targets: {},
  warmup: [],
  runs: [],
  lost_updates: [],
  scale: null,
  summary: null,
  verdicts: null,
  client_verdicts: null,
  complete: false,
};
const save = () => {
  mkdirSync(o.out, { recursive: true });
  writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 1)}\n`);
};

const children = new Set(); // loadgen, lost-updates, pg.sh, sessions:clear
const tempDirs = [];
let pg = null; // { url, ours, dataDir, env, pid, stopped }
let redis = null; // lib/redis.mjs's state: { single: { url, pids, ours }, cluster: { nodes, pids, ours } }
let bench = null; // admin connection
let cleaning = null;
let stopping = false; // a signal came: no new runs
class Interrupted extends Error {}
const checkStop = () => {
  if (stopping) throw new Interrupted('interrupted');
};

/**
 * One bench at a time on this machine (the cores are what is measured): a
 * lock file in the temp folder; a live holder is waited for, at most 60 min.
 */
const LOCK = path.join(os.tmpdir(), 'sessionql-bench.lock');
let haveLock = false;
async function takeLock() {
  const deadline = Date.now() + 60 * 60_000;
  let told = false;
  for (;;) {
    checkStop();
    try {
      writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      haveLock = true;
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(LOCK, 'utf8').trim());
    const running =
      holder > 0 && holder !== process.pid && alive(holder) && /run\.mjs/.test(readFileSync(`/proc/${holder}/cmdline`, 'utf8'));
    if (!running) {
      rmSync(LOCK, { force: true }); // a stale lock
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another bench (pid ${holder}) has been running for over an hour; ${LOCK}`);
    if (!told) log(`bench: another bench is running (pid ${holder}); waiting for it to finish (${LOCK})`);
    told = true;
    await sleep(5000);
  }
}
const releaseLock = () => {
  if (!haveLock) return;
  haveLock = false;
  try {
    if (Number(readFileSync(LOCK, 'utf8').trim()) === process.pid) rmSync(LOCK, { force: true });
  } catch {}
};

function pgShell(cmd) {
  return runCapture('bash', [path.join(REPO, 'scripts', 'pg.sh'), cmd], { env: pg.env, timeoutMs: 300_000, detached: true });
}
function cleanup() {
  cleaning ??= (async () => {
    for (const c of children) killTree(c);
    await stopAll();
    await stopRedis(redis, runCapture);
    if (bench && !pg?.ours) {
      // Someone else's server: leave none of the bench databases (1M+ rows) behind.
      for (const name of createdDbs) await bench.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    }
    if (bench) await bench.end({ timeout: 5 }).catch(() => {});
    if (pg?.ours && !pg.stopped) {
      const r = await pgShell('stop');
      if (r.code !== 0) log(`bench: scripts/pg.sh stop failed: ${r.err.trim()}`);
      pg.stopped = true;
      rmSync(pg.dataDir, { recursive: true, force: true });
    }
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    releaseLock();
  })();
  return cleaning;
}
process.on('exit', () => {
  releaseLock();
  killAllNow();
  for (const c of children) killTree(c);
  stopRedisNow(redis);
  if (pg?.ours && !pg.stopped) {
    spawnSync('bash', [path.join(REPO, 'scripts', 'pg.sh'), 'stop'], { env: pg.env, stdio: 'ignore', timeout: 60_000 });
    rmSync(pg.dataDir, { recursive: true, force: true });
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, async () => {
    log(`\nbench: ${sig}: stopping servers, PostgreSQL and Redis`);
    stopping = true;
    result.interrupted = sig;
    try {
      save();
    } catch {}
    await cleanup();
    process.exit(130);
  });
}

function killTree(child) {
  try {
    process.kill(child.detachedGroup ? -child.pid : child.pid, 'SIGKILL');
  } catch {}
}

/** Runs a command to completion (or timeoutMs, then SIGKILL): { code, signal, out, err, timedOut, ms }. */
function runCapture(cmd, args, { cwd = REPO, env = process.env, timeoutMs, detached = false } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
    child.detachedGroup = detached;
    children.add(child);
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, timeoutMs);
    const done = (code, signal, error) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, out, err: error ? `${err}${error.message}` : err, timedOut, ms: performance.now() - t0 });
    };
    child.once('error', (e) => done(null, null, e));
    child.once('close', (code, signal) => done(code, signal));
  });
}

/** redis-server's version (the binary scripts/redis.sh runs; --redis-url's may differ). */
const redisVersion = () => /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout || '')?.[1] ?? null;
const git = (...args) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout?.trim() || null;
const dbUrl = (name) => {
  const u = new URL(pg.url);
  u.pathname = `/${name}`;
  return u.toString();
};

// --- PostgreSQL -------------------------------------------------------------------
async function startPostgres() {
  if (process.env.DATABASE_URL) {
    pg = { url: process.env.DATABASE_URL, ours: false };
    log(`postgres: using DATABASE_URL's server (${new URL(pg.url).host})`);
  } else {
    const dataDir = path.join(os.tmpdir(), `sessionql-bench-pg.${process.pid}`);
    rmSync(dataDir, { recursive: true, force: true });
    pg = {
      ours: true,
      dataDir,
      env: { ...process.env, SESSIONQL_PGDATA: dataDir, SESSIONQL_PGPORT: process.env.SESSIONQL_PGPORT || '55470' },
    };
    log(`postgres: starting a fresh cluster in ${dataDir} (scripts/pg.sh)`);
    const r = await pgShell('start');
    const url = r.out.trim().split('\n').pop();
    if (r.code !== 0 || !/^postgres/.test(url || '')) {
      pg.stopped = r.code !== 0 && !existsSync(path.join(dataDir, 'postmaster.pid'));
      throw new Error(`scripts/pg.sh start failed: ${r.err.trim().split('\n').slice(-10).join('\n')}`);
    }
    pg.url = url;
  }
  bench = postgres(pg.url, { max: 1, onnotice() {}, connection: { application_name: 'sessionql-bench' } });
  const [{ server_version: version }] = await bench`SHOW server_version`;
  pg.version = version;
  try {
    const [{ setting }] = await bench`SELECT setting FROM pg_settings WHERE name = 'data_directory'`;
    pg.pid = Number(readFileSync(path.join(setting, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    pg.pid = null; // another machine or no access: no PostgreSQL CPU figures
  }
}

const createdDbs = [];
async function createDatabases(names) {
  for (const name of names) {
    createdDbs.push(name);
    await bench.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await bench.unsafe(`CREATE DATABASE "${name}"`);
  }
}

/**
 * The project as `npm start` runs it: package.json's build script (esbuild)
 * with its --outfile moved to bench/.work/dist (dist/ belongs to whoever runs
 * npm start in this tree), then start's node flags on that file. Null (→ tsx)
 * when the scripts do not look like that or the build fails.
 */
let projectBundle = null;
async function buildProject() {
  if (o['project-run'] !== 'start') return null;
  const { scripts = {} } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const outfile = /--outfile=(\S+)/.exec(scripts.build || '')?.[1];
  // `exec node …`: npm's shell replaced by node, so a SIGTERM to npm reaches it.
  const start = /^(?:exec\s+)?node((?:\s+--[\w-]+(?:=\S+)?)*)\s+(\S+)$/.exec((scripts.start || '').trim());
  if (!outfile || !start || path.normalize(start[2]) !== path.normalize(outfile)) {
    log('project: package.json has no esbuild build + `node FILE` start; running it with tsx');
    return null;
  }
  const ours = path.join(WORK, 'dist', 'main.mjs');
  const cmd = scripts.build.replace(/--outfile=\S+/, `--outfile=${ours}`);
  const env = { ...process.env, PATH: `${path.join(REPO, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` };
  const r = await runCapture('sh', ['-c', cmd], { env, timeoutMs: 180_000 });
  if (r.code !== 0) {
    log(`project: build failed (${(r.err || r.out).trim().split('\n').slice(-3).join(' ')}); running it with tsx`);
    return null;
  }
  const flags = start[1].trim().split(/\s+/).filter(Boolean);
  log(
    `project: built ${path.relative(REPO, ours)} (npm run build, own outfile); run as node ${[...flags, path.relative(REPO, ours)].join(' ')}`,
  );
  return { args: [...flags, ours], shown: `node ${[...flags, path.relative(REPO, ours)].join(' ')} (npm start's bundle)` };
}

// --- targets --------------------------------------------------------------------------
const SECRET = randomBytes(36).toString('base64url'); // 48 characters
const targets = new Map(); // name → { name, port, url, profile, handle, ok, error }

function cleanEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(SESSION_|SESSIONQL_|REDIS_|DJANGO_|GUNICORN_)/.test(k)) delete env[k];
  for (const k of ['DATABASE_URL', 'PORT', 'HOST', 'NODE_ENV', 'WORKERS', 'DISABLE_TOUCH', 'PG_POOL_MAX', 'STORE']) delete env[k];
  return env;
}

/** The Redis variables of a target: REDIS_URL, or the cluster (REDIS_CLUSTER_NODES for the project, REDIS_CLUSTER for the peers). */
function redisEnv(def) {
  if (def.redis === 'single') return { REDIS_URL: redis.single.url };
  if (def.redis === 'cluster') return { [def.project ? 'REDIS_CLUSTER_NODES' : 'REDIS_CLUSTER']: redis.cluster.nodes };
  return {};
}

/** Starts a target (or restarts `t` in place, on a new port). */
async function startTarget(name, t = { name, restarts: [] }) {
  const def = TARGET_DEFS[name];
  const port = await freePort();
  Object.assign(t, {
    port,
    url: `http://127.0.0.1:${port}`,
    profile: def.profile ?? (def.project ? 'graphql' : 'peers'),
    profiles: def.profile ? CLIENT_PROFILES : null, // null: loadgen's own profiles.json
    ok: false,
    error: null,
  });
  targets.set(name, t);
  let cmd;
  let args;
  let cwd;
  const env = cleanEnv();
  if (def.project) {
    const run =
      def.tsx || !projectBundle
        ? { args: ['--import', 'tsx', 'src/server/main.ts'], shown: 'node --import tsx src/server/main.ts' }
        : projectBundle;
    cmd = process.execPath;
    args = run.args;
    t.shown = run.shown;
    cwd = REPO;
    Object.assign(env, def.env || {}, redisEnv(def), {
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      SESSION_SECRET: SECRET,
    });
    if (def.pglite) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sessionql-bench-pglite-'));
      tempDirs.push(dir);
      env.SESSIONQL_DATA_DIR = dir;
    } else if (def.db) {
      env.DATABASE_URL = dbUrl(def.db);
    }
  } else {
    cmd = path.join(PEERS, def.run);
    args = [String(port)];
    cwd = path.dirname(cmd);
    Object.assign(env, def.env || {}, redisEnv(def), def.db ? { DATABASE_URL: dbUrl(def.db) } : {});
  }
  t.command = `${def.project ? t.shown : def.run} (port ${port}${def.profile ? `, loaded as ${def.profile}` : ''}${
    def.env
      ? `, ${Object.entries(def.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }${def.pglite ? ', PGlite' : ''}${def.redis ? `, Redis ${def.redis === 'cluster' ? 'Cluster' : 'server'}` : ''})`;
  // Up = any HTTP answer to the profile's read (no cookie); then that read must
  // answer 2xx, without GraphQL errors when the profile checks them.
  const { read, checkErrors } = profileRead(t);
  t.handle = startProcess(cmd, args, { cwd, env, logFile: path.join(LOG_DIR, `${name}.log`) });
  const up = await waitHttp(t.handle, read, 120_000);
  if (!up) {
    t.error = t.handle.isRunning() ? 'no HTTP answer within 120 s' : 'exited during start';
    await stopProcess(t.handle);
    log(`  ${name}: FAILED to start (${t.error}); log ${t.handle.logFile}:\n${indent(tail(t.handle.logFile))}`);
    return t;
  }
  try {
    const r = await read(AbortSignal.timeout(10_000));
    const text = await r.text();
    if (!r.ok || (checkErrors && text.includes('"errors"'))) throw new Error(`${r.status} ${text.slice(0, 200)}`);
  } catch (e) {
    t.error = `check request failed: ${e.message}`;
    await stopProcess(t.handle);
    log(`  ${name}: FAILED its check request (${e.message}); log ${t.handle.logFile}:\n${indent(tail(t.handle.logFile))}`);
    return t;
  }
  t.ok = true;
  log(`  ${name}: up on ${t.url} (pid ${t.handle.pid})`);
  return t;
}
/** The read template of t's profile as a fetch (as loadgen's compile() builds it, without a cookie). */
function profileRead(t) {
  const file = t.profiles ?? path.join(PEERS, 'loadgen', 'profiles.json');
  const profile = JSON.parse(readFileSync(file, 'utf8'))[t.profile];
  if (!profile?.read) throw new Error(`no profile ${t.profile} with a read in ${file}`);
  const { method, path: target, headers = {}, body } = profile.read;
  const text = body == null ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const all = Object.fromEntries(Object.entries({ ...profile.headers, ...headers }).map(([k, v]) => [k.toLowerCase(), String(v)]));
  if (text !== undefined) all['content-type'] ??= 'application/json';
  return {
    read: (signal) => fetch(`${t.url}${target}`, { method, headers: all, body: text, signal }),
    checkErrors: !!profile.checkErrors,
  };
}
/** loadgen's and lost-updates.mjs's --profile (and --profiles) arguments for t. */
const profileArgs = (t) => ['--profile', t.profile, ...(t.profiles ? ['--profiles', t.profiles] : [])];
const indent = (s) =>
  s
    .split('\n')
    .map((l) => `    | ${l}`)
    .join('\n');
const targetInfo = (t) => ({
  restarts: t.restarts,
  port: t.port,
  pid: t.handle?.pid ?? null,
  command: t.command,
  profile: t.profile,
  profiles: t.profiles ? path.relative(REPO, t.profiles) : undefined,
  ok: t.ok,
  error: t.error ?? null,
  log: t.handle?.logFile,
});

const MAX_RESTARTS = 3;
/**
 * Makes sure t is running: a server that died (a crash, or someone's pkill on
 * this shared machine) is reported, restarted on a new port and warmed again,
 * at most MAX_RESTARTS times. False when it cannot be brought back.
 */
async function ensureRunning(t) {
  checkStop();
  if (t.handle?.isRunning()) return true;
  if (!t.handle || t.restarts.length >= MAX_RESTARTS) return false;
  const exit = t.handle.exit;
  const why = exit ? (exit.signal ? `killed by ${exit.signal}` : `exited with ${exit.code}`) : 'gone';
  log(`  ${t.name} is no longer running (${why}); restarting. Log ${t.handle.logFile}:\n${indent(tail(t.handle.logFile, 8))}`);
  t.restarts.push({ at: new Date().toISOString(), why });
  await startTarget(t.name, t);
  result.targets[t.name] = targetInfo(t);
  if (!t.ok) return false;
  if (WARMUP > 0)
    result.warmup.push(await loadRun(t, { readRatio: 0.8, duration: WARMUP, label: `${t.name} warm-up`, extra: { phase: 'warmup' } }));
  return true;
}

/**
 * Waits (at most QUIET_WAIT s) until the machine is quiet: busy cores over one
 * second ≤ QUIET_CORES while no load runs (our idle servers count too, a few %).
 */
let quietBudgetS = 600; // all waits together, so a busy machine costs at most 10 more minutes
async function waitQuiet() {
  if (!QUIET_WAIT || quietBudgetS <= 0) return {};
  const t0 = performance.now();
  for (;;) {
    const m0 = machineBusy();
    const w0 = performance.now();
    await sleep(1000);
    checkStop();
    const busy = (machineBusy() - m0) / HZ / ((performance.now() - w0) / 1000);
    const waited = (performance.now() - t0) / 1000;
    if (busy <= QUIET_CORES || waited >= Math.min(QUIET_WAIT, quietBudgetS)) {
      quietBudgetS -= waited;
      return { busy_cores_before: round(busy, 2), quiet_wait_s: round(waited, 1) };
    }
  }
}

let firstSpeed = null; // cpuSpeed() before the first run: cpu_speed 1

// --- one load run ---------------------------------------------------------------------
async function loadRun(t, { readRatio, duration, label, extra = {} }) {
  const args = [
    path.join(PEERS, 'loadgen', 'loadgen.mjs'),
    t.url,
    '-c',
    String(CONNECTIONS),
    '-d',
    String(duration),
    '-r',
    String(readRatio),
    ...profileArgs(t),
    '--label',
    label,
  ];
  if (t.profile !== 'peers') args.push('--check-errors');
  checkStop();
  const quiet = extra.phase === 'warmup' ? {} : await waitQuiet();
  const speed = cpuSpeed();
  firstSpeed ??= speed;
  const base = { target: t.name, read_ratio: readRatio, ...extra, ...quiet, cpu_speed: round(speed / firstSpeed, 2) };
  if (!t.handle?.isRunning()) return { ...base, failed: true, error: 'server not running' };
  const pgPids = () => (pg.pid ? treePids(pg.pid) : []);
  const rPids = () => treePids(...redisPids(redis, TARGET_DEFS[t.name].redis)); // with a fork (replica sync) in flight
  const load = loadavg1();
  const s0 = ticks(treePids(t.handle.pid));
  const p0 = ticks(pgPids());
  const r0 = ticks(rPids());
  const m0 = machineBusy();
  const w0 = performance.now();
  const rss = sampleRss(t.handle.pid);
  const r = await runCapture(process.execPath, args, { timeoutMs: (duration + 90) * 1000 });
  const mem = rss.stop();
  const wall = (performance.now() - w0) / 1000;
  const cpu = {
    server_cpu_s: round((ticks(treePids(t.handle.pid)) - s0) / HZ),
    pg_cpu_s: round((ticks(pgPids()) - p0) / HZ),
    redis_cpu_s: round((ticks(rPids()) - r0) / HZ),
    machine_busy_cores: round((machineBusy() - m0) / HZ / wall),
    wall_s: round(wall),
  };
  checkStop();
  if (!t.handle.isRunning()) return { ...base, failed: true, error: 'server died during the run', loadavg_before: load };
  const line = r.out.trim().split('\n').pop();
  let parsed = null;
  try {
    parsed = JSON.parse(line);
  } catch {}
  if (r.code !== 0 || !parsed) {
    const why = r.timedOut ? 'timed out' : (r.err.trim().split('\n').pop() || `exit ${r.code}`).slice(0, 300);
    return { ...base, failed: true, error: `loadgen: ${why}`, server_alive: t.handle.isRunning(), loadavg_before: load };
  }
  return { ...base, loadavg_before: load, ...cpu, rss_max_mb: mem.maxMb, rss_mean_mb: mem.meanMb, rss_samples: mem.samples, ...parsed };
}
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function progress(prefix, r) {
  if (r.failed) {
    log(`${prefix} ${r.target.padEnd(NAME_WIDTH)} FAILED: ${r.error}`);
    return;
  }
  const others = othersCores(r);
  const speed = r.cpu_speed != null ? `  speed ${fmt(r.cpu_speed, 2)}` : '';
  const waited =
    r.quiet_wait_s > 1.5 ? `  (waited ${fmt(r.quiet_wait_s)} s for a quiet machine: ${fmt(r.busy_cores_before, 1)} busy cores)` : '';
  log(
    `${prefix} ${r.target.padEnd(NAME_WIDTH)} ${fmt(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50_ms, 1).padStart(6)}  p99 ${fmt(r.p99_ms, 1).padStart(6)} ms  errors ${r.errors}  rss ${fmt(r.rss_max_mb)} MB  others' cores ${fmt(others, 1)}${speed}${waited}`,
  );
}

// --- phases ----------------------------------------------------------------------------
async function comparison(live) {
  log(
    `\n== comparison: ${REPS} rep(s) × ${MIXES.map(mixName).join(', ')} × ${live.map((t) => t.name).join(', ')}, ${DURATION} s each (write-only ${WRITE_DURATION} s), ${CONNECTIONS} connections`,
  );
  if (WARMUP > 0) {
    for (const t of live) {
      const r = await loadRun(t, { readRatio: 0.8, duration: WARMUP, label: `${t.name} warm-up`, extra: { phase: 'warmup' } });
      result.warmup.push(r);
      if (r.failed) log(`  warm-up ${t.name}: FAILED: ${r.error}`);
    }
  }
  for (let rep = 1; rep <= REPS; rep++) {
    const k = (rep - 1) % live.length;
    const order = [...live.slice(k), ...live.slice(0, k)]; // who goes first rotates
    for (const rr of MIXES) {
      for (const t of order) {
        const prefix = `rep ${rep}/${REPS} ${mixName(rr).padEnd(10)}`;
        // A run during which the server died is kept (failed) and done again once.
        for (let attempt = 1; attempt <= 2; attempt++) {
          const r = (await ensureRunning(t))
            ? await loadRun(t, { readRatio: rr, duration: runSeconds(rr), label: t.name, extra: { phase: 'load', rep } })
            : {
                target: t.name,
                read_ratio: rr,
                phase: 'load',
                rep,
                failed: true,
                error: `server not running (${t.error ?? 'gave up restarting'})`,
              };
          result.runs.push(r);
          progress(prefix, r);
          if (!(r.failed && r.error === 'server died during the run')) break;
        }
      }
      save();
    }
  }
}

async function lostUpdates(live) {
  log(`\n== lost updates: ${LOST_REPEAT} run(s) of 50 concurrent writes on one session, per test and target`);
  for (const t of live) {
    await ensureRunning(t);
    const args = [
      path.join(PEERS, 'lost-updates', 'lost-updates.mjs'),
      t.url,
      ...profileArgs(t),
      '--repeat',
      String(LOST_REPEAT),
      '--label',
      t.name,
    ];
    const entry = { target: t.name, runs: [], summaries: [] };
    if (!t.handle.isRunning()) entry.error = 'server not running';
    else {
      const r = await runCapture(process.execPath, args, { timeoutMs: 300_000 });
      for (const line of r.out.split('\n')) {
        try {
          const j = JSON.parse(line);
          (j.summary ? entry.summaries : entry.runs).push(j);
        } catch {}
      }
      if (r.code !== 0) entry.error = r.timedOut ? 'timed out' : (r.err.trim().split('\n').pop() || `exit ${r.code}`).slice(0, 300);
    }
    result.lost_updates.push(entry);
    log(
      `  ${t.name.padEnd(NAME_WIDTH)} ${entry.summaries.map((s) => `${s.summary} ${s.survived.join(' ')}`).join('  |  ')}${entry.error ? `  FAILED: ${entry.error}` : ''}`,
    );
    save();
  }
}

const SYNTHETIC_DATA = '{"username":"alice","cart":[{"sku":"A","quantity":1}]}';
async function insertRows(sql, from, to, expiresSql) {
  await sql.unsafe(`INSERT INTO sessionql_session (key_hash, data, expires_at)
    SELECT md5(i::text) || md5((i + 1)::text), '${SYNTHETIC_DATA}'::jsonb, ${expiresSql}
    FROM generate_series(${from}, ${to}) AS i ON CONFLICT DO NOTHING`);
  await sql.unsafe('VACUUM ANALYZE sessionql_session');
  await sql.unsafe('CHECKPOINT');
}
const LIVE = `date_trunc('second', now()) + interval '14 days'`;
const EXPIRED = `date_trunc('second', now()) - interval '1 hour' - (i % 604800) * interval '1 second'`;

/**
 * Scale checks on PostgreSQL: `small` (the comparison's project, its table cut
 * to 10,000 rows) against a second project server on a table of SCALE_ROWS,
 * run alternately so that both see the same machine; then sessions:clear of
 * SCALE_ROWS expired rows on the large table under 80/20 load.
 */
async function scale(small) {
  const LARGE = SCALE_ROWS >= 1e6 ? `${SCALE_ROWS / 1e6}M` : `${Math.round(SCALE_ROWS / 1e3)}k`;
  log(
    `\n== scale (project on PostgreSQL): 10,000 vs ${fmt(SCALE_ROWS)} rows (two servers, alternately), then sessions:clear of ${fmt(SCALE_ROWS)} expired rows under 80/20 load`,
  );
  const out = { rows_small: 10_000, rows_large: SCALE_ROWS, runs: [], quiet_waits: [] };
  result.scale = out;
  // Two fresh servers: the comparison's has been running for a while.
  await stopProcess(small.handle);
  await startTarget(PROJECT, small);
  const large = await startTarget('project-large');
  result.targets[PROJECT] = targetInfo(small);
  result.targets['project-large'] = targetInfo(large);
  if (!small.ok) {
    out.error = `project did not restart (${small.error})`;
    return;
  }
  if (!large.ok) {
    out.error = `project-large did not start (${large.error})`;
    return;
  }
  const connect = (db) => postgres(dbUrl(db), { max: 1, onnotice() {}, connection: { statement_timeout: 900_000 } });
  const sqlSmall = connect('sessionql_bench');
  const sqlLarge = connect('sessionql_bench_large');
  try {
    const count = async (sql, where = 'true') =>
      Number((await sql.unsafe(`SELECT count(*)::int AS n FROM sessionql_session WHERE ${where}`))[0].n);
    await sqlSmall`TRUNCATE sessionql_session`;
    await insertRows(sqlSmall, 1, 10_000, LIVE);
    await sqlLarge`TRUNCATE sessionql_session`;
    let t0 = performance.now();
    await insertRows(sqlLarge, 1, SCALE_ROWS, LIVE);
    out.insert_large_s = round((performance.now() - t0) / 1000, 1);
    log(`  10,000 and ${fmt(await count(sqlLarge))} rows (the large in ${out.insert_large_s} s; VACUUM ANALYZE, CHECKPOINT)`);
    const sides = [
      { t: small, size: '10k', sql: sqlSmall },
      { t: large, size: LARGE, sql: sqlLarge },
    ];
    if (WARMUP > 0) {
      for (const { t } of sides) {
        result.warmup.push(await loadRun(t, { readRatio: 0.8, duration: WARMUP, label: `${t.name} warm-up`, extra: { phase: 'warmup' } }));
      }
    }
    for (let rep = 1; rep <= REPS; rep++) {
      for (const rr of [1, 0]) {
        for (const side of rep % 2 ? sides : [...sides].reverse()) {
          const rows = await count(side.sql);
          await ensureRunning(side.t);
          const r = await loadRun(side.t, {
            readRatio: rr,
            duration: runSeconds(rr),
            label: `project@${side.size}`,
            extra: { phase: 'scale', size: side.size, rep, rows_before: rows },
          });
          r.target = PROJECT;
          out.runs.push(r);
          progress(`${side.size.padEnd(4)} rep ${rep}/${REPS} ${mixName(rr).padEnd(10)}`, r);
        }
      }
    }
    out.ratios = [1, 0].map((rr) => {
      const runs = out.runs.filter((r) => r.read_ratio === rr && !r.failed);
      const med = (size) => median(runs.filter((r) => r.size === size).map((r) => r.rps));
      const rpsSmall = med('10k');
      const rpsLarge = med(LARGE);
      const ratio = rpsSmall && rpsLarge ? rpsLarge / rpsSmall : null;
      return {
        mix: mixName(rr),
        rps_small: rpsSmall,
        rps_large: rpsLarge,
        p99_small_ms: median(runs.filter((r) => r.size === '10k').map((r) => r.p99_ms)),
        p99_large_ms: median(runs.filter((r) => r.size === LARGE).map((r) => r.p99_ms)),
        ratio,
        pass: ratio == null ? null : ratio >= 0.85,
        others_cores_max: round(Math.max(0, ...runs.map(othersCores)), 1),
      };
    });

    // sessions:clear of SCALE_ROWS expired rows (beside the live ones) under 80/20 load.
    await stopProcess(small.handle);
    t0 = performance.now();
    await insertRows(sqlLarge, 2 * SCALE_ROWS + 1, 3 * SCALE_ROWS, EXPIRED);
    out.expired_before = await count(sqlLarge, 'expires_at <= now()');
    out.rows_before_clear = await count(sqlLarge);
    log(
      `  ${fmt(out.expired_before)} expired of ${fmt(out.rows_before_clear)} rows (inserted in ${fmt((performance.now() - t0) / 1000, 1)} s)`,
    );
    const timeline = async () => {
      out.quiet_waits.push(await waitQuiet());
      await ensureRunning(large);
      return startTimelineLoad({ peersDir: PEERS, url: large.url, profile: large.profile, connections: CONNECTIONS, readRatio: 0.8 });
    };
    const baseline = async () => {
      const run = await timeline();
      await sleep(DURATION * 1000);
      const end = performance.now();
      return windowStats(await run.stop(), run.startedAt, end);
    };
    out.baseline_before = await baseline();
    log(
      `  baseline 80/20 before: ${fmt(out.baseline_before.rps)} req/s, p99 ${fmt(out.baseline_before.p99_ms, 1)} ms, errors ${out.baseline_before.errors}`,
    );
    {
      const run = await timeline();
      await sleep(2000);
      const c0 = performance.now();
      const env = { ...cleanEnv(), DATABASE_URL: dbUrl('sessionql_bench_large'), NODE_ENV: 'production' };
      const clear = await runCapture('npm', ['run', '--silent', 'sessions:clear'], { env, timeoutMs: 600_000, detached: true });
      const c1 = performance.now();
      await sleep(1000);
      const samples = await run.stop();
      out.clear = {
        wall_s: round((c1 - c0) / 1000),
        exit: clear.code,
        timed_out: clear.timedOut,
        output: clear.out.trim() || clear.err.trim().split('\n').slice(-5).join('\n'),
      };
      const m = /Deleted (\d+) .* in (\d+) ms/.exec(clear.out);
      if (m) Object.assign(out.clear, { deleted: Number(m[1]), reported_s: Number(m[2]) / 1000 });
      out.expired_after = await count(sqlLarge, 'expires_at <= now()');
      out.clear.pass = clear.code === 0 && out.clear.wall_s < 60 && out.expired_after < 1000;
      // Two windows: the whole command (npm + tsx start-up on the same two
      // cores, then the deletes) and the deletes alone (the last reported_s
      // seconds before it exited), which is what the target is about.
      out.during = windowStats(samples, c0, c1);
      out.failures = samples.failures;
      out.cap_renewals = samples.capRenewals;
      out.deleting = out.clear.reported_s != null ? windowStats(samples, c1 - out.clear.reported_s * 1000, c1) : null;
      log(
        `  sessions:clear: exit ${clear.code}, ${out.clear.wall_s} s wall (${out.clear.output.split('\n').pop()}); whole command: ${fmt(out.during.rps)} req/s, p99 ${fmt(out.during.p99_ms, 1)} ms, errors ${out.during.errors}; deleting: ${fmt(out.deleting?.rps)} req/s, p99 ${fmt(out.deleting?.p99_ms, 1)} ms`,
      );
    }
    out.baseline_after = await baseline();
    log(
      `  baseline 80/20 after: ${fmt(out.baseline_after.rps)} req/s, p99 ${fmt(out.baseline_after.p99_ms, 1)} ms, errors ${out.baseline_after.errors}`,
    );
    // The baseline is the mean of the runs before and after (same table size and load, no clear).
    const b = [out.baseline_before.p99_ms, out.baseline_after.p99_ms].filter((x) => x != null);
    out.baseline = {
      p99_ms: b.length ? round(b.reduce((x, y) => x + y, 0) / b.length) : null,
      rps: round((out.baseline_before.rps + out.baseline_after.rps) / 2, 1),
      errors: out.baseline_before.errors + out.baseline_after.errors,
    };
    const p99 = (w) => {
      const ratio = w?.p99_ms && out.baseline.p99_ms ? w.p99_ms / out.baseline.p99_ms : null;
      return { during_ms: w?.p99_ms ?? null, baseline_ms: out.baseline.p99_ms, ratio, pass: ratio == null ? null : ratio <= 2 };
    };
    out.p99 = p99(out.deleting);
    out.p99_command = p99(out.during);
    out.errors_check = { errors: out.during.errors, requests: out.during.requests, pass: out.during.errors === 0 };
  } finally {
    await sqlSmall.end({ timeout: 5 });
    await sqlLarge.end({ timeout: 5 });
    save();
  }
}

function renderScale(s) {
  if (!s) return '';
  const v = (p) => (p == null ? 'n/a ' : p ? 'PASS' : 'FAIL');
  const lines = [];
  for (const r of s.ratios || []) {
    lines.push(
      `${v(r.pass)}  ${r.mix} at ${fmt(s.rows_large)} rows vs 10,000: ${fmt(r.rps_large)} vs ${fmt(r.rps_small)} req/s = ${r.ratio == null ? '–' : `${fmt(r.ratio * 100)} %`} (want ≥ 85 %); p99 ${fmt(r.p99_large_ms, 1)} vs ${fmt(r.p99_small_ms, 1)} ms; others' cores up to ${fmt(r.others_cores_max, 1)}`,
    );
  }
  if (s.clear) {
    lines.push(
      `${v(s.clear.pass)}  sessions:clear of ${fmt(s.expired_before)} expired rows (${fmt(s.rows_before_clear)} in the table): ${fmt(s.clear.wall_s, 1)} s wall${s.clear.reported_s != null ? `, ${fmt(s.clear.reported_s, 1)} s reported, ${fmt(s.clear.deleted)} deleted` : ''}, ${fmt(s.expired_after)} expired left (want < 60 s)`,
    );
  }
  const p99line = (p, w, what) =>
    `${v(p.pass)}  80/20 p99 ${what} ${fmt(p.during_ms, 1)} ms vs ${fmt(p.baseline_ms, 1)} ms without = ${p.ratio == null ? '–' : `${fmt(p.ratio, 2)}×`} (want ≤ 2×); req/s ${fmt(w?.rps)} vs ${fmt(s.baseline.rps)}, errors ${w?.errors ?? '–'}`;
  if (s.p99) lines.push(p99line(s.p99, s.deleting, 'while deleting'));
  if (s.p99_command) lines.push(p99line(s.p99_command, s.during, 'over the whole command (npm + tsx start-up too)'));
  if (s.errors_check) {
    lines.push(
      `${v(s.errors_check.pass)}  no failed requests during the clear: ${fmt(s.errors_check.errors)} of ${fmt(s.errors_check.requests)}${s.cap_renewals ? ` (${fmt(s.cap_renewals)} sessions replaced after the contract's 999-per-line refusal)` : ''}${(s.failures || []).map((f) => `\n        ${fmt(f.count)} × ${f.answer}`).join('')}`,
    );
  }
  if (s.baseline_before) {
    lines.push(
      `      baseline = mean of the 80/20 runs before (p99 ${fmt(s.baseline_before.p99_ms, 1)} ms, ${fmt(s.baseline_before.rps)} req/s) and after (p99 ${fmt(s.baseline_after?.p99_ms, 1)} ms, ${fmt(s.baseline_after?.rps)} req/s) the clear`,
    );
  }
  return lines.join('\n');
}

/** Prints the report of a run (also a saved one: --report FILE.json) and writes its Markdown to mdPath. */
function render(result, mdPath) {
  const { meta } = result;
  const summary = result.summary || [];
  const opts = meta.options || {};
  const failedTargets = Object.entries(result.targets || {}).filter(([, t]) => !t.ok);
  const sections = [];
  const head = `sessionql bench ${meta.started} (${meta.git?.describe}), ${meta.machine?.cpus} cores, Node ${meta.machine?.node}, PostgreSQL ${meta.machine?.postgres}${meta.machine?.redis ? `, Redis ${meta.machine.redis}` : ''}; ${opts.reps} rep(s), ${opts.duration_s} s per run${opts.write_duration_s && opts.write_duration_s !== opts.duration_s ? ` (write-only ${opts.write_duration_s} s)` : ''}, ${opts.connections} connections, medians (min..max)`;
  const othersMax = Math.max(0, ...summary.flatMap((s) => s.others_cores));
  const capped = summary.filter((s) => s.cap_refusals);
  const speeds = [...(result.runs || []), ...(result.scale?.runs || [])].map((r) => r.cpu_speed).filter((x) => x != null);
  const notes = [
    `project: ${meta.project_run ?? 'node --import tsx src/server/main.ts'}.`,
    ...Object.entries(result.targets || {})
      .filter(([, t]) => t.restarts?.length)
      .map(
        ([name, t]) =>
          `${name} died and was restarted ${t.restarts.length}× (${t.restarts.map((r) => r.why).join(', ')}); see the failed runs in the JSON.`,
      ),
    failedTargets.length ? `Targets that did not start: ${failedTargets.map(([n, t]) => `${n} (${t.error})`).join(', ')}.` : '',
    capped.length
      ? `“999 cap”: ${capped.map((s) => `${s.target} ${s.mix}`).join(', ')} answered BAD_USER_INPUT “a cart line holds at most 999” (the contract's cap; first error of those runs): loadgen adds SKU A to the same 50 sessions, so past ~50,000 writes in a run a session's line is full. Those writes change nothing, which flatters that req/s: lower --write-duration.`
      : '',
    summary.length
      ? `Other programs on the machine used up to ${fmt(othersMax, 1)} core(s) during a run (“others' cores”, see the JSON).`
      : '',
    speeds.length
      ? `One core's speed before each run (a fixed loop; 1 = before the first run) ranged ${fmt(Math.min(...speeds), 2)}..${fmt(Math.max(...speeds), 2)}: a host that throttles this VM shows there, not in “others' cores”.`
      : '',
  ].filter(Boolean);
  if (summary.length) {
    const rows = tableRows(summary);
    sections.push({ title: 'Comparison', text: renderText(rows), md: renderMarkdown(rows) });
    for (const c of result.verdicts || []) {
      const v = renderVerdicts(c);
      sections.push({ title: c.title, text: v, md: `\`\`\`\n${v}\n\`\`\`` });
    }
  }
  if (result.client_verdicts) {
    const { rows, notes: lines } = clientRows(result.client_verdicts);
    sections.push({
      title: 'Client profiles (issue 10): the project as Apollo Client 4 and urql 6 send (bench/profiles.json)',
      text: `${renderText(rows)}\n${lines.join('\n')}`,
      md: `${renderMarkdown(rows)}\n\n${lines.map((l) => `- ${l}`).join('\n')}`,
    });
  }
  if (result.lost_updates?.length) {
    const rows = lostRows(result.lost_updates);
    const v = lostVerdicts(result.lost_updates).join('\n');
    sections.push({
      title: 'Lost updates (50 concurrent writes on one session)',
      text: `${renderText(rows)}${v ? `\n\n${v}` : ''}`,
      md: `${renderMarkdown(rows)}${v ? `\n\n\`\`\`\n${v}\n\`\`\`` : ''}`,
    });
  }
  if (result.scale) {
    const s = result.scale.error ? `scale: ${result.scale.error}` : renderScale(result.scale);
    sections.push({ title: 'Scale (project on PostgreSQL)', text: s, md: `\`\`\`\n${s}\n\`\`\`` });
  }
  const md = [`# ${head}`, '', ...notes, '', ...sections.flatMap((s) => [`## ${s.title}`, '', s.md, ''])].join('\n');
  writeFileSync(mdPath, md);
  console.log(`\n${head}`);
  for (const n of notes) console.log(n);
  for (const s of sections) console.log(`\n== ${s.title}\n${s.text}`);
  console.log(`\n== Markdown (also in ${path.relative(REPO, mdPath)})\n\n${md}`);
}

// --- main -------------------------------------------------------------------------------
async function main() {
  // Server logs can be large (a line per request): keep the last few runs' only.
  const logRoot = path.dirname(LOG_DIR);
  mkdirSync(logRoot, { recursive: true });
  for (const old of readdirSync(logRoot).sort().slice(0, -4)) {
    const dir = path.join(logRoot, old);
    if (Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true }); // not a running bench's
  }
  await takeLock();
  mkdirSync(LOG_DIR, { recursive: true });
  const peerTargets = START.filter((n) => !TARGET_DEFS[n].project);
  const { changed } = syncPeers(path.resolve(o.peers), PEERS, log);
  const runs = (dir, redisToo) => peerTargets.some((n) => TARGET_DEFS[n].run.startsWith(`${dir}/`) && (!redisToo || TARGET_DEFS[n].redis));
  const missing = missingParts(PEERS, {
    django: runs('django'),
    djangoRedis: runs('django', true),
    express: runs('express'),
    floor: runs('floor') || runs('floor-fixed'),
    floorRedis: runs('floor-redis'),
  });
  if (missing.length) {
    log(`peers: missing ${missing.join(', ')}`);
    runSetup(PEERS, log);
  } else if (!changed) log('peers: copy up to date, setup done');
  if (peerTargets.includes('floor-fixed')) makeFixedFloor(PEERS, log);

  if (START.some((n) => TARGET_DEFS[n].project && !TARGET_DEFS[n].tsx) || DO_SCALE) projectBundle = await buildProject();
  await startPostgres();
  const dbs = [
    ...new Set([
      'sessionql_bench',
      ...(DO_SCALE ? ['sessionql_bench_large'] : []),
      ...START.map((n) => TARGET_DEFS[n].db).filter(Boolean),
      'peers_limit',
    ]),
  ];
  await createDatabases(dbs);
  log(`postgres: ${pg.version} at ${new URL(pg.url).host}; databases ${dbs.join(', ')}`);
  const needRedis = (kind) => START.some((n) => TARGET_DEFS[n].redis === kind);
  if (needRedis('single') || needRedis('cluster')) {
    redis = {};
    await startRedis(redis, {
      repo: REPO,
      need: { single: needRedis('single'), cluster: needRedis('cluster') },
      url: o['redis-url'],
      clusterNodes: o['redis-cluster'],
      run: runCapture,
      log,
    });
  }

  result.meta = {
    started: startedAt.toISOString(),
    options: {
      reps: REPS,
      duration_s: DURATION,
      write_duration_s: WRITE_DURATION,
      warmup_s: WARMUP,
      connections: CONNECTIONS,
      mixes: MIXES,
      targets: LOAD_TARGETS,
      lost_updates: DO_LOST,
      lost_repeat: LOST_REPEAT,
      scale: DO_SCALE,
      scale_rows: SCALE_ROWS,
      load: DO_LOAD,
      quick: o.quick,
      redis: o.redis,
    },
    git: {
      commit: git('rev-parse', 'HEAD'),
      describe: git('describe', '--always', '--dirty'),
      src_changes: git('status', '--porcelain', '--', 'src', 'drizzle', 'package.json') || '',
    },
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model,
      mem_gb: round(os.totalmem() / 2 ** 30, 1),
      loadavg_start: os.loadavg(),
      node: process.version,
      postgres: pg.version,
      postgres_ours: pg.ours,
      redis: redis ? redisVersion() : undefined,
      redis_single: redis?.single ? { url: redis.single.url, ours: redis.single.ours, pids: redis.single.pids } : undefined,
      redis_cluster: redis?.cluster ? { nodes: redis.cluster.nodes, ours: redis.cluster.ours, pids: redis.cluster.pids } : undefined,
    },
    project_run: projectBundle?.shown ?? 'node --import tsx src/server/main.ts',
    logs: LOG_DIR,
  };
  save();

  log(`\n== starting ${START.join(', ')} (logs in ${LOG_DIR})`);
  for (const name of START) {
    const t = await startTarget(name);
    result.targets[name] = targetInfo(t);
  }
  save();
  const liveFor = (names) => names.map((n) => targets.get(n)).filter((t) => t?.ok);

  if (DO_LOAD) await comparison(liveFor(LOAD_TARGETS));
  if (DO_LOST) await lostUpdates(liveFor(LOAD_TARGETS));
  if (DO_SCALE) {
    const project = targets.get(PROJECT);
    for (const t of targets.values()) if (t !== project) await stopProcess(t.handle);
    if (project && (await ensureRunning(project))) await scale(project);
    else result.scale = { error: 'project did not start' };
  }

  // --- report ---
  const summary = summarize(result.runs.filter((r) => r.phase === 'load'));
  result.summary = summary;
  result.verdicts = verdicts(summary);
  result.client_verdicts = clientVerdicts(summary);
  result.meta.finished = new Date().toISOString();
  result.meta.minutes = round((Date.now() - startedAt.getTime()) / 60_000, 1);
  result.complete = true;
  save();

  render(result, MD_OUT);
  console.log(`raw runs and summary: ${path.relative(REPO, JSON_OUT)}; ${result.meta.minutes} min`);
}

let exitCode = 0;
try {
  if (o.report) {
    const saved = JSON.parse(readFileSync(o.report, 'utf8'));
    saved.summary = summarize(saved.runs.filter((r) => r.phase === 'load'));
    saved.verdicts = verdicts(saved.summary);
    saved.client_verdicts = clientVerdicts(saved.summary);
    render(saved, `${o.report.replace(/\.json$/, '')}.md`);
  } else await main();
} catch (e) {
  if (stopping || e instanceof Interrupted) await new Promise(() => {}); // the signal handler exits
  exitCode = 1;
  log(`bench: ${e.stack || e}`);
  result.error = String(e.message || e);
  try {
    save();
  } catch {}
} finally {
  await cleanup();
}
process.exit(exitCode);
