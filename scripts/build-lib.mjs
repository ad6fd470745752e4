// npm run build:lib (and `npm pack`, through prepack): the library the
// package exports, into dist/lib/.
//
//   dist/lib/index.js, yoga.js, pothos.js   the entry points (sessionql,
//                                           sessionql/yoga, sessionql/pothos),
//                                           ES modules, shared code in chunks,
//                                           every package left external
//   dist/lib/**/*.d.ts                      declarations (tsc -p tsconfig.lib.json)
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'dist', 'lib');

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/index.ts', yoga: 'src/yoga.ts', pothos: 'src/pothos.ts' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  target: 'node20',
  sourcemap: true,
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.lib.json'], {
  cwd: root,
  stdio: 'inherit',
});
