import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import { postgresUrl, testDatabaseUrl } from '../helpers/database.js';
import { EventStream } from '../helpers/sse.js';

// The LISTEN connection of the db engine on PostgreSQL (sessionChanged across instances).
describe.runIf(postgresUrl && !process.env.SESSIONQL_TEST_ENGINE?.startsWith('redis'))('LISTEN/NOTIFY', async () => {
  if (!postgresUrl) return;
  const { client, database } = await setup();
  const open: EventStream[] = [];
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });

  it('writes NOTIFY only while someone watches the session (the watchers count), and payloads carry a hash and a version, no data', async () => {
    const c = client();
    const marker = randomUUID();
    await c.data('mutation($m: JSON) { setSessionValue(key: "marker", value: $m) { exists } }', { m: marker });
    const watchers = async () =>
      (await database.rows<{ watchers: number }>(sql`SELECT watchers FROM sessionql_session WHERE data->>'marker' = ${marker}`))[0]
        ?.watchers;
    expect(await watchers()).toBe(0);
    const stream = await EventStream.open(c);
    open.push(stream);
    await stream.session();
    expect(await watchers()).toBe(1);
    // A second subscriber on this instance does not count twice.
    const second = await EventStream.open(c);
    open.push(second);
    await second.session();
    expect(await watchers()).toBe(1);
    // What goes over the channel: the key's SHA-256 and the version.
    const payloads: string[] = [];
    const listener = postgres(testDatabaseUrl()!, { max: 1, onnotice: () => {} });
    await listener.listen('sessionql_session', (payload) => void payloads.push(payload));
    await c.data('mutation { setSessionValue(key: "secret", value: "hunter2") { exists } }');
    expect((await stream.session()).keys).toContain('secret');
    await expect.poll(() => payloads.filter((p) => !p.startsWith('probe:'))).toHaveLength(1);
    expect(payloads.find((p) => !p.startsWith('probe:'))).toMatch(/^[0-9a-f]{64}:\d+$/);
    await listener.end();
    stream.close();
    second.close();
    await expect.poll(watchers).toBe(0);
  });

  it('when the LISTEN connection is cut, every subscriber reads again once it is back: a change made meanwhile arrives', async () => {
    const c = client();
    const marker = randomUUID();
    await c.data('mutation($m: JSON) { setSessionValue(key: "marker", value: $m) { exists } }', { m: marker });
    const stream = await EventStream.open(c, { query: 'subscription { sessionChanged { keys } }' });
    open.push(stream);
    expect(await stream.session()).toEqual({ keys: ['marker'] });
    // A change no NOTIFY tells of (as if sent while the connection was down), then the cut.
    await database.rows(
      sql`UPDATE sessionql_session SET data = data || '{"meanwhile": true}', version = version + 1 WHERE data->>'marker' = ${marker}`,
    );
    await database.rows(
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sessionql listen' AND datname = current_database()`,
    );
    expect(await stream.session(10_000)).toEqual({ keys: ['marker', 'meanwhile'] });
    // And notices flow again.
    await c.data('mutation { setSessionValue(key: "after", value: 1) { exists } }');
    expect(await stream.session()).toEqual({ keys: ['after', 'marker', 'meanwhile'] });
  });
});
