import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from './client.js';
import { withTimeout } from './unavailable.js';

/** `drizzle/` of this package, from src/db (tsx) or from a bundle in dist/. */
function findMigrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'drizzle');
    if (existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('drizzle/ migrations folder not found');
    dir = parent;
  }
}
const migrationsFolder = findMigrationsFolder();

/** An arbitrary 64-bit key for pg_advisory_lock, shared by every instance. */
const MIGRATION_LOCK = 7_312_694_025_118_440_001n;

/**
 * Applies the committed migrations under `drizzle/`. Drizzle's migrator takes
 * no lock, so instances starting together would race to create the same
 * table: a session-level advisory lock makes them take turns, and the ones
 * that come second find nothing left to do.
 */
export async function migrate(database: Database): Promise<void> {
  if (database.engine === 'pglite') {
    // One process owns a PGlite folder: nobody to race with.
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  // The lock lives on a connection of its own, outside the pool: a pool of
  // one would otherwise be held by the lock while the migrator waits for it.
  const lock = postgres(database.url!, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await lock`SELECT pg_advisory_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await migratePostgres(database.db as unknown as PostgresJsDatabase, { migrationsFolder });
  } finally {
    await lock.end({ timeout: 5 });
  }
}

/** True once the database answers (within `timeoutMs`) and the session table exists (readiness). */
export async function isReady(database: Database, timeoutMs = 5000): Promise<boolean> {
  try {
    const rows = await withTimeout(
      database.rows<{ ok: boolean }>(sql`SELECT to_regclass('sessionql_session') IS NOT NULL AS ok`),
      timeoutMs,
    );
    return rows[0]?.ok === true;
  } catch {
    return false;
  }
}
