#!/usr/bin/env node
// npm run bench:profile: where the server's CPU goes under the read and the
// write workload. Runs the built server with --cpu-prof on PostgreSQL
// (DATABASE_URL, or a throwaway cluster from scripts/pg.sh), loads it with the
// peers' load generator (graphql profile, 50 connections, 10 s per mix; run
// `npm run bench -- --quick` once first so bench/.work/peers is set up; arguments: read, write, mixed (80/20)),
// and prints self time by function and inclusive time by package. The
// .cpuprofile files stay in bench/.work/profiles (open them in Chrome DevTools
// or speedscope for a flame graph). With SESSION_ENGINE=cache (and REDIS_URL
// or REDIS_CLUSTER_NODES) or cached_db in the environment, the server runs on
// that engine instead.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { database, startServer } from '../scripts/lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const loadgen = path.join(root, 'bench/.work/peers/loadgen/loadgen.mjs');
if (!existsSync(loadgen)) throw new Error('bench/.work/peers is not set up: run `npm run bench -- --quick --no-load` (or any bench) once');
const outDir = path.join(root, 'bench/.work/profiles');

const db = database(root, 'sessionql-profile-pg');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });

/** Self time by function and inclusive time by package, in % of the profile. */
function summarize(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    time.set(id, (time.get(id) ?? 0) + dt);
    total += dt;
  });
  const where = (cf) => {
    const m = cf.url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
    if (m) return m[1];
    if (cf.url.includes('dist/main.mjs') || cf.url.includes('/src/')) return 'sessionql';
    if (cf.url.startsWith('node:')) return cf.url;
    return cf.url ? 'node' : cf.functionName;
  };
  const self = new Map();
  const incl = new Map();
  for (const [id, t] of time) {
    const cf = byId.get(id).callFrame;
    const key = `${cf.functionName || '(anonymous)'} (${where(cf)})`;
    self.set(key, (self.get(key) ?? 0) + t);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const pkg = where(byId.get(cur).callFrame);
      if (!seen.has(pkg)) {
        seen.add(pkg);
        incl.set(pkg, (incl.get(pkg) ?? 0) + t);
      }
    }
  }
  const top = (m, n) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  return `self time (top 15):\n${top(self, 15).join('\n')}\n\ninclusive by package (top 15):\n${top(incl, 16).slice(1).join('\n')}`;
}

const report = [];
// node bench/profile.mjs [read] [write] [mixed]: the mixes to profile (default read and write; mixed is 80/20).
const MIXES = { read: '1', write: '0', mixed: '0.8' };
const asked = process.argv.slice(2);
for (const name of asked) if (!(name in MIXES)) throw new Error(`unknown mix ${name}: read, write or mixed`);
for (const [mix, ratio] of (asked.length ? asked : ['read', 'write']).map((name) => [name, MIXES[name]])) {
  const dir = path.join(outDir, mix);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const engine = Object.fromEntries(
    ['SESSION_ENGINE', 'REDIS_URL', 'REDIS_CLUSTER_NODES'].filter((k) => process.env[k]).map((k) => [k, process.env[k]]),
  );
  const { server, port } = await startServer(root, db.url, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], env: engine });
  const out = execFileSync(
    process.execPath,
    // Writes: 1 + 5 s, so loadgen's 50 carts stay under the contract's 999 per line.
    [
      loadgen,
      `http://127.0.0.1:${port}`,
      '-c',
      '50',
      ...(ratio === '0' ? ['-d', '5', '--warmup', '1'] : ['-d', '10', '--warmup', '2']),
      '-r',
      ratio,
      '--profile',
      'graphql',
      '--check-errors',
    ],
    { encoding: 'utf8' },
  );
  const { rps, p99_ms, errors } = JSON.parse(out.trim().split('\n').pop());
  server.kill('SIGINT');
  await new Promise((r) => server.on('exit', r));
  const file = readdirSync(dir)
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  report.push(`## ${mix} (${rps} req/s, p99 ${p99_ms} ms, ${errors} errors; ${path.relative(root, file)})\n\n${summarize(file)}\n`);
}
db.stop();
const text = report.join('\n');
console.log(text);
writeFileSync(path.join(outDir, 'summary.txt'), text);
