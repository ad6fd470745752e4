#!/usr/bin/env node
// npm run soak [-- --minutes 10 --connections 20]
// N minutes of mixed session traffic against the built server on PostgreSQL
// (DATABASE_URL, or a throwaway cluster from scripts/pg.sh), printing every
// 10 s: requests/s, errors, server RSS; then whether memory stayed flat.
// Not part of npm test. Loopback only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { database, startServer } from './lib.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    interval: { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const connections = Number(values.connections);
const intervalS = Number(values.interval);
const root = new URL('..', import.meta.url).pathname;

const db = database(root, 'sessionql-soak-pg');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
const { server, base } = await startServer(root, db.url, { env: { SESSION_PRUNE_INTERVAL: '60' } });
const cleanup = () => {
  server.kill('SIGTERM');
  db.stop();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const reads = [
  '{ session { value(key: "username") } cart { items { sku quantity } } }',
  '{ session { keys items { key value } expiryAge } preferences { theme } }',
];
const writes = [
  'mutation { addToCart(sku: "A") { totalQuantity } }',
  'mutation($k: String!) { setSessionValue(key: $k, value: {n: 1, s: "x"}) { exists } }',
  'mutation { updatePreferences(input: { theme: DARK, pageSize: 50 }) { theme } }',
  'mutation { setCartItemQuantity(sku: "A", quantity: 3) { totalQuantity } }',
  'mutation { cycleSessionKey { exists } }',
  'mutation { flushSession { exists } }',
];
let requests = 0;
let errors = 0;
let running = true;
async function worker(id) {
  let cookie = '';
  let n = 0;
  while (running) {
    n++;
    const write = n % 5 === 0;
    const query = write ? writes[(n / 5 + id) % writes.length] : reads[n % reads.length];
    try {
      const r = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ query, variables: { k: `k${n % 40}` } }),
      });
      const body = await r.text();
      const set = r.headers.get('set-cookie');
      if (set) cookie = /Max-Age=0/.test(set) ? '' : set.split(';')[0];
      if (r.status !== 200 || body.includes('"errors"')) errors++;
    } catch {
      errors++;
    }
    requests++;
    // the cart line cap (999) is reached after ~5,000 requests of one session: start afresh
    if (n % 2000 === 0) cookie = '';
  }
}
const started = Date.now();
const workers = Array.from({ length: connections }, (_, i) => worker(i));
const samples = [];
let last = { t: started, requests: 0 };
console.log(
  `soak: ${minutes} min, ${connections} connections, server pid ${server.pid}, PostgreSQL ${process.env.DATABASE_URL ? db.url.replace(/\/\/[^@]*@/, '//') : '(scripts/pg.sh)'}`,
);
console.log('elapsed_s  req/s  errors  rss_mb');
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, intervalS * 1000));
  const now = Date.now();
  const rate = ((requests - last.requests) * 1000) / (now - last.t);
  last = { t: now, requests };
  const mb = rss();
  samples.push({ t: (now - started) / 1000, mb });
  console.log(
    `${String(Math.round((now - started) / 1000)).padStart(9)}  ${rate.toFixed(0).padStart(5)}  ${String(errors).padStart(6)}  ${mb.toFixed(1).padStart(6)}`,
  );
}
running = false;
await Promise.all(workers);
cleanup();

// Flat: after the first minute (warm-up, heap growth), the mean RSS of the last
// minute is within 5 % of the first warm minute's. The least-squares trend is
// printed too; over ten minutes of samples ±1 MB apart it is mostly noise, so
// it does not decide (a first version that required < 10 MB/h called a
// 117.4 → 118.0 MB run "GREW").
const warm = samples.filter((s) => s.t >= Math.min(60, (minutes * 60) / 3));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const tBar = mean(warm.map((s) => s.t));
const mBar = mean(warm.map((s) => s.mb));
const slope = warm.reduce((a, s) => a + (s.t - tBar) * (s.mb - mBar), 0) / (warm.reduce((a, s) => a + (s.t - tBar) ** 2, 0) || 1);
const perHour = slope * 3600;
const first = warm[0]?.mb ?? 0;
const lastMb = warm.at(-1)?.mb ?? 0;
const perMinute = Math.max(1, Math.round(60 / intervalS));
const firstMinute = mean(warm.slice(0, perMinute).map((s) => s.mb));
const lastMinute = mean(warm.slice(-perMinute).map((s) => s.mb));
const flat = lastMinute <= firstMinute * 1.05;
console.log(
  `soak: ${requests} requests, ${errors} errors, ${(requests / ((Date.now() - started) / 1000)).toFixed(0)} req/s; RSS ${first.toFixed(1)} → ${lastMb.toFixed(1)} MB after warm-up (first vs last minute ${firstMinute.toFixed(1)} → ${lastMinute.toFixed(1)} MB), trend ${perHour.toFixed(1)} MB/h: memory ${flat ? 'stayed flat' : 'GREW'}`,
);
process.exit(flat && errors === 0 ? 0 : 1);
