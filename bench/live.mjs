#!/usr/bin/env node
// npm run bench:live [-- options]: sessionChanged (issue 13), measured.
//
// For each engine (db on PostgreSQL, cache on Redis): two server instances on
// one store, as `npm start` runs them (the esbuild bundle).
//   1. Active: 200 subscribers, each its own session, spread over both
//      instances; each session is written on the *other* instance, once a
//      second at a random offset, for --seconds. Latency = from sending the
//      write to its event arriving at that session's subscriber (so it
//      includes the write itself). Every subscriber must get its own event
//      for every write, and nobody else's.
//   2. Idle: 1,000 then 10,000 idle subscribers (each its own session) on
//      one instance: its RSS before, after subscribing, and after --idle
//      seconds with Yoga's heartbeats running (flat = no growth), and the
//      active latency again with them connected.
// Options:
//   --engines db,cache   (default both)
//   --active N           active subscribers (default 200)
//   --seconds S          active run length (default 10)
//   --idle-counts a,b    idle subscribers (default 1000,10000)
//   --idle S             seconds to sit idle before measuring RSS again (default 30)
//   --out DIR            results folder (default bench/results): live-<time>.json and .md
// PostgreSQL: DATABASE_URL, else scripts/pg.sh start. Redis: REDIS_URL, else scripts/redis.sh start.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { rssBytes, treePids } from './lib/procfs.mjs';
import { freePort, startProcess, stopAll, waitHttp } from './lib/servers.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(REPO, 'bench', '.work');
const { values: opts } = parseArgs({
  options: {
    engines: { type: 'string', default: 'db,cache' },
    active: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    'idle-counts': { type: 'string', default: '1000,10000' },
    idle: { type: 'string', default: '30' },
    out: { type: 'string', default: path.join(REPO, 'bench', 'results') },
  },
});
const ACTIVE = Number(opts.active);
const SECONDS = Number(opts.seconds);
const IDLE_COUNTS = opts['idle-counts'].split(',').filter(Boolean).map(Number);
const IDLE_SECONDS = Number(opts.idle);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('[live]', ...a);

// ------------------------------------------------------------ stores and servers

function script(cmd) {
  const r = spawnSync('bash', ['-c', cmd], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout.trim().split('\n').at(-1);
}

async function freshDatabase(url) {
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe('DROP DATABASE IF EXISTS sessionql_live WITH (FORCE)');
  await admin.unsafe('CREATE DATABASE sessionql_live');
  await admin.end();
  const u = new URL(url);
  u.pathname = '/sessionql_live';
  return u.toString();
}

function build() {
  mkdirSync(WORK, { recursive: true });
  execFileSync(process.execPath, ['scripts/build.mjs', `--outfile=${path.join(WORK, 'live-dist', 'main.mjs')}`], {
    cwd: REPO,
    stdio: 'inherit',
  });
  return path.join(WORK, 'live-dist', 'main.mjs');
}

async function startInstance(bundle, env, name) {
  const port = await freePort();
  const handle = startProcess(process.execPath, [bundle], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SESSION_SUBSCRIPTIONS_MAX: '20000',
      ...env,
    },
    logFile: path.join(WORK, `live-${name}.log`),
  });
  if (!(await waitHttp(handle, () => fetch(`http://127.0.0.1:${port}/ready`))))
    throw new Error(`${name} did not start: see ${handle.logFile}`);
  return { handle, port, base: `http://127.0.0.1:${port}` };
}

// ------------------------------------------------------------ clients

async function gql(base, cookie, query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  const set = response.headers.get('set-cookie');
  return { data: body.data, cookie: set ? set.split(';')[0] : cookie };
}

const WRITE = 'mutation($v: JSON) { setSessionValue(key: "t", value: $v) { exists } }';
const LIVE = 'subscription { sessionChanged { exists value(key: "t") } }';

/** A session stored through `base`: its cookie. */
async function newSession(base) {
  return (await gql(base, null, WRITE, { v: -1 })).cookie;
}

