#!/usr/bin/env node
// Interleaved A/B of two server builds or node flags: both servers run at once
// and the load goes to each in turns of --slice ms (50 connections, the graphql
// profile of the peers' load generator), so this VM's slow minutes weigh on both
// alike. Prints the server CPU per request of each (from /proc) and B/A: the
// ratio of the totals, the median of the rounds' ratios, and in how many rounds
// B was lower. An A/A run shows the noise (and any bias of the second server's
// place: swap A and B and compare both runs, as docs/decisions/0023 does).
//
//   node bench/ab.mjs --a bench/.work/ab-a/main.mjs --b bench/.work/ab-b/main.mjs \
//     [--a-flags=--max-semi-space-size=32] [--b-flags=…] [--mix 1] [--rounds 40] [--slice 500] [--pin]
//
// Each server runs with npm start's node flags (package.json) unless its
// --a-flags / --b-flags says otherwise (`--a-flags=` for none).
//
// Write-only runs add SKU A to the same 50 carts, full (999) after about
// 50,000 writes: keep rounds × slice short for them (see bench/README.md).
//
// The servers get SESSION_ENGINE, DATABASE_URL, REDIS_URL, REDIS_CLUSTER_NODES
// from this environment (NODE_ENV=production, plain-HTTP cookies). --pin puts
// both servers on CPU 0 and this process on CPU 1 (taskset), PostgreSQL and
// Redis as they are. Needs bench/.work/peers (run any `npm run bench` once).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startFlags } from '../scripts/lib.mjs';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const loadgen = path.join(repo, 'bench/.work/peers/loadgen');
const { Client, compile, Jar, loadProfile, send } = await import(path.join(loadgen, 'lib.mjs'));
const { values: o } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    'a-flags': { type: 'string' },
    'b-flags': { type: 'string' },
    mix: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '40' },
    slice: { type: 'string', default: '500' },
    pin: { type: 'boolean', default: false },
  },
});
if (!o.a || !o.b) throw new Error('usage: node bench/ab.mjs --a BUNDLE --b BUNDLE [--a-flags=…] [--b-flags=…] (see the top of this file)');
const writeShare = 1 - Number(o.mix);
const CONNECTIONS = 50;

const profile = loadProfile(path.join(loadgen, 'profiles.json'), 'graphql');
const headers = profile.headers ?? {};
const READ = compile(profile.read, headers);
const WRITE = compile(profile.write, headers);
const INIT = profile.init.map((t) => compile(t, headers));

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, all threads
};

const started = []; // every server spawned, stopped at the end whatever happens

async function start(name, bundle, flags, port) {
  const pin = o.pin ? ['taskset', '-c', '0'] : [];
  const given = flags === undefined ? startFlags(repo) : flags.split(/\s+/).filter(Boolean);
  const argv = [...pin, process.execPath, ...given, bundle];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      SESSION_COOKIE_SECURE: 'false',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      SESSION_SECRET: 'ab-secret-0123456789-0123456789-0123456789',
    },
  });
  started.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/ready`).catch(() => null))?.ok) break;
    if (i > 150) throw new Error(`${name}: not ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const clients = Array.from({ length: CONNECTIONS }, () => new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 }));
  const jars = clients.map(() => new Jar());
  await Promise.all(
    clients.map(async (client, i) => {
      for (const t of INIT) await send(client, t, jars[i]);
    }),
  );
  return { name, child, clients, jars, acc: clients.map(() => Math.random()), requests: 0, ticks: 0 };
}

/** Closed-loop load on `s` for `ms`: the requests done. */
async function load(s, ms) {
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    s.clients.map(async (client, i) => {
      while (performance.now() < end) {
        s.acc[i] += writeShare;
        const write = s.acc[i] >= 1;
        if (write) s.acc[i] -= 1;
        const r = await send(client, write ? WRITE : READ, s.jars[i]);
        if (r.status !== 200) throw new Error(`${s.name}: ${r.status} ${r.text.slice(0, 200)}`);
        n++;
      }
    }),
  );
  return n;
}

if (o.pin) spawn('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
const servers = [];
try {
  const a = await start('a', o.a, o['a-flags'], 4821);
  servers.push(a);
  const b = await start('b', o.b, o['b-flags'], 4822);
  servers.push(b);
  for (const s of [a, b]) await load(s, 2000); // warm-up
  const ratios = [];
  for (let round = 0; round < Number(o.rounds); round++) {
    const perRequest = {};
    for (const s of round % 2 ? [b, a] : [a, b]) {
      const before = cpuTicks(s.child.pid);
      const n = await load(s, Number(o.slice));
      const ticks = cpuTicks(s.child.pid) - before;
      perRequest[s.name] = ticks / n;
      s.requests += n;
      s.ticks += ticks;
    }
    ratios.push(perRequest.b / perRequest.a);
  }
  ratios.sort((x, y) => x - y);
  const ms = (s) => (s.ticks * 10) / s.requests; // ticks are 10 ms (USER_HZ 100)
  console.log(
    JSON.stringify({
      a_ms_per_request: Number(ms(a).toFixed(4)),
      b_ms_per_request: Number(ms(b).toFixed(4)),
      b_over_a: Number((ms(b) / ms(a)).toFixed(3)),
      median_round_b_over_a: Number(ratios[Math.floor(ratios.length / 2)].toFixed(3)),
      b_lower_in: `${ratios.filter((r) => r < 1).length} of ${ratios.length} rounds`,
      requests: { a: a.requests, b: b.requests },
    }),
  );
} finally {
  for (const s of servers) for (const client of s.clients) client.destroy();
  for (const child of started) child.kill('SIGINT');
}
