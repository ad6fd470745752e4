// postinstall: applies patches/ with patch-package when this package is the
// project being installed (a checkout, or its production image after
// `npm ci --omit=dev`), and does nothing when it is installed as a dependency
// of another project (its folder is then inside a node_modules folder): their
// install must not depend on, nor be broken by, our patches of our own tree.
//
// patches/postgres+3.4.9.patch bounds postgres.js's pool queue (why:
// src/engines/postgres/postgres-queue.ts). --error-on-fail makes a patch that
// no longer applies (a new postgres.js, an edited patch) fail the install with
// a non-zero exit, not only print a warning as patch-package does by default
// outside CI. patch-package is in dependencies, not devDependencies, so that
// `npm ci --omit=dev` still has it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (!root.split(path.sep).includes('node_modules') && existsSync(path.join(root, 'patches'))) {
  const cli = createRequire(import.meta.url).resolve('patch-package/index.js');
  const run = spawnSync(process.execPath, [cli, '--error-on-fail'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`postinstall: patch-package failed (${run.error?.message ?? `exit ${run.status ?? run.signal}`}): see above`);
    process.exit(1);
  }
}
