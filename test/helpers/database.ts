import postgres from 'postgres';
import { type Database, openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';

/** postgres://… when the suite runs on PostgreSQL, else undefined (PGlite). */
export const postgresUrl = process.env.DATABASE_URL || undefined;
export const engine = postgresUrl ? 'postgres' : 'pglite';

let shared: Promise<Database> | undefined;
let sharedUrl: string | undefined;

/** The URL of this worker's PostgreSQL database (after testDatabase()), for child processes. */
export function testDatabaseUrl(): string | undefined {
  return sharedUrl;
}

/**
 * A new, empty database of this worker on the PostgreSQL of DATABASE_URL
 * (dropped and made anew per run), named after `tag`: its URL.
 */
export async function emptyDatabaseUrl(tag: string): Promise<string> {
  if (!postgresUrl) throw new Error('emptyDatabaseUrl: DATABASE_URL is not set');
  const name = `sessionql_test_${tag}_${process.env.VITEST_POOL_ID ?? process.pid}`;
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * The database every test file of this worker uses, migrated: PGlite in
 * memory by default, PostgreSQL (postgres.js, a real pool) with DATABASE_URL.
 */
export function testDatabase(): Promise<Database> {
  shared ??= (async () => {
    const url = postgresUrl ? await emptyDatabaseUrl('worker') : undefined;
    sharedUrl = url;
    const database = await openDatabase({ url, pgliteDir: 'memory://', poolSize: 20 });
    await migrate(database);
    return database;
  })();
  return shared;
}
