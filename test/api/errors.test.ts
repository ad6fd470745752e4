import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, type Db, openDatabase } from '../../src/engines/postgres/client.js';
import { createApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import type { Logger } from '../../src/server/logger.js';
import { serve, TEST_SECRET, testFastPath } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';

/** A database without the session table: every session statement fails. */
async function brokenDatabase(): Promise<Database> {
  if (postgresUrl) {
    return openDatabase({ url: await emptyDatabaseUrl('broken'), pgliteDir: 'memory://', poolSize: 2 });
  }
  const client = new PGlite();
  const db = drizzlePglite(client) as unknown as Db;
  const query = async (text: string, params: unknown[]) => {
    const result = await client.query<Record<string, unknown>>(text, params);
    return { rows: result.rows, count: result.affectedRows ?? 0 };
  };
  return {
    db,
    engine: 'pglite',
    query,
    rows: async () => [],
    withLock: (_key, fn) => fn(query),
    close: () => client.close(),
  };
}

describe('unexpected failures', async () => {
  const database = await brokenDatabase();
  afterAll(() => database.close());
  const logged: unknown[][] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (...args) => void logged.push(args), request: () => {} };

  it.each(['test', 'development', 'production'])(
    'are masked for clients (no SQL, no stack) and logged, with NODE_ENV=%s',
    async (nodeEnv) => {
      logged.length = 0;
      const config = loadConfig({ NODE_ENV: nodeEnv, SESSION_SECRET: TEST_SECRET });
      const c = new CookieClient(await serve(createApp({ config, database, logger, fastPath: testFastPath() })));
      const r = await c.gql('mutation { addToCart(sku: "A") { totalQuantity } }');
      expect(r.body.errors).toHaveLength(1);
      const [error] = r.body.errors!;
      expect(error!.message).toBe('Unexpected error.');
      expect(error!.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(r.body)).not.toMatch(/sessionql_session|select|insert|update|stack|relation/i);
      expect(r.setCookie).toBeNull();
      expect(logged.length).toBeGreaterThan(0);
      expect(
        String(
          logged.flat().map((e) => (e instanceof Error ? `${e.message} ${(e as { originalError?: Error }).originalError?.message}` : e)),
        ),
      ).toMatch(/sessionql_session/);
    },
  );

  it('expected errors (BAD_USER_INPUT) are not logged as errors', async () => {
    logged.length = 0;
    const config = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: TEST_SECRET });
    const c = new CookieClient(await serve(createApp({ config, database, logger, fastPath: testFastPath() })));
    const e = await c.error('mutation { addToCart(sku: "") { totalQuantity } }');
    expect(e.code).toBe('BAD_USER_INPUT');
    // Nor are a client's request errors: a variable of the wrong type, a parse or validation error.
    await c.error('mutation($sku: String!) { addToCart(sku: $sku) { totalQuantity } }', { sku: 5 });
    await c.error('{ session {');
    await c.error('{ session { nope } }');
    expect(logged).toEqual([]);
  });
});
