// A writable copy of the read-only ../shared/peers (bench/.work/peers, git-ignored),
// refreshed when the source changes, and its setup.sh run only when something
// the chosen targets need is missing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = '.bench-source.json';
const NPM_DIRS = ['express', 'loadgen', 'floor', 'floor-redis'];

/** Relative paths of the files under dir, node_modules and the marker left out. */
function listFiles(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === MARKER || e.name === '__pycache__') continue;
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

const sha = (buf) => createHash('sha256').update(buf).digest('hex');

/**
 * Makes dest an up-to-date, writable copy of source. Files are compared by
 * content; a folder whose package-lock.json changed loses its node_modules
 * (setup reinstalls it). Returns { changed, fingerprint }.
 */
export function syncPeers(source, dest, log) {
  if (!existsSync(path.join(source, 'loadgen', 'loadgen.mjs'))) {
    throw new Error(`no peers at ${source} (want loadgen/loadgen.mjs there); pass --peers DIR`);
  }
  const files = listFiles(source);
  const hashes = Object.fromEntries(files.map((f) => [f, sha(readFileSync(path.join(source, f)))]));
  const fingerprint = sha(JSON.stringify(hashes));
  let old = null;
  try {
    old = JSON.parse(readFileSync(path.join(dest, MARKER), 'utf8'));
  } catch {}
  if (old?.fingerprint === fingerprint) return { changed: false, fingerprint };

  log(`peers: ${old ? 'refreshing' : 'copying'} ${source} → ${dest}`);
  mkdirSync(dest, { recursive: true });
  for (const f of files) {
    const to = path.join(dest, f);
    const body = readFileSync(path.join(source, f));
    if (existsSync(to) && sha(readFileSync(to)) === hashes[f]) continue;
    mkdirSync(path.dirname(to), { recursive: true });
    if (existsSync(to)) chmodSync(to, 0o644);
    writeFileSync(to, body);
    // Keep the execute bits (run.sh, setup.sh), add the owner's write bit.
    chmodSync(to, (statSync(path.join(source, f)).mode & 0o777) | 0o200);
  }
  if (old) {
    for (const f of listFiles(dest)) if (!(f in hashes)) rmSync(path.join(dest, f), { force: true });
    for (const d of NPM_DIRS) {
      const lock = path.join(d, 'package-lock.json');
      if (old.hashes?.[lock] !== hashes[lock]) rmSync(path.join(dest, d, 'node_modules'), { recursive: true, force: true });
    }
  }
  writeFileSync(path.join(dest, MARKER), JSON.stringify({ source, fingerprint, hashes }, null, 1));
  return { changed: true, fingerprint };
}

/** An interpreter that imports django, psycopg2 and gunicorn (and django_redis: `redis`), Debian's first, or null. */
export function djangoPython({ redis = false } = {}) {
  for (const p of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(p, ['-c', `import django, psycopg2, gunicorn${redis ? ', django_redis' : ''}`], { stdio: 'ignore' });
    if (r.status === 0) return p;
  }
  return null;
}

/** What the targets need that is not there yet (empty: nothing to set up). */
export function missingParts(dest, { django, djangoRedis, express, floor, floorRedis }) {
  const missing = [];
  const mod = (d) => existsSync(path.join(dest, d, 'node_modules'));
  if (!mod('loadgen')) missing.push('loadgen/node_modules');
  if (express && !mod('express')) missing.push('express/node_modules');
  if (floor && !mod('floor')) missing.push('floor/node_modules');
  if (floorRedis && !mod('floor-redis')) missing.push('floor-redis/node_modules');
  if (django && !djangoPython()) missing.push('python3-django/psycopg2/gunicorn');
  if (djangoRedis && !djangoPython({ redis: true })) missing.push('python3-django-redis');
  return missing;
}

/** Runs the copy's setup.sh (apt + npm ci), at most timeoutMs. Throws on failure. */
export function runSetup(dest, log, timeoutMs = 15 * 60_000) {
  log(`peers: running setup.sh (apt for Django, npm ci for ${NPM_DIRS.join(', ')})`);
  const r = spawnSync('bash', [path.join(dest, 'setup.sh')], {
    cwd: dest,
    stdio: ['ignore', 2, 2], // progress to stderr: stdout is the report
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`peers setup.sh failed (${r.error?.message || `exit ${r.status ?? r.signal}`})`);
}

/**
 * floor-fixed: the copy's floor/ (node_modules included) at dest/floor-fixed,
 * with the postgres.js queue patch this project installs for itself
 * (patches/postgres+3.4.9.patch, applied by patch-package). The floor as first shipped carried that bug, so
 * its speed fell the longer its process ran; this one shows the ceiling without it.
 * Peers whose floor brings its own fix (floor/fix-queue.mjs, which its run.sh
 * insists on) get that fix instead: floor-fixed is then the floor itself.
 */
export function makeFixedFloor(dest, log) {
  const to = path.join(dest, 'floor-fixed');
  rmSync(to, { recursive: true, force: true });
  cpSync(path.join(dest, 'floor'), to, { recursive: true });
  if (existsSync(path.join(to, 'fix-queue.mjs'))) {
    const r = spawnSync(process.execPath, ['fix-queue.mjs'], { cwd: to, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`floor-fixed: floor/fix-queue.mjs failed: ${(r.stderr || r.error?.message || '').trim()}`);
    log('peers: floor-fixed = floor (its own postgres.js queue fix, fix-queue.mjs)');
    return;
  }
  // patch-package wants the patch folder relative to the app it patches (the copy).
  const patches = path.relative(to, fileURLToPath(new URL('../../patches', import.meta.url)));
  const cli = createRequire(import.meta.url).resolve('patch-package/index.js');
  const r = spawnSync(process.execPath, [cli, '--error-on-fail', '--patch-dir', patches], { cwd: to, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`floor-fixed: could not patch its postgres.js: ${(r.stdout + r.stderr || r.error?.message || '').trim()}`);
  log('peers: floor-fixed = floor with the postgres.js queue patch');
}