/** An SSE subscription: calls onState for each sessionChanged; resolves once the first state arrived. */
async function subscribe(base, cookie, onState) {
  const controller = new AbortController();
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', cookie },
    body: JSON.stringify({ query: LIVE }),
    signal: controller.signal,
  });
  if (!response.ok) throw new Error(`subscribe: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let first;
  const started = new Promise((resolve, reject) => {
    first = { resolve, reject };
  });
  let buffer = '';
  let seen = 0;
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data:'));
          if (!block.startsWith('event: next') || !data) continue;
          const result = JSON.parse(data.slice(5));
          if (result.errors) throw new Error(JSON.stringify(result.errors));
          if (seen++ === 0) first.resolve();
          else onState(result.data.sessionChanged);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) first.reject(error);
    }
  })();
  await started;
  return { close: () => controller.abort() };
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const mb = (bytes) => Math.round(bytes / 1024 / 1024);
const rssOf = (instance) => rssBytes(treePids(instance.handle.pid));

/** N subscribers spread over `instances`, each written on the next instance, once a second: latency figures. */
async function activeRun(instances, n, seconds) {
  const sessions = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
        const index = i + j;
        const reader = instances[index % instances.length];
        const writer = instances[(index + 1) % instances.length];
        const cookie = await newSession(writer.base);
        const s = { index, cookie, reader, writer, sent: new Map(), latencies: [], foreign: 0, missing: 0 };
        s.stream = await subscribe(reader.base, cookie, (state) => {
          const at = performance.now();
          const t0 = s.sent.get(state.value);
          if (t0 === undefined) s.foreign++;
          else {
            s.latencies.push(at - t0);
            s.sent.delete(state.value);
          }
        });
        return s;
      }),
    );
    sessions.push(...batch);
  }
  log(`${n} subscribers ready; writing each once a second for ${seconds} s`);
  let seq = 0;
  let writeErrors = 0;
  const writes = [];
  const acks = [];
  const start = performance.now();
  for (const s of sessions) {
    const offset = Math.random() * 1000;
    for (let k = 0; k < seconds; k++) {
      writes.push(
        (async () => {
          const due = start + offset + k * 1000;
          await sleep(Math.max(0, due - performance.now()));
          const v = ++seq;
          const t0 = performance.now();
          s.sent.set(v, t0);
          try {
            await gql(s.writer.base, s.cookie, WRITE, { v });
            acks.push(performance.now() - t0);
          } catch {
            writeErrors++;
            s.sent.delete(v);
          }
        })(),
      );
    }
  }
  await Promise.all(writes);
  await sleep(2000);
  const all = [];
  let foreign = 0;
  let missing = 0;
  for (const s of sessions) {
    all.push(...s.latencies);
    foreign += s.foreign;
    missing += s.sent.size;
    s.stream.close();
  }
  all.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  return {
    subscribers: n,
    writes: seq,
    events: all.length,
    missing,
    foreign,
    writeErrors,
    p50: +pct(all, 50).toFixed(1),
    p99: +pct(all, 99).toFixed(1),
    max: +(all.at(-1) ?? NaN).toFixed(1),
    writeP50: +pct(acks, 50).toFixed(1),
    writeP99: +pct(acks, 99).toFixed(1),
  };
}

/** N idle subscribers on one instance: RSS before, after subscribing and after sitting idle. */
async function idleRun(instances, n) {
  const [target] = instances;
  const before = rssOf(target);
  const streams = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, async () => subscribe(target.base, await newSession(target.base), () => {})),
    );
    streams.push(...batch);
  }
  await sleep(3000);
  const subscribed = rssOf(target);
  log(`${n} idle subscribers: RSS ${mb(before)} → ${mb(subscribed)} MB; idle ${IDLE_SECONDS} s`);
  const samples = [];
  for (let t = 0; t < IDLE_SECONDS; t += 5) {
    await sleep(5000);
    samples.push(rssOf(target));
  }
  const afterIdle = rssOf(target);
  const active = await activeRun(instances, ACTIVE, Math.min(SECONDS, 5));
  for (const s of streams) s.close();
  await sleep(3000);
  return {
    idle: n,
    rssBeforeMB: mb(before),
    rssSubscribedMB: mb(subscribed),
    rssAfterIdleMB: mb(afterIdle),
    rssIdleMinMaxMB: [mb(Math.min(...samples)), mb(Math.max(...samples))],
    kbPerSubscriber: Math.round((subscribed - before) / 1024 / n),
    rssAfterCloseMB: mb(rssOf(target)),
    activeWithIdle: active,
  };
}

// ------------------------------------------------------------ main

async function main() {
  const engines = opts.engines.split(',');
  const bundle = build();
  const secret = randomBytes(36).toString('base64url');
  const results = [];
  let pgStarted = false;
  let redisStarted = false;
  try {
    for (const engine of engines) {
      let env;
      if (engine === 'db') {
        let url = process.env.DATABASE_URL;
        if (!url) {
          url = script('scripts/pg.sh start');
          pgStarted = true;
        }
        env = { DATABASE_URL: await freshDatabase(url) };
      } else {
        let url = process.env.REDIS_URL;
        if (!url) {
          url = script('scripts/redis.sh start');
          redisStarted = true;
        }
        env = { SESSION_ENGINE: 'cache', REDIS_URL: url };
      }
      const instances = [];
      for (let i = 0; i < 2; i++) instances.push(await startInstance(bundle, { ...env, SESSION_SECRET: secret }, `${engine}-${i}`));
      log(`${engine}: two instances on ${instances.map((x) => x.port).join(', ')}`);
      const active = await activeRun(instances, ACTIVE, SECONDS);
      log(`${engine} active:`, JSON.stringify(active));
      const idle = [];
      for (const n of IDLE_COUNTS) {
        const r = await idleRun(instances, n);
        log(`${engine} idle:`, JSON.stringify(r));
        idle.push(r);
      }
      results.push({ engine, active, idle });
      await stopAll();
    }
  } finally {
    await stopAll();
    if (pgStarted) script('scripts/pg.sh stop');
    if (redisStarted) script('scripts/redis.sh stop');
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  mkdirSync(opts.out, { recursive: true });
  const meta = { when: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, opts };
  writeFileSync(path.join(opts.out, `live-${stamp}.json`), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const md = render(meta, results);
  writeFileSync(path.join(opts.out, `live-${stamp}.md`), md);
  console.log(md);
}

function render(meta, results) {
  const lines = [
    `# sessionChanged: event latency and memory (${meta.when})`,
    '',
    `${meta.cpus} cores (${meta.cpu}), Node ${meta.node}; two instances per engine on one store, as \`npm start\` runs them.`,
    `Latency: from sending a write (to the other instance) to its event at the subscriber; each session written once a second.`,
    '',
    '| engine | subscribers | idle also connected | writes | events | missing | foreign | p50 ms | p99 ms | max ms | write answered p50 / p99 ms | p99 < 100 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const row = (engine, a, idle) =>
    `| ${engine} | ${a.subscribers} | ${idle} | ${a.writes} | ${a.events} | ${a.missing} | ${a.foreign} | ${a.p50} | ${a.p99} | ${a.max} | ${a.writeP50} / ${a.writeP99} | ${a.p99 < 100 && a.missing === 0 && a.foreign === 0 ? 'PASS' : 'FAIL'} |`;
  for (const r of results) {
    lines.push(row(r.engine, r.active, 0));
    for (const i of r.idle) lines.push(row(r.engine, i.activeWithIdle, i.idle));
  }
  lines.push(
    '',
    '| engine | idle subscribers | RSS before (MB) | after subscribing | after idling (min..max) | per subscriber (KB) | after they left |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    for (const i of r.idle) {
      lines.push(
        `| ${r.engine} | ${i.idle} | ${i.rssBeforeMB} | ${i.rssSubscribedMB} | ${i.rssAfterIdleMB} (${i.rssIdleMinMaxMB.join('..')}) | ${i.kbPerSubscriber} | ${i.rssAfterCloseMB} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
