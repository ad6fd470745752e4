import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Whether the installed postgres.js carries the fix of its pool queue that
 * `npm install` applies (patches/postgres+3.4.9.patch, applied by
 * patch-package from the postinstall script scripts/postinstall.mjs). Without
 * it each query gets slower the longer the process runs under load; an
 * install with `--ignore-scripts` skips it.
 *
 * Why the fix: postgres.js 3.4.x (3.4.9 is the newest) keeps the pool's
 * connections in small queues (open, busy, full, …) built on an array plus a
 * read index. `shift()` only resets the array when the queue becomes empty,
 * and `remove()` scans the whole array from position 0. Under sustained load
 * the busy queue never empties: every query pushes one more slot, and every
 * query's `move()` scans all of them, so each query gets slower for as long
 * as the process lives, and across idle gaps too. Measured with 50 concurrent
 * `SELECT 1` loops on a pool of 10: 32,517 q/s in the first 5 s fell to
 * 6,301 q/s after 60 s; with the patched queue the same loop holds
 * 83,000–88,000 q/s for the whole minute.
 *
 * The patch keeps the API and the FIFO order: `shift()` drops the consumed
 * prefix once it is at least half the array (and 64 slots), so each operation
 * costs O(1) amortised, and `remove()` searches only the live part. It changes
 * the package's three builds (ESM src/, CommonJS cjs/, Cloudflare cf/), each
 * marked 'sessionql: bounded queue'. When it no longer applies (a new
 * postgres.js), the install fails: re-check the upstream queue, then redo the
 * change in node_modules/postgres and run `npx patch-package postgres`.
 * test/unit/postgres-queue.test.ts checks the installed builds.
 */
export function postgresQueuePatched(): boolean {
  try {
    const entry = createRequire(import.meta.url).resolve('postgres'); // …/postgres/cjs/src/index.js
    const queue = path.join(path.dirname(entry), '..', '..', 'src', 'queue.js');
    return readFileSync(queue, 'utf8').includes('sessionql: bounded queue');
  } catch {
    return false;
  }
}
