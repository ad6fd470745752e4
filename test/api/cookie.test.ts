import { describe, expect, it } from 'vitest';
import { signSessionKey } from '../../src/core/signing.js';
import { onRedis, setup, TEST_SECRET } from '../helpers/app.js';

const write = 'mutation { setSessionValue(key: "k", value: "v") { exists } }';
const read = '{ session { exists value(key: "k") } }';

describe('the session cookie', async () => {
  const { app, client, config } = await setup();

  it('carries every attribute, set explicitly (Django defaults)', async () => {
    const c = client();
    const r = await c.gql(write);
    const cookie = r.setCookie ?? '';
    const [pair, ...attrs] = cookie.split('; ');
    expect(pair).toMatch(/^sessionid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(attrs).toContain('Path=/');
    expect(attrs).toContain('HttpOnly');
    expect(attrs).toContain('SameSite=Lax');
    expect(attrs).toContain(`Max-Age=${config.cookie.ageSeconds}`);
    const expires = Date.parse(attrs.find((a) => a.startsWith('Expires='))!.slice(8));
    expect(Math.abs(expires - (Date.now() + config.cookie.ageSeconds * 1000))).toBeLessThan(5_000);
    expect(attrs.some((a) => a.startsWith('Domain') || a === 'Secure')).toBe(false);
  });

  it('Secure, Domain, Path, SameSite, HttpOnly and the name follow their settings', async () => {
    const { client: other } = await setup({
      SESSION_COOKIE_NAME: 'sid',
      SESSION_COOKIE_SECURE: 'true',
      SESSION_COOKIE_DOMAIN: '.example.com',
      SESSION_COOKIE_PATH: '/app',
      SESSION_COOKIE_SAMESITE: 'strict',
      SESSION_COOKIE_HTTPONLY: 'false',
      SESSION_COOKIE_AGE: '3600',
    });
    const r = await other().gql(write);
    const attrs = (r.setCookie ?? '').split('; ');
    expect(attrs[0]).toMatch(/^sid=/);
    expect(attrs).toEqual(expect.arrayContaining(['Secure', 'Domain=.example.com', 'Path=/app', 'SameSite=Strict', 'Max-Age=3600']));
    expect(attrs).not.toContain('HttpOnly');
  });

  // The PostgreSQL table; test/redis/keys.test.ts checks Redis's key names.
  it.skipIf(onRedis)('the database never holds the session key, only its SHA-256', async () => {
    const c = client();
    await c.gql(write);
    const key = c.sessionCookie!.split('.')[0]!;
    const { sql } = await import('drizzle-orm');
    const { hashSessionKey } = await import('../../src/core/keys.js');
    const { database } = await setup();
    const rows = await database.rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM sessionql_session WHERE key_hash = ${key} OR data::text LIKE ${`%${key}%`}`,
    );
    expect(rows[0]!.n).toBe(0);
    const hashed = await database.rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM sessionql_session WHERE key_hash = ${hashSessionKey(key)}`,
    );
    expect(hashed[0]!.n).toBe(1);
  });

  it('a tampered cookie reads as a new empty session, and the first write gets a fresh key', async () => {
    const c = client();
    await c.gql(write);
    const genuine = c.sessionCookie!;
    const [key, sig] = genuine.split('.') as [string, string];
    const flipped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}.${sig}`;
    for (const value of [flipped, `${key}.${sig.slice(0, -2)}`, key, `${key}.`, 'garbage', '']) {
      const r = await app.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `sessionid=${value}` },
        body: JSON.stringify({ query: read }),
      });
      expect((await r.json()).data.session).toEqual({ exists: false, value: null });
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    const forged = client();
    forged.jar.set('sessionid', flipped);
    await forged.data(write);
    expect(forged.sessionCookie).not.toBe(flipped);
    expect(forged.sessionCookie!.split('.')[0]).not.toBe(key);
  });

  it('a validly signed but unknown key is never adopted (session fixation)', async () => {
    const attackerKey = 'A'.repeat(43);
    const c = client();
    c.jar.set('sessionid', signSessionKey(attackerKey, [TEST_SECRET]));
    expect((await c.data(read)).session.exists).toBe(false);
    await c.data(write);
    expect(c.sessionCookie!.startsWith(`${attackerKey}.`)).toBe(false);
    const attacker = client();
    attacker.jar.set('sessionid', signSessionKey(attackerKey, [TEST_SECRET]));
    expect((await attacker.data(read)).session.exists).toBe(false);
  });

  it('rotation: cookies signed with an older secret still work when it is listed after the new one', async () => {
    const oldSecret = 'old-secret-0123456789-0123456789-abcdefgh';
    const before = await setup({ SESSION_SECRET: oldSecret });
    const c = before.client();
    await c.data(write);
    const after = await setup({ SESSION_SECRET: `new-secret-0123456789-0123456789-abcdefgh, ${oldSecret}` });
    const same = new (c.constructor as typeof import('../helpers/client.js').CookieClient)(after.app);
    same.jar.set('sessionid', c.sessionCookie!);
    expect((await same.data(read)).session).toEqual({ exists: true, value: 'v' });
    // the next write re-signs with the new secret; the old-secret-only server no longer accepts it
    await same.data(write);
    expect(same.sessionCookie).not.toBe(c.sessionCookie);
    expect(same.sessionCookie!.split('.')[0]).toBe(c.sessionCookie!.split('.')[0]);
    const dropped = await setup({ SESSION_SECRET: 'new-secret-0123456789-0123456789-abcdefgh' });
    const stale = new (c.constructor as typeof import('../helpers/client.js').CookieClient)(dropped.app);
    stale.jar.set('sessionid', c.sessionCookie!);
    expect((await stale.data(read)).session.exists).toBe(false);
  });

  it('a cookie with no session behind it is ignored without any database work for a bad signature', async () => {
    const c = client();
    c.jar.set('sessionid', `${'B'.repeat(43)}.${'C'.repeat(43)}`);
    const r = await c.gql(read);
    expect(r.body.data?.session).toEqual({ exists: false, value: null });
  });
});
