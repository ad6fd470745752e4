import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';

const journal = JSON.parse(readFileSync(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};

describe.runIf(postgresUrl)('migrations (PostgreSQL)', () => {
  it('several instances starting at once on an empty database all succeed (advisory lock)', async () => {
    const url = await emptyDatabaseUrl('migrate');
    const instances = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ url, pgliteDir: 'memory://', poolSize: 2 })));
    try {
      await Promise.all(instances.map((db) => migrate(db)));
      const check = postgres(url, { max: 1, onnotice: () => {} });
      const [{ n }] = (await check`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`) as unknown as [{ n: number }];
      const [{ fillfactor }] =
        (await check`SELECT reloptions::text AS fillfactor FROM pg_class WHERE relname = 'sessionql_session'`) as unknown as [
          { fillfactor: string },
        ];
      const [{ collation }] = (await check`SELECT collation_name AS collation FROM information_schema.columns
        WHERE table_name = 'sessionql_session' AND column_name = 'key_hash'`) as unknown as [{ collation: string }];
      await check.end();
      expect(n).toBe(journal.entries.length);
      expect(fillfactor).toMatch(/fillfactor=80/);
      expect(collation).toBe('C');
    } finally {
      await Promise.all(instances.map((db) => db.close()));
    }
  });
});
