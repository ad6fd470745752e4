import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Whether the installed postgres.js carries the fix of its pool queue that
 * `npm install` applies (scripts/patch-postgres.mjs, a postinstall script).
 * Without it each query gets slower the longer the process runs under load;
 * an install with `--ignore-scripts` skips it.
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
