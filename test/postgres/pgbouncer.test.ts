import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { createPruner } from '../../src/engines/postgres/pruner.js';
import { SessionStore } from '../../src/engines/postgres/store.js';
import { createApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { noServerEvents } from '../../src/server/metrics.js';
import { serve, TEST_SECRET } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';
import { freePort, runScript, waitFor } from '../helpers/process.js';
import { EventStream } from '../helpers/sse.js';

// A real PgBouncer 1.18 in transaction pooling mode (scripts/pgbouncer.sh,
// which .ci/run starts) in front of the PostgreSQL of DATABASE_URL. Databases
// are made on the server directly and used through PgBouncer (its `*` entry).
const bouncerUrl = process.env.PGBOUNCER_URL || undefined;
const runs = Boolean(bouncerUrl && postgresUrl);

/** The database of `directUrl`, through PgBouncer. */
function throughBouncer(directUrl: string): string {
  const u = new URL(bouncerUrl!);
  u.pathname = new URL(directUrl).pathname;
  return u.toString();
}

const journal = JSON.parse(readFileSync(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const PRUNE_LOCK = '7312694025118440002';

describe.runIf(runs)('through PgBouncer in transaction mode (DATABASE_PREPARE=false)', { timeout: 90_000 }, async () => {
  if (!runs) return; // vitest runs a skipped suite's body too: set nothing up then
  const direct = await emptyDatabaseUrl('bouncer');
  const url = throughBouncer(direct);
  const opened: Database[] = [];
  const open = async (poolSize: number, prepare = false) => {
    const database = await openDatabase({ url, pgliteDir: 'memory://', poolSize, prepare });
    opened.push(database);
    return database;
  };
  const database = await open(20);
  await migrate(database);
  const admin = postgres(direct, { max: 1, onnotice: () => {} });
  afterAll(async () => {
    await Promise.all(opened.map((d) => d.close().catch(() => {})));
    await admin.end();
  });

  it('the server answers reads and writes with a cookie jar; 50 concurrent addToCart on one session = 50', async () => {
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_PREPARE: 'false' });
    expect(config.databasePrepare).toBe(false);
    const app = await serve(createApp({ config, database }));
    const c = new CookieClient(app);
    await c.data('mutation { setSessionValue(key: "username", value: "alice") { exists } }');
    expect((await c.data('{ session { value(key: "username") } }')).session.value).toBe('alice');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => {
        const tab = new CookieClient(app);
        tab.jar.set('sessionid', c.sessionCookie!);
        return tab.gql('mutation { addToCart(sku: "A") { totalQuantity } }');
      }),
    );
    expect(results.map((r) => r.body.errors?.[0]?.message ?? r.status)).toEqual(Array(50).fill(200));
    expect((await c.data('{ cart { items { sku quantity } } }')).cart.items).toEqual([{ sku: 'A', quantity: 50 }]);
  });

  it('a real server process on the PgBouncer URL: /ready, a write and a read, SIGTERM exits 0', async () => {
    const port = await freePort();
    const server = runScript('src/server/main.ts', {
      NODE_ENV: 'production',
      SESSION_SECRET: TEST_SECRET,
      DATABASE_URL: url,
      DATABASE_PREPARE: 'false',
      SESSION_PRUNE_INTERVAL: '1',
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    try {
      await waitFor(server, /sessionql on http/);
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
      const post = (query: string, cookie?: string) =>
        fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
          body: JSON.stringify({ query }),
        });
      const write = await post('mutation { addToCart(sku: "B", quantity: 2) { totalQuantity } }');
      expect(await write.json()).toEqual({ data: { addToCart: { totalQuantity: 2 } } });
      const cookie = write.headers.get('set-cookie')!.split(';')[0]!;
      const read = await post('{ cart { totalQuantity } }', cookie);
      expect(await read.json()).toEqual({ data: { cart: { totalQuantity: 2 } } });
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });

  it('sessionChanged: LISTEN through transaction pooling hears nothing, so it is refused with a reason; DATABASE_LISTEN_URL (PostgreSQL itself) works', async () => {
    const errors: string[] = [];
    const logger = { ...quiet, request() {}, error: (...args: unknown[]) => void errors.push(args.map(String).join(' ')) };
    const through = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_PREPARE: 'false' });
    const bounced = createApp({ config: through, database, logger });
    const c = new CookieClient(await serve(bounced));
    await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    const refused = await EventStream.open(c);
    const r = await refused.result(10_000);
    expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    refused.close();
    await expect.poll(() => errors.join('\n')).toMatch(/DATABASE_LISTEN_URL/);

    const listening = createApp({
      config: loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, DATABASE_PREPARE: 'false', DATABASE_LISTEN_URL: direct }),
      database,
      logger: { ...quiet, request() {} },
    });
    const tab = new CookieClient(await serve(listening));
    tab.jar.set('sessionid', c.sessionCookie!);
    const stream = await EventStream.open(tab);
    expect((await stream.session()).cart.totalQuantity).toBe(1);
    // A write through the other app (PgBouncer both ways) reaches this subscriber.
    await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    expect((await stream.session()).cart.totalQuantity).toBe(2);
    stream.close();
    // Their LISTEN connections only: the database is this file's.
    await Promise.all([bounced.store.feed?.close?.(), listening.store.feed?.close?.()]);
  });

  it('two instances migrating an empty database at once both succeed', async () => {
    const fresh = throughBouncer(await emptyDatabaseUrl('bouncer_migrate'));
    const instances = await Promise.all(
      Array.from({ length: 2 }, () => openDatabase({ url: fresh, pgliteDir: 'memory://', poolSize: 2, prepare: false })),
    );
    try {
      await Promise.all(instances.map((db) => migrate(db)));
      await Promise.all(instances.map((db) => migrate(db))); // and again: nothing left to do
      const rows = await instances[0]!.rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      expect(rows).toEqual([{ n: journal.entries.length }]);
    } finally {
      await Promise.all(instances.map((db) => db.close()));
    }
  });

  it('why session-level advisory locks are not used: PgBouncer leaves one held on its pooled server connection', async () => {
    const key = 424_242;
    const client = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
    await client`SELECT pg_advisory_lock(${key}::bigint)`;
    await client.end();
    // The client is gone, but the server connection it ran on went back to
    // PgBouncer's pool still holding the lock (no reset in transaction mode).
    const held = () => admin<{ pid: number }[]>`SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND objid = ${key} AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    const holders = await held();
    expect(holders).toHaveLength(1);
    await admin`SELECT pg_terminate_backend(${holders[0]!.pid})`;
  });

  it('pruning: the lock excludes through PgBouncer, and two pruners at once delete every expired row once', async () => {
    const store = (db: Database) => new SessionStore(db, { ageSeconds: 100, maxBytes: 65536 });
    const pruners = await Promise.all(
      [0, 1].map(async () => {
        const db = await open(4);
        return createPruner({
          store: store(db),
          database: db,
          clock: Date,
          intervalSeconds: 0,
          logger: quiet,
          events: noServerEvents,
          batchSize: 100,
        });
      }),
    );
    const seed = async (expired: number, live: number) => {
      await admin`INSERT INTO sessionql_session (key_hash, data, expires_at)
        SELECT 'x-' || gen_random_uuid(), '{}'::jsonb, now() - interval '1 hour' FROM generate_series(1, ${expired}::int)`;
      await admin`INSERT INTO sessionql_session (key_hash, data, expires_at)
        SELECT 'l-' || gen_random_uuid(), '{}'::jsonb, now() + interval '1 hour' FROM generate_series(1, ${live}::int)`;
    };
    const left = async () =>
      (
        await admin<{ expired: number; live: number }[]>`SELECT count(*) FILTER (WHERE expires_at <= now())::int AS expired,
          count(*) FILTER (WHERE expires_at > now() AND key_hash LIKE 'l-%')::int AS live FROM sessionql_session`
      )[0]!;
    await seed(50, 0);
    // Another instance holds the lock, in a transaction through PgBouncer: this one skips.
    const other = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = other.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${PRUNE_LOCK}::bigint)`;
      locked();
      await released;
    });
    await isLocked;
    try {
      expect(await pruners[0]!.runOnce()).toBe('skipped');
      expect((await left()).expired).toBe(50);
    } finally {
      release();
      await holding;
      await other.end();
    }
    // Committed: the lock is gone with the transaction, nothing stays on the server connection.
    expect(await pruners[0]!.runOnce()).toBe(50);

    await seed(2000, 10);
    const results = await Promise.all(pruners.map((p) => p.runOnce()));
    const deleted = results.reduce<number>((sum, r) => sum + (r === 'skipped' ? 0 : r), 0);
    expect(deleted).toBe(2000);
    expect(await left()).toEqual({ expired: 0, live: 10 });
  });

  it('prepared statements ON through PgBouncer: detected (it refuses plan_cache_mode), the pool goes on unprepared', async () => {
    const prepared = await open(10, true);
    const store = new SessionStore(prepared, { ageSeconds: 100, maxBytes: 65536 });
    const now = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => store.load(`nobody-${i}`, now)));
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  });

  it('what detection avoids: named prepared statements through transaction pooling fail, or never answer', async () => {
    // Named prepared statements, and no startup parameter for PgBouncer to refuse. (postgres.js
    // prepares a statement again once when it is missing, which hides the simplest case.)
    const sql = postgres(url, { max: 10, onnotice: () => {}, connect_timeout: 5 });
    const outcome = { ok: 0, failed: [] as string[], unanswered: 0 };
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), 5000);
        });
        try {
          const r = await Promise.race([sql.unsafe(`SELECT $1::int + ${i % 7} AS n`, [i], { prepare: true }), late]);
          if (r === 'late') outcome.unanswered++;
          else outcome.ok++;
        } catch (error) {
          outcome.failed.push(String((error as Error).message));
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    await sql.end({ timeout: 0 });
    // Measured with PgBouncer 1.18 (5 runs): about 40 of 300 answered, 1 to 3 failed with
    // `prepared statement "…" does not exist` (26000), the rest never answered.
    expect(outcome.failed.length + outcome.unanswered).toBeGreaterThan(0);
    expect(outcome.failed.every((m) => /^prepared statement ".*" (does not exist|already exists)$/.test(m))).toBe(true);
  });
});
