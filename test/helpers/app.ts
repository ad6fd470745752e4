import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { CookieClient } from './client.js';
import { TestClock } from './clock.js';
import { testDatabase } from './database.js';
import { recordingDatabase } from './queries.js';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';

/**
 * An app on this worker's database with a movable clock. `env` overrides
 * the environment the config is read from, as a deployment would.
 */
export async function setup(env: Record<string, string> = {}) {
  const { database, statements } = recordingDatabase(await testDatabase());
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, ...env });
  const clock = new TestClock();
  const app = createApp({ config, database, clock });
  /** The SQL statements the app ran, for tests of what hits the database. */
  return { app, config, clock, database, statements, client: (origin?: string) => new CookieClient(app, origin) };
}
