import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, testEngine } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { emptyDatabaseUrl, engine } from '../helpers/database.js';
import { freePort, type Run, spawnRun, waitFor } from '../helpers/process.js';
import { EventStream } from '../helpers/sse.js';

// Several app instances on one store, as behind a load balancer: real
// processes, one cookie, requests spread over them. On PostgreSQL, on Redis
// (single and Cluster) and on cached_db (PostgreSQL cached in Redis); PGlite
// serves one process per folder.

const INSTANCES = 3;

/** The store the instances share, from this run's engine. */
async function storeEnv(): Promise<Record<string, string>> {
  if (testEngine === 'redis') return { SESSION_ENGINE: 'cache', REDIS_URL: process.env.REDIS_URL! };
  if (testEngine === 'redis-cluster') return { SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES! };
  const database = { DATABASE_URL: await emptyDatabaseUrl('instances') };
  if (testEngine === 'cached_db') {
    const cache: Record<string, string> = process.env.REDIS_URL
      ? { REDIS_URL: process.env.REDIS_URL }
      : { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES! };
    return { SESSION_ENGINE: 'cached_db', ...database, ...cache };
  }
  return database;
}

const exitWithin = (run: Run, ms: number) =>
  Promise.race([run.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref())]);

describe.skipIf(engine === 'pglite' && (testEngine === 'db' || testEngine === 'cached_db'))(
  `${INSTANCES} instances on one store (${testEngine})`,
  { timeout: 90_000 },
  () => {
    const runs: Run[] = [];
    const ports: number[] = [];

    beforeAll(async () => {
      const env = await storeEnv();
      for (let i = 0; i < INSTANCES; i++) {
        const port = await freePort();
        ports.push(port);
        runs.push(
          spawnRun(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
            ...env,
            PORT: String(port),
            HOST: '127.0.0.1',
            NODE_ENV: 'production',
            SESSION_SECRET: TEST_SECRET,
            LOG_LEVEL: 'info',
          }),
        );
      }
      await Promise.all(runs.map((run) => waitFor(run, /sessionql on http/)));
    }, 90_000);

    afterAll(async () => {
      for (const run of runs) {
        if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
        run.child.kill('SIGTERM');
        if ((await exitWithin(run, 10_000)) === 'still running') run.child.kill('SIGKILL');
      }
    });

    /** A browser whose every request goes to the next instance in turn (a round-robin balancer). */
    const balanced = () => {
      let next = 0;
      return new CookieClient({
        fetch: (url: string, init?: RequestInit) => {
          const port = ports[next++ % ports.length];
          return fetch(url.replace('http://localhost', `http://127.0.0.1:${port}`), init);
        },
      } as never);
    };

    it('read-your-writes across instances: a write on one is read on the next, and the cookie works on all', async () => {
      const c = balanced();
      for (let i = 0; i < 9; i++) {
        await c.data('mutation($v: JSON) { setSessionValue(key: "step", value: $v) { exists } }', { v: i });
        expect((await c.data('{ session { value(key: "step") } }')).session.value).toBe(i);
      }
    });

    it('concurrent writes to one session spread over the instances all land', async () => {
      const c = balanced();
      await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
      await Promise.all(Array.from({ length: 60 }, () => c.data('mutation { addToCart(sku: "A") { totalQuantity } }')));
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          c.data('mutation($k: String!) { setSessionValue(key: $k, value: true) { exists } }', { k: `k${i}` }),
        ),
      );
      const d = await c.data('{ cart { totalQuantity } session { keys } }');
      expect(d.cart.totalQuantity).toBe(61);
      expect(d.session.keys).toHaveLength(31);
    });

    it('a flush on one instance is seen by every other: the old cookie reads nothing anywhere', async () => {
      const c = balanced();
      await c.data('mutation { setSessionValue(key: "user", value: 1) { exists } }');
      const old = c.sessionCookie!;
      await c.data('mutation { flushSession { exists } }');
      for (let i = 0; i < INSTANCES; i++) {
        const replay = balanced();
        replay.jar.set('sessionid', old);
        for (let j = 0; j < i; j++) await replay.gql('{ __typename }');
        expect((await replay.data('{ session { exists keys } }')).session).toEqual({ exists: false, keys: [] });
      }
    });

    it('sessionChanged across instances: 30 subscribers (each its own session) spread over them get their own write from another instance, and a flush ends them', async () => {
      const pinned = (i: number) =>
        new CookieClient({
          fetch: (url: string, init?: RequestInit) =>
            fetch(url.replace('http://localhost', `http://127.0.0.1:${ports[i % ports.length]}`), init),
        } as never);
      const subscribers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const writer = pinned(i + 1);
          await writer.data('mutation($i: JSON) { setSessionValue(key: "n", value: $i) { exists } }', { i });
          const reader = pinned(i);
          reader.jar.set('sessionid', writer.sessionCookie!);
          const stream = await EventStream.open(reader, { query: 'subscription { sessionChanged { exists value(key: "n") } }' });
          expect(await stream.session()).toEqual({ exists: true, value: i });
          return { writer, stream, i };
        }),
      );
      try {
        await Promise.all(
          subscribers.map(({ writer, i }) =>
            writer.data('mutation($v: JSON) { setSessionValue(key: "n", value: $v) { exists } }', { v: i + 100 }),
          ),
        );
        for (const { stream, i } of subscribers) expect(await stream.session()).toEqual({ exists: true, value: i + 100 });
        // Nobody saw anyone else's write.
        await Promise.all(subscribers.map(({ stream }) => stream.quiet(300)));
        await Promise.all(subscribers.map(({ writer }) => writer.data('mutation { flushSession { exists } }')));
        for (const { stream } of subscribers) {
          expect(await stream.session()).toEqual({ exists: false, value: null });
          await stream.completes();
        }
      } finally {
        for (const { stream } of subscribers) stream.close();
      }
    });

    it('SIGTERM ends every event stream with `complete`, and the instance exits 0', async () => {
      const last = INSTANCES - 1;
      const c = new CookieClient({
        fetch: (url: string, init?: RequestInit) => fetch(url.replace('http://localhost', `http://127.0.0.1:${ports[last]}`), init),
      } as never);
      await c.data('mutation { setSessionValue(key: "n", value: 1) { exists } }');
      const streams = await Promise.all(Array.from({ length: 5 }, () => EventStream.open(c)));
      for (const stream of streams) await stream.session();
      runs[last]!.child.kill('SIGTERM');
      for (const stream of streams) await stream.completes(8000);
      expect(await exitWithin(runs[last]!, 10_000)).toBe(0);
    });
  },
);
