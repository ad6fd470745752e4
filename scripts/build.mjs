// npm run build (and so `npm start`, through prestart): everything the server
// runs from dist/, with esbuild's JS API. Each build is one function of the
// output folder, listed in `build()`; they run in parallel.
//
//   dist/main.mjs   src/server/main.ts bundled for Node (packages stay external)
//   dist/web/       the demo page: demo.ts bundled for the browser (demo.js),
//                   demo.html and demo.css copied; src/http/use-demo-page.ts
//                   serves them, read once, from web/ beside the server bundle
//
//   node scripts/build.mjs [--outfile=dist/main.mjs]
//
// --outfile moves the server bundle (relative to the working directory, as
// esbuild's own flag), and web/ with it: the bench builds its own copy that
// way (bench/run.mjs rewrites the --outfile of package.json's build script).
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build as esbuild } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const webSource = path.join(root, 'src', 'web');

/** demo.ts for the browser: one minified IIFE, no imports left. */
const demoScript = {
  absWorkingDir: root,
  entryPoints: [path.join(webSource, 'demo.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

/**
 * demo.js in memory, for use-demo-page.ts when it runs from source (vitest,
 * tsx), where there is no dist/web/ to trust. Throws on a build error.
 */
export async function bundleDemoScript() {
  const result = await esbuild({ ...demoScript, write: false, logLevel: 'silent' });
  return result.outputFiles[0].text;
}

/** The server: src/server/main.ts into `outfile`, with a source map. */
function buildServer(outfile) {
  return esbuild({
    absWorkingDir: root,
    entryPoints: ['src/server/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: 'node20',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  });
}

/** The demo page into `dir`: demo.js built, demo.html and demo.css copied. */
async function buildWeb(dir) {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    esbuild({ ...demoScript, outfile: path.join(dir, 'demo.js') }),
    ...['demo.html', 'demo.css'].map((file) => copyFile(path.join(webSource, file), path.join(dir, file))),
  ]);
}

/** Every build, the server bundle at `outfile` and the rest beside it. */
export async function build({ outfile = path.join(root, 'dist', 'main.mjs') } = {}) {
  const dist = path.dirname(outfile);
  await Promise.all([buildServer(outfile), buildWeb(path.join(dist, 'web'))]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const flag = args.find((arg) => arg.startsWith('--outfile='));
  if (args.some((arg) => arg !== flag)) {
    console.error('usage: node scripts/build.mjs [--outfile=dist/main.mjs]');
    process.exit(2);
  }
  try {
    await build(flag ? { outfile: path.resolve(flag.slice('--outfile='.length)) } : {});
  } catch (error) {
    // esbuild has already printed its errors; anything else (a missing file) is shown here.
    if (!error?.errors?.length) console.error(error);
    process.exitCode = 1;
  }
}
