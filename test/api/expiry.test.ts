import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

const EXPIRY = 'exists expiresAt expiryAge expireAtBrowserClose';
const maxAge = (cookie: string | null) => {
  const m = /Max-Age=(\d+)/.exec(cookie ?? '');
  return m ? Number(m[1]) : null;
};

describe('expiry (SESSION_COOKIE_AGE, set_expiry)', async () => {
  const { client, clock, config } = await setup();
  const age = config.cookie.ageSeconds;

  it('a session not stored reports the configured age and no deadline', async () => {
    const r = await client().data(`{ session { ${EXPIRY} } }`);
    expect(r.session).toEqual({ exists: false, expiresAt: null, expiryAge: age, expireAtBrowserClose: false });
  });

  it('each write renews the expiry to now + age, and the cookie Max-Age agrees with expiryAge', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "k", value: 1) { exists } }');
    clock.advance(1000);
    expect((await c.data('{ session { expiryAge } }')).session.expiryAge).toBeCloseTo(age - 1000, -1);
    const r = await c.gql(`mutation { setSessionValue(key: "k", value: 2) { ${EXPIRY} } }`);
    const s = r.body.data?.setSessionValue;
    expect(Math.abs(s.expiryAge - age)).toBeLessThanOrEqual(1);
    expect(Math.abs(maxAge(r.setCookie)! - s.expiryAge)).toBeLessThanOrEqual(1);
    expect(Math.abs(Date.parse(s.expiresAt) - (clock.now() + age * 1000))).toBeLessThanOrEqual(1000);
  });

  it('an expired session reads as a new, empty one and its data is never returned again', async () => {
    const c = client();
    await c.data('mutation { setSessionValue(key: "secret", value: "data") { exists } }');
    clock.advance(age + 1);
    expect((await c.data('{ session { exists keys value(key: "secret") } }')).session).toEqual({ exists: false, keys: [], value: null });
    // a write lands in a fresh session under a new key: the expired one is not brought back
    const before = c.sessionCookie;
    const r = await c.data('mutation { setSessionValue(key: "other", value: 1) { keys } }');
    expect(r.setSessionValue.keys).toEqual(['other']);
    expect(c.sessionCookie).not.toBe(before);
  });

  it('setSessionExpiry(seconds) sets an inactivity age that each write renews', async () => {
    const c = client();
    const r = await c.gql(`mutation { setSessionExpiry(seconds: 300) { ${EXPIRY} } }`);
    expect(r.body.data?.setSessionExpiry).toMatchObject({ exists: true, expiryAge: 300, expireAtBrowserClose: false });
    expect(maxAge(r.setCookie)).toBe(300);
    clock.advance(200);
    const w = await c.gql('mutation { setSessionValue(key: "k", value: 1) { expiryAge } }');
    expect(w.body.data?.setSessionValue.expiryAge).toBe(300);
    expect(maxAge(w.setCookie)).toBe(300);
    clock.advance(299);
    expect((await c.data('{ session { exists } }')).session.exists).toBe(true);
    clock.advance(2);
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
  });

  it('setSessionExpiry(at) fixes the deadline; writes do not move it', async () => {
    const c = client();
    const at = new Date(clock.now() + 3_600_000).toISOString();
    const r = await c.gql(`mutation($at: DateTime) { setSessionExpiry(at: $at) { ${EXPIRY} } }`, { at });
    expect(r.body.data?.setSessionExpiry).toMatchObject({ exists: true, expiryAge: 3600, expiresAt: at });
    expect(maxAge(r.setCookie)).toBe(3600);
    clock.advance(600);
    const w = await c.gql('mutation { setSessionValue(key: "k", value: 1) { expiryAge expiresAt } }');
    expect(w.body.data?.setSessionValue).toEqual({ expiryAge: 3000, expiresAt: at });
    expect(maxAge(w.setCookie)).toBe(3000);
    clock.advance(3001);
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
  });

  it.each(['seconds: 0', 'browserClose: true'])(
    'setSessionExpiry(%s) makes a browser-session cookie (no Max-Age, no Expires)',
    async (arg) => {
      const c = client();
      const r = await c.gql(`mutation { setSessionExpiry(${arg}) { ${EXPIRY} } }`);
      expect(r.body.data?.setSessionExpiry).toMatchObject({ exists: true, expireAtBrowserClose: true, expiryAge: age });
      expect(r.setCookie).not.toMatch(/Max-Age|Expires/);
      const w = await c.gql('mutation { setSessionValue(key: "k", value: 1) { expireAtBrowserClose } }');
      expect(w.body.data?.setSessionValue.expireAtBrowserClose).toBe(true);
      expect(w.setCookie).not.toMatch(/Max-Age|Expires/);
    },
  );

  it('setSessionExpiry with no argument goes back to the configured default', async () => {
    const c = client();
    await c.data('mutation { setSessionExpiry(seconds: 60) { exists } }');
    const r = await c.gql(`mutation { setSessionExpiry { ${EXPIRY} } }`);
    expect(r.body.data?.setSessionExpiry).toMatchObject({ expiryAge: age, expireAtBrowserClose: false });
    expect(maxAge(r.setCookie)).toBe(age);
  });

  it.each([
    ['seconds: 10, browserClose: true', /give exactly one/],
    ['seconds: -1', /^seconds: must be 0 or more/],
    ['at: "2000-01-01T00:00:00Z"', /^at: must be in the future/],
    // Dates that do not exist: Date would roll them over (to 2 March, to the next day).
    ['at: "2030-02-30T00:00:00Z"', /^DateTime: must be/],
    ['at: "2030-04-31T10:00:00Z"', /^DateTime: must be/],
    ['at: "2030-01-01T24:00:00Z"', /^DateTime: must be/],
    ['at: "2030-01-01T10:00:60Z"', /^DateTime: must be/],
    ['at: "2030-01-01T10:00:00+24:00"', /^DateTime: must be/],
  ])('setSessionExpiry(%s) is BAD_USER_INPUT and changes nothing', async (args, message) => {
    const c = client();
    await c.data('mutation { setSessionExpiry(seconds: 100) { exists } }');
    const e = await c.error(`mutation { setSessionExpiry(${args}) { exists } }`);
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(message);
    expect(e.response.setCookie).toBeNull();
    expect((await c.data('{ session { expiryAge } }')).session.expiryAge).toBe(100);
  });

  it('a DateTime variable naming a day that does not exist is BAD_USER_INPUT; 29 February of a leap year is one', async () => {
    const c = client();
    const e = await c.error('mutation($at: DateTime) { setSessionExpiry(at: $at) { exists } }', { at: '2031-02-29T00:00:00Z' });
    expect([e.code, e.response.setCookie]).toEqual(['BAD_USER_INPUT', null]);
    const r = await c.data('mutation($at: DateTime) { setSessionExpiry(at: $at) { expiresAt } }', { at: '2032-02-29T23:59:59+01:00' });
    expect(r.setSessionExpiry.expiresAt).toBe('2032-02-29T22:59:59.000Z');
  });

  it('expiresAt keeps the milliseconds of setSessionExpiry(at), also past 2038', async () => {
    // Deadlines travel as float8 seconds. Just past 2^31 s (2038-01-19) a
    // double holds them to about half a microsecond, and expiresAt lost a
    // millisecond on these (it truncated the seconds instead of rounding).
    const c = client();
    const wrong: string[] = [];
    for (const at of ['2038-07-18T08:56:54.950Z', '2038-04-12T09:14:26.239Z', '2038-05-24T04:48:28.173Z']) {
      const r = await c.data('mutation($at: DateTime) { setSessionExpiry(at: $at) { expiresAt } }', { at });
      if (r.setSessionExpiry.expiresAt !== at) wrong.push(`${at} came back as ${r.setSessionExpiry.expiresAt}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('SESSION_EXPIRE_AT_BROWSER_CLOSE=true', async () => {
  const { client } = await setup({ SESSION_EXPIRE_AT_BROWSER_CLOSE: 'true' });

  it('sessions get browser-session cookies by default, and setSessionExpiry(seconds) overrides it', async () => {
    const c = client();
    const r = await c.gql('mutation { setSessionValue(key: "k", value: 1) { expireAtBrowserClose } }');
    expect(r.body.data?.setSessionValue.expireAtBrowserClose).toBe(true);
    expect(r.setCookie).not.toMatch(/Max-Age|Expires/);
    const s = await c.gql('mutation { setSessionExpiry(seconds: 120) { expireAtBrowserClose expiryAge } }');
    expect(s.body.data?.setSessionExpiry).toEqual({ expireAtBrowserClose: false, expiryAge: 120 });
    expect(s.setCookie).toMatch(/Max-Age=120/);
    expect((await client().data('{ session { expireAtBrowserClose } }')).session.expireAtBrowserClose).toBe(true);
  });
});
