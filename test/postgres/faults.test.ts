import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../helpers/client.js';
import { engine } from '../helpers/database.js';
import { ownPostgres, postgresBinariesPresent } from '../helpers/own-postgres.js';
import { buildServer, freePort, runScript, waitFor } from '../helpers/process.js';

// The server process against a PostgreSQL the test stops, restarts, freezes:
// requests fail fast with 503, the process stays up, it recovers by itself.
const runs = engine === 'postgres' && postgresBinariesPresent;

describe.runIf(runs)('database faults', async () => {
  // vitest runs a skipped suite's body too (to collect its tests): without
  // this return the PGlite pass started a PostgreSQL and a server here and
  // left both running, since a skipped suite's afterAll never runs.
  if (!runs) return;
  // Registered before the first await: hooks added after one are not run.
  let cleanup = () => {};
  afterAll(() => cleanup());
  const pg = await ownPostgres();
  cleanup = () => pg.remove();
  buildServer();
  const port = await freePort();
  const server = runScript('dist/main.mjs', {
    NODE_ENV: 'production',
    SESSION_SECRET: 'fault-secret-0123456789-0123456789-abcdefgh',
    DATABASE_URL: pg.url,
    DATABASE_TIMEOUT_MS: '1000',
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  cleanup = () => {
    server.child.kill('SIGKILL');
    pg.remove();
  };
  await waitFor(server, /sessionql on http/);
  const base = `http://127.0.0.1:${port}`;
  const browser = new CookieClient({ fetch: (url, init) => fetch(url.replace('http://localhost', base), init) });
  const status = async (path: string) => (await fetch(`${base}${path}`)).status;

  /** Runs `loops` clients doing writes and reads until stopped; collects every outcome. */
  function traffic(loops: number) {
    const outcomes: string[] = [];
    let running = true;
    const run = async () => {
      const c = new CookieClient({ fetch: (url, init) => fetch(url.replace('http://localhost', base), init) });
      while (running) {
        const started = Date.now();
        try {
          const r = await c.gql('mutation { addToCart(sku: "A") { totalQuantity } }');
          outcomes.push(`${r.status} ${r.body.errors?.[0]?.extensions?.code ?? 'ok'} ${Date.now() - started}`);
        } catch (error) {
          outcomes.push(`network ${(error as Error).message}`);
        }
      }
    };
    const done = Promise.all(Array.from({ length: loops }, run));
    return {
      outcomes,
      stop: async () => {
        running = false;
        await done;
      },
    };
  }

  it('stopped mid-traffic: 503 SERVICE_UNAVAILABLE fast, /health 200, /ready 503; back by itself, nothing lost', async () => {
    await browser.data(
      'mutation { setSessionValue(key: "user", value: "ada") { exists } addToCart(sku: "book", quantity: 2) { isEmpty } }',
    );
    const load = traffic(4);
    await new Promise((r) => setTimeout(r, 300));
    pg.stop();
    await new Promise((r) => setTimeout(r, 1500));

    const started = Date.now();
    const r = await browser.gql('{ session { value(key: "user") } }');
    expect(Date.now() - started).toBeLessThan(2500);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.body.errors?.[0]).toMatchObject({
      message: 'The session store is unavailable; try again shortly.',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(JSON.stringify(r.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
    const w = await browser.gql('mutation { addToCart(sku: "book") { totalQuantity } }');
    expect(w.status).toBe(503);
    expect(w.setCookie).toBeNull();
    expect(await status('/health')).toBe(200);
    expect(await status('/ready')).toBe(503);
    // The log says why, not only that: the driver's error under ours.
    expect(server.output()).toMatch(
      /"level":"error","msg":"[^"]*unavailable[^"]*","cause":"[^"]*(ECONNREFUSED|terminating connection|CONNECTION)/,
    );

    pg.start();
    const deadline = Date.now() + 20_000;
    while ((await status('/ready')) !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();

    expect(server.child.exitCode).toBeNull();
    expect((await browser.data('{ session { value(key: "user") } cart { items { sku quantity } } }')).cart.items).toEqual([
      { sku: 'book', quantity: 2 },
    ]);
    expect((await browser.data('mutation { addToCart(sku: "book") { totalQuantity } }')).addToCart.totalQuantity).toBe(3);
    const kinds = new Set(load.outcomes.map((o) => o.split(' ').slice(0, 2).join(' ')));
    expect([...kinds].sort()).toEqual(['200 ok', '503 SERVICE_UNAVAILABLE']);
  });

  it('frozen (a hung database): requests give up after DATABASE_TIMEOUT_MS with 503, and recover when it answers again', async () => {
    await browser.data('mutation { setSessionValue(key: "frozen", value: false) { exists } }');
    pg.freeze();
    try {
      const started = Date.now();
      const r = await browser.gql('mutation { setSessionValue(key: "frozen", value: true) { exists } }');
      const took = Date.now() - started;
      expect(r.status).toBe(503);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(3000);
      expect(await status('/ready')).toBe(503);
      expect(await status('/health')).toBe(200);
    } finally {
      pg.thaw();
    }
    const deadline = Date.now() + 20_000;
    while ((await status('/ready')) !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    // the write that timed out is either fully applied or not at all: a single statement
    const value = (await browser.data('{ session { value(key: "frozen") } }')).session.value;
    expect([true, false]).toContain(value);
    expect((await browser.data('mutation { setSessionValue(key: "after", value: 1) { keys } }')).setSessionValue.keys).toContain('after');
  });

  // What a failover to a standby, or a full disk's guard, looks like to the server: reads work, writes are refused.
  it('read-only: writes get 503 SERVICE_UNAVAILABLE (not 500), reads 200, /ready 503; writable again, all recover', async () => {
    await browser.data('mutation { addToCart(sku: "ro") { totalQuantity } }');
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    const readOnly = async (on: boolean) => {
      await admin.unsafe(`ALTER SYSTEM ${on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only'}`);
      await admin.unsafe('SELECT pg_reload_conf()');
      // Each backend applies the reload at its next command.
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    try {
      await readOnly(true);
      for (let i = 0; i < 3; i++) {
        const r = await browser.gql('mutation { addToCart(sku: "ro") { totalQuantity } }');
        expect(r.status).toBe(503);
        expect(r.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      }
      expect((await browser.data('{ cart { items { sku quantity } } }')).cart.items).toContainEqual({ sku: 'ro', quantity: 1 });
      expect(await status('/ready')).toBe(503);
      expect(await status('/health')).toBe(200);
    } finally {
      await admin.unsafe('SET default_transaction_read_only = off');
      await readOnly(false);
      await admin.end();
    }
    expect(await status('/ready')).toBe(200);
    // The refused writes changed nothing: the line goes from 1 to 2.
    await browser.data('mutation { addToCart(sku: "ro") { totalQuantity } }');
    expect((await browser.data('{ cart { items { sku quantity } } }')).cart.items).toContainEqual({ sku: 'ro', quantity: 2 });
  });
});
