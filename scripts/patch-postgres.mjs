// postinstall: fixes a slowdown in postgres.js 3.4.x (3.4.9 is the newest)
// that grows with the age of the process.
//
// Its pool keeps connections in small queues (open, busy, full, …) built on an
// array plus a read index. `shift()` only resets the array when the queue
// becomes empty, and `remove()` scans the whole array from position 0. Under
// sustained load the busy queue never empties: every query pushes one more
// slot, and every query's `move()` scans all of them. Each query gets slower
// for as long as the process lives, and across idle gaps too. Measured here
// with 50 concurrent `SELECT 1` loops on a pool of 10, 32,517 q/s in the first
// 5 s fell to 6,301 q/s after 60 s. With this queue the same loop holds
// 83,000–88,000 q/s for the whole minute.
//
// The replacement keeps the API and the FIFO order. `shift()` drops the
// consumed prefix once it is at least half the array, so each operation costs
// O(1) amortised. `remove()` searches only the live part.
//
// The bench also applies it to a copy of the peers' floor (`floor-fixed`).
//
// Each of the package's three builds (ESM, CommonJS, Cloudflare) is patched
// when it holds the known 3.4.x text. A file already patched is left alone. A
// file of any other shape gets a warning and is left as it is, and
// test/unit/postgres-queue.test.ts then fails: re-check the upstream code
// before you change this script.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const MARKER = 'sessionql: bounded queue';

const BODY = `function Queue(initial = []) {
  // ${MARKER} (see sessionql's scripts/patch-postgres.mjs)
  let xs = initial.slice()
  let index = 0

  return {
    get length() {
      return xs.length - index
    },
    remove: (x) => {
      const at = xs.indexOf(x, index)
      return at === -1
        ? null
        : (xs.splice(at, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else if (index >= 64 && index * 2 >= xs.length) {
        xs = xs.slice(index)
        index = 0
      } else {
        xs[index - 1] = undefined
      }

      return out
    }
  }
}
`;

// The upstream body, as shipped in 3.4.0 to 3.4.9.
const UPSTREAM = `function Queue(initial = []) {
  let xs = initial.slice()
  let index = 0

  return {
    get length() {
      return xs.length - index
    },
    remove: (x) => {
      const index = xs.indexOf(x)
      return index === -1
        ? null
        : (xs.splice(index, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else {
        xs[index - 1] = undefined
      }

      return out
    }
  }
}
`;

const BUILDS = [
  ['src/queue.js', 'export default Queue'],
  ['cjs/src/queue.js', 'module.exports = Queue'],
  ['cf/src/queue.js', 'export default Queue'],
];

/** The postgres package's directory, as this project resolves it. */
function postgresDir() {
  // `postgres` resolves to cjs/src/index.js under require().
  return join(dirname(createRequire(import.meta.url).resolve('postgres')), '..', '..');
}

/** 'patched', 'upstream' (the known slow text) or 'unknown'. */
function queueState(source) {
  const text = source.replace(/\r\n/g, '\n');
  if (text.includes(MARKER)) return 'patched';
  return text.includes(UPSTREAM) ? 'upstream' : 'unknown';
}

/**
 * Patches the three builds of the postgres package at root (default: the one
 * this project resolves). Returns how many files were not of a known shape.
 */
export function patchPostgres(root = postgresDir()) {
  let unknown = 0;
  for (const [file, exportLine] of BUILDS) {
    const path = join(root, file);
    const state = queueState(readFileSync(path, 'utf8'));
    if (state === 'upstream') writeFileSync(path, `${exportLine}\n\n${BODY}`);
    if (state === 'unknown') {
      unknown++;
      console.warn(`patch-postgres: ${path} is not the known postgres.js 3.4 queue; left as is`);
    }
  }
  return unknown;
}

// node scripts/patch-postgres.mjs [PACKAGE_DIR]. (A file URL, not `file://` + the
// path: a checkout under a path with a space would otherwise skip the patch.)
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (patchPostgres(process.argv[2]) === 0) console.log('patch-postgres: postgres.js pool queue bounded (see scripts/patch-postgres.mjs)');
}
