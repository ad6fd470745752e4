import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { Sql } from 'postgres';
import type { Database, Db } from '../../src/db/client.js';
import * as schema from '../../src/db/schema.js';

/** The same database seen through a Drizzle instance that records every statement it runs. */
export function recordingDatabase(database: Database): { database: Database; statements: string[] } {
  const statements: string[] = [];
  const logger = { logQuery: (query: string) => void statements.push(query) };
  const client = (database.db as unknown as { $client: unknown }).$client;
  const db = (database.engine === 'postgres'
    ? drizzlePostgres(client as Sql, { schema, logger })
    : drizzlePglite(client as PGlite, { schema, logger })) as unknown as Db;
  return { database: { ...database, db }, statements };
}
