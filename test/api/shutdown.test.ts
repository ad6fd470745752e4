import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { testDatabase, testDatabaseUrl } from '../helpers/database.js';
import { buildServer, freePort, runScript, waitFor } from '../helpers/process.js';

// Real processes, each opening PGlite or PostgreSQL: slow on a busy 2-core machine.
describe('graceful shutdown', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sessionql-shutdown-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  await testDatabase();
  buildServer();

  it('SIGTERM under load: in-flight requests finish, every request the server read is answered, exit 0', async () => {
    const port = await freePort();
    const server = runScript('dist/main.mjs', {
      NODE_ENV: 'production',
      SESSION_SECRET: 'shutdown-secret-0123456789-0123456789-abcdef',
      DATABASE_URL: testDatabaseUrl(),
      SESSIONQL_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHUTDOWN_TIMEOUT: '5',
    });
    await waitFor(server, /sessionql on http/);
    const url = `http://127.0.0.1:${port}/graphql`;
    const outcomes = { ok: 0, refused: 0, afterExit: 0, reset: [] as string[], other: [] as string[] };
    // A mark of this run's carts in the database (on PostgreSQL it is shared with other files).
    const sku = `SHUTDOWN-${process.pid}-${Date.now()}`;
    let signalled = 0;
    let exited = false;
    const client = async () => {
      for (;;) {
        // Once the server has exited, the port is free: another process may
        // take it, and whatever answers is not this server.
        if (exited) {
          outcomes.afterExit++;
          return;
        }
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `mutation { addToCart(sku: "${sku}") { totalQuantity } }` }),
          });
          await r.text();
          if (r.status !== 200) outcomes.other.push(String(r.status));
          else outcomes.ok++;
        } catch (error) {
          const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
          // Refused: the server no longer accepts connections, the request never reached it.
          if (code === 'ECONNREFUSED') {
            outcomes.refused++;
            return;
          }
          outcomes.reset.push(code);
          return;
        }
        if (signalled && Date.now() - signalled > 8000) {
          outcomes.other.push(`still answered ${Date.now() - signalled} ms after SIGTERM`);
          return;
        }
      }
    };
    const clients = Array.from({ length: 20 }, client);
    await new Promise((r) => setTimeout(r, 1000));
    const okBefore = outcomes.ok;
    signalled = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    exited = true;
    const took = Date.now() - signalled;
    await Promise.all(clients);

    expect(code).toBe(0);
    expect(took).toBeLessThan(6000);
    expect(okBefore).toBeGreaterThan(20);
    // Every client ends on a connection the server did not take: refused
    // once the listener is closed, or (rarely, see README Operations,
    // "Shutdown") reset by the kernel while queued, unread, at the close.
    expect(outcomes.other).toEqual([]);
    expect(outcomes.refused + outcomes.reset.length + outcomes.afterExit).toBe(20);
    expect(outcomes.afterExit).toBeLessThan(20);
    expect(outcomes.reset).toEqual(outcomes.reset.map(() => 'ECONNRESET'));
    // No reset request was read: the database holds exactly the carts answered 200.
    const database = await openDatabase({ url: testDatabaseUrl(), pgliteDir: path.join(dataDir, 'pglite') });
    try {
      const [row] = await database.rows<{ n: number }>(
        sql`select count(*)::int as n from sessionql_session where data::text like ${`%${sku}%`}`,
      );
      expect(row?.n).toBe(outcomes.ok);
    } finally {
      await database.close();
    }
    expect(server.output()).toMatch(/SIGTERM: draining/);
    // production logs: one JSON line per request, no cookies
    const requests = server
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l));
    expect(requests.length).toBe(outcomes.ok);
    expect(requests[0]).toMatchObject({ level: 'info', method: 'POST', path: '/graphql', operation: 'mutation', status: 200 });
    expect(requests[0].requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.output()).not.toMatch(/sessionid=/);
  });

  it('a request still in flight at SHUTDOWN_TIMEOUT is cut, logged as aborted with 499, and the process exits 0', async () => {
    const port = await freePort();
    const server = runScript('dist/main.mjs', {
      NODE_ENV: 'production',
      SESSION_SECRET: 'shutdown-secret-0123456789-0123456789-abcdef',
      DATABASE_URL: testDatabaseUrl(),
      SESSIONQL_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHUTDOWN_TIMEOUT: '1',
    });
    await waitFor(server, /sessionql on http/);
    // A slow upload: its headers and part of its body, the rest never sent.
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":');
    const cut = once(socket, 'close');
    await new Promise((r) => setTimeout(r, 300));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    const took = Date.now() - signalled;
    await cut;

    expect(code).toBe(0);
    // The drain waited for the request, then cut it at SHUTDOWN_TIMEOUT (1 s).
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4000);
    const requests = server
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/graphql', status: 499, aborted: true });
    expect(server.output()).toMatch(/"msg":"closed"/);
  });
});
