import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
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

/** An arbitrary 64-bit key for pg_advisory_xact_lock, shared by every instance. */
const MIGRATION_LOCK = 7_312_694_025_118_440_001n;

/**
 * Applies the committed migrations under `drizzle/`. Drizzle's migrator takes
 * no lock, so instances starting together would race to create the same
 * table. Here the whole run is one transaction that first takes a
 * transaction-level advisory lock (pg_advisory_xact_lock): instances take
 * turns, the ones that come second find nothing left to do, and nothing
 * outlives the transaction, so it holds through PgBouncer in transaction mode
 * (a session-level lock would stay on whichever server connection PgBouncer
 * ran it on: docs/decisions/0014). The bookkeeping is Drizzle's own
 * (`drizzle.__drizzle_migrations`, as its migrator keeps it), so databases
 * migrated by either stay interchangeable.
 */
export async function migrate(database: Database): Promise<void> {
  if (database.engine === 'pglite') {
    // One process owns a PGlite folder: nobody to race with.
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  const migrations = readMigrationFiles({ migrationsFolder });
  // A connection of its own, outside the pool: a pool of one would otherwise
  // be held by the waiting transaction. Unnamed statements: nothing is
  // prepared (PgBouncer), and each of these runs once.
  const sql = postgres(database.url!, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    prepare: false,
    connection: { application_name: 'sessionql migrate' },
  });
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
      await tx`CREATE SCHEMA IF NOT EXISTS drizzle`;
      await tx`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
      const [last] = await tx<
        { created_at: string }[]
      >`SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY created_at DESC LIMIT 1`;
      for (const migration of migrations) {
        if (last && Number(last.created_at) >= migration.folderMillis) continue;
        for (const statement of migration.sql) await tx.unsafe(statement);
        await tx`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${migration.hash}, ${migration.folderMillis})`;
      }
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * How many of the committed migrations `database` has applied and has not:
 * none applied on a database the server never started on.
 */
export async function migrationState(database: Database): Promise<{ applied: number; pending: number }> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const [table] = await database.rows<{ present: boolean }>(sql`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`);
  if (!table?.present) return { applied: 0, pending: migrations.length };
  const [row] = await database.rows<{ last: string | null }>(sql`SELECT max(created_at)::text AS last FROM drizzle.__drizzle_migrations`);
  const last = row?.last == null ? -1 : Number(row.last);
  const pending = migrations.filter((migration) => migration.folderMillis > last).length;
  return { applied: migrations.length - pending, pending };
}

/** True once the database answers (within `timeoutMs`), the session table exists and writes are allowed (readiness). */
export async function isReady(database: Database, timeoutMs = 5000): Promise<boolean> {
  try {
    const rows = await withTimeout(
      // Read-only (a standby, or default_transaction_read_only): every write would be refused.
      database.rows<{ ok: boolean }>(
        sql`SELECT to_regclass('sessionql_session') IS NOT NULL AND current_setting('transaction_read_only') = 'off' AS ok`,
      ),
      timeoutMs,
    );
    return rows[0]?.ok === true;
  } catch {
    return false;
  }
}
