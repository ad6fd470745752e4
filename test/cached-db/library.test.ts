import { describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../../src/core/errors.js';
import { hashSessionKey, newSessionKey } from '../../src/core/keys.js';
import { openCachedDbEngine } from '../../src/index.js';
import { onCachedDb, testCacheTarget } from '../helpers/app.js';
import { emptyDatabaseUrl, postgresUrl } from '../helpers/database.js';
import { freePort } from '../helpers/process.js';
import { entryOf, inspector } from './helpers.js';

// The library's entry point: what a user of `sessionql` calls.
describe.skipIf(!onCachedDb)('openCachedDbEngine', () => {
  it('opens the database (migrated) and Redis; writes are copied to the cache; close closes both', async () => {
    const databaseUrl = postgresUrl ? await emptyDatabaseUrl('library') : undefined;
    // The copy is checked below: not left to the default 200 ms, which a busy machine may miss (outage.test.ts).
    const engine = await openCachedDbEngine({ databaseUrl, dataDir: 'memory://', cache: { ...testCacheTarget(), cacheTimeoutMs: 5000 } });
    const redis = inspector();
    try {
      const hash = hashSessionKey(newSessionKey());
      const now = Date.now();
      await engine.create(hash, { user: 'alice' }, null, now);
      expect(await entryOf(redis, engine, hash)).toMatchObject({ version: 0, dead: false });
      expect((await engine.load(hash, now))?.data).toEqual({ user: 'alice' });
      expect(await engine.ready()).toBe(true);
    } finally {
      redis.disconnect();
      await engine.close();
    }
  });

  it('an unreachable Redis: StoreUnavailable naming it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const opened = openCachedDbEngine({ dataDir: 'memory://', timeoutMs: 1000, cache: { url } });
    await expect(opened).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(opened).rejects.toThrow(`Redis at ${url}`);
  });
});
