import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);
const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  resolve: {
    // One copy of graphql for yoga, Pothos and our code ("another module or realm").
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // Files in a worker share one database (PGlite is one connection and
    // hundreds of MB; on PostgreSQL each worker gets its own database).
    pool: 'forks',
    isolate: false,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // One suite, both entry points (as Drizzle runs one suite on every driver):
    // everything through the fast path, and the API suite again through
    // Yoga's own handler, with the model. Tests that start their own server processes, or
    // already walk both entry points, run once.
    projects: [
      { extends: true, test: { name: 'fast path', include: ['test/**/*.test.ts'], env: { SESSIONQL_TEST_ENTRY: 'fast' } } },
      {
        extends: true,
        test: {
          name: 'yoga',
          env: { SESSIONQL_TEST_ENTRY: 'yoga' },
          include: ['test/api/**/*.test.ts', 'test/model/**/*.test.ts'],
          exclude: [
            'test/api/{startup,shutdown,embedded-lock,sessions-clear-command,clear-sessions,instances}.test.ts',
            'test/api/{entry-points,graphql-http}.test.ts',
          ],
        },
      },
      {
        // An app of a user's own (examples/shop) on the package's names, from
        // source; `extends` adds the graphql alias above. Exact matches, longest first.
        extends: true,
        resolve: {
          alias: [
            { find: /^sessionql\/yoga$/, replacement: source('./src/yoga.ts') },
            { find: /^sessionql\/pothos$/, replacement: source('./src/pothos.ts') },
            { find: /^sessionql$/, replacement: source('./src/index.ts') },
          ],
        },
        test: { name: 'shop', include: ['examples/shop/test/**/*.test.ts'] },
      },
    ],
  },
});
