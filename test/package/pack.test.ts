import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/process.js';

// What a user gets: `npm pack`, installed next to graphql-yoga and graphql in
// a project of their own, imported by the package's names, type-checked
// against the shipped declarations, and serving sessions over real HTTP.

const work = mkdtempSync(path.join(tmpdir(), 'sessionql-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });

const APP = `import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { cart, defineArea } from 'sessionql';
import { useSessions } from 'sessionql/yoga';
import { z } from 'zod';

const wishlist = defineArea({ key: 'wishlist', schema: z.array(z.string()), default: [] as string[] })
  .operation('add', { input: z.object({ sku: z.string().min(1) }), apply: (skus, { sku }) => (skus.includes(sku) ? skus : [...skus, sku]) });

const sessions = useSessions({ secret: 'a-user-secret-of-32-characters-or-more', dataDir: 'memory://', areas: [cart, wishlist] });
const yoga = createYoga({
  plugins: [sessions],
  schema: createSchema<{ session: import('sessionql').Session }>({
    typeDefs: 'type Query { visits: Int, wishlist: [String!]! } type Mutation { visit: Int!, wish(sku: String!): [String!]! }',
    resolvers: {
      Query: {
        // With a default, get() is typed without undefined (a number here, or tsc fails this test).
        visits: async (_r, _a, { session }) => {
          const visits: number = await session.get('visits', 0);
          return visits || null;
        },
        wishlist: (_r, _a, { session }) => session.read(wishlist),
      },
      Mutation: {
        visit: async (_r, _a, { session }) => (await session.update<number>('visits', (n) => (n ?? 0) + 1)) ?? 0,
        wish: (_r, { sku }: { sku: string }, { session }) => session.apply(wishlist, 'add', { sku }),
      },
    },
  }),
});
const server = createServer(yoga).listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  const url = \`http://127.0.0.1:\${port}/graphql\`;
  const post = (query: string, cookie?: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ query }) });
  const first = await post('mutation { visit wish(sku: "A") }');
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  await Promise.all(Array.from({ length: 20 }, () => post('mutation { visit }', cookie)));
  const read = await (await post('{ visits wishlist }', cookie)).json();
  console.log(JSON.stringify({ first: await first.json(), read, cookie: first.headers.get('set-cookie') }));
  server.close();
  await sessions.close();
});
`;

describe('npm pack: the library as a user installs it', () => {
  it('installs next to graphql-yoga and graphql, type-checks, and serves sessions', { timeout: 240_000 }, () => {
    run('npm', ['pack', '--silent', '--pack-destination', work], repoRoot);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const listing = run('tar', ['-tzf', path.join(work, tarball!)], work);
    for (const file of [
      'package/dist/lib/yoga.js',
      'package/dist/lib/yoga.d.ts',
      'package/dist/lib/pothos.js',
      'package/dist/lib/index.d.ts',
      'package/drizzle/meta/_journal.json',
    ]) {
      expect(listing).toContain(file);
    }
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('package/test/');

    const app = path.join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
    const peers = ['graphql@16', 'graphql-yoga@5', 'zod@4'];
    run('npm', ['install', '--prefer-offline', '--no-save', path.join(work, tarball!), ...peers], app);
    writeFileSync(path.join(app, 'app.ts'), APP);
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['app.ts'],
      }),
    );
    // The shipped declarations resolve through the package's exports, with the user's own graphql and zod.
    run(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.json',
        '--types',
        'node',
        '--typeRoots',
        path.join(repoRoot, 'node_modules/@types'),
      ],
      app,
    );

    const esbuild = path.join(repoRoot, 'node_modules/.bin/esbuild');
    run(esbuild, ['app.ts', '--outfile=app.mjs', '--format=esm', '--log-level=warning'], app);
    const out = JSON.parse(run(process.execPath, ['app.mjs'], app).trim().split('\n').at(-1)!);
    expect(out.first.data).toEqual({ visit: 1, wish: ['A'] });
    expect(out.cookie).toMatch(/^sessionid=.+HttpOnly/);
    expect(out.read.data).toEqual({ visits: 21, wishlist: ['A'] });
  });
});
