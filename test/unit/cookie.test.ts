import { describe, expect, it } from 'vitest';
import { expiredSessionCookie, readCookie, sessionCookie } from '../../src/core/cookie.js';
import type { Config } from '../../src/server/config.js';

type CookieSettings = Config['cookie'];

const DEFAULTS: CookieSettings = {
  name: 'sessionid',
  ageSeconds: 1209600,
  domain: undefined,
  path: '/',
  secure: false,
  httpOnly: true,
  sameSite: 'Lax',
};

const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);

/** The attributes of a Set-Cookie header, by lower-cased name (`true` for a flag). */
function parseSetCookie(header: string): { name: string; value: string; attrs: Map<string, string | true> } {
  const [pair, ...rest] = header.split(';').map((s) => s.trim());
  const eq = pair!.indexOf('=');
  const attrs = new Map<string, string | true>();
  for (const a of rest) {
    const i = a.indexOf('=');
    const key = (i < 0 ? a : a.slice(0, i)).toLowerCase();
    expect(attrs.has(key), `attribute ${key} is sent once`).toBe(false);
    attrs.set(key, i < 0 ? true : a.slice(i + 1));
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs };
}

describe('readCookie: the session cookie in a Cookie header', () => {
  it('finds the cookie among several', () => {
    expect(readCookie('a=1; sessionid=abc.def; b=2', 'sessionid')).toBe('abc.def');
    expect(readCookie('sessionid=abc.def; a=1', 'sessionid')).toBe('abc.def');
    expect(readCookie('a=1; b=2; sessionid=abc.def', 'sessionid')).toBe('abc.def');
    expect(readCookie('sessionid=abc.def', 'sessionid')).toBe('abc.def');
  });

  it('tolerates missing and extra spaces around pairs', () => {
    expect(readCookie('a=1;sessionid=abc;b=2', 'sessionid')).toBe('abc');
    expect(readCookie('  a=1 ;   sessionid=abc  ;  b=2  ', 'sessionid')).toBe('abc');
    expect(readCookie('a=1;\tsessionid=abc', 'sessionid')).toBe('abc');
  });

  it('unwraps a quoted value', () => {
    expect(readCookie('sessionid="abc.def"', 'sessionid')).toBe('abc.def');
    expect(readCookie('a=1; sessionid="abc"; b=2', 'sessionid')).toBe('abc');
  });

  it('keeps = signs inside the value', () => {
    expect(readCookie('sessionid=ab=c==; x=1', 'sessionid')).toBe('ab=c==');
  });

  it('does not match a cookie whose name merely contains the name, like xsessionid', () => {
    expect(readCookie('xsessionid=evil', 'sessionid')).toBeNull();
    expect(readCookie('sessionidx=evil', 'sessionid')).toBeNull();
    expect(readCookie('xsessionid=evil; sessionid=good', 'sessionid')).toBe('good');
    expect(readCookie('sessionidx=evil; sessionid=good', 'sessionid')).toBe('good');
    expect(readCookie('a=sessionid=evil; sessionid=good', 'sessionid')).toBe('good');
  });

  it('gives null when the cookie is missing', () => {
    expect(readCookie(undefined, 'sessionid')).toBeNull();
    expect(readCookie(null, 'sessionid')).toBeNull();
    expect(readCookie('', 'sessionid')).toBeNull();
    expect(readCookie('a=1; b=2', 'sessionid')).toBeNull();
    expect(readCookie('sessionid', 'sessionid')).toBeNull();
    expect(readCookie(';;;', 'sessionid')).toBeNull();
  });

  it('with two cookies of the same name, the first wins', () => {
    expect(readCookie('sessionid=first; sessionid=second', 'sessionid')).toBe('first');
  });

  it('reads the configured cookie name (SESSION_COOKIE_NAME)', () => {
    expect(readCookie('sessionid=a; my_session=b', 'my_session')).toBe('b');
  });
});

describe('sessionCookie: the Set-Cookie of a stored session', () => {
  it('sets every attribute: Path=/, HttpOnly, SameSite=Lax, Max-Age and Expires', () => {
    const { name, value, attrs } = parseSetCookie(sessionCookie(DEFAULTS, 'KEY.SIG', 1209600, NOW));
    expect(name).toBe('sessionid');
    expect(value).toBe('KEY.SIG');
    expect(attrs.get('path')).toBe('/');
    expect(attrs.get('httponly')).toBe(true);
    expect(attrs.get('samesite')).toBe('Lax');
    expect(attrs.get('max-age')).toBe('1209600');
    expect(attrs.get('expires')).toBe('Thu, 10 Dec 2026 10:00:00 GMT');
  });

  it('Max-Age and Expires agree', () => {
    for (const [now, age] of [
      [NOW, 1209600],
      [NOW + 1, 60],
      [NOW + 999, 1],
      [NOW + 123_456, 86_400],
    ] as const) {
      const { attrs } = parseSetCookie(sessionCookie(DEFAULTS, 'v', age, now));
      expect(Number(attrs.get('max-age'))).toBe(age);
      const expires = Date.parse(attrs.get('expires') as string);
      expect(Math.abs(expires - (now + age * 1000))).toBeLessThan(1000);
    }
  });

  it('Secure is sent only when SESSION_COOKIE_SECURE=true, Domain only when SESSION_COOKIE_DOMAIN is set', () => {
    const plain = parseSetCookie(sessionCookie(DEFAULTS, 'v', 60, NOW)).attrs;
    expect(plain.has('secure')).toBe(false);
    expect(plain.has('domain')).toBe(false);

    const secure = parseSetCookie(sessionCookie({ ...DEFAULTS, secure: true }, 'v', 60, NOW)).attrs;
    expect(secure.get('secure')).toBe(true);
    expect(secure.has('domain')).toBe(false);

    const domain = parseSetCookie(sessionCookie({ ...DEFAULTS, domain: '.example.com' }, 'v', 60, NOW)).attrs;
    expect(domain.get('domain')).toBe('.example.com');
    expect(domain.has('secure')).toBe(false);
  });

  it('follows the configured name, path, SameSite and HttpOnly', () => {
    const settings: CookieSettings = { ...DEFAULTS, name: 'sid', path: '/app', sameSite: 'Strict', httpOnly: false };
    const { name, attrs } = parseSetCookie(sessionCookie(settings, 'v', 60, NOW));
    expect(name).toBe('sid');
    expect(attrs.get('path')).toBe('/app');
    expect(attrs.get('samesite')).toBe('Strict');
    expect(attrs.has('httponly')).toBe(false);

    const none = parseSetCookie(sessionCookie({ ...DEFAULTS, sameSite: 'None', secure: true }, 'v', 60, NOW)).attrs;
    expect(none.get('samesite')).toBe('None');
    expect(none.get('secure')).toBe(true);
  });

  it('a browser-session cookie has neither Max-Age nor Expires', () => {
    const { name, value, attrs } = parseSetCookie(sessionCookie(DEFAULTS, 'KEY.SIG', null, NOW));
    expect(name).toBe('sessionid');
    expect(value).toBe('KEY.SIG');
    expect(attrs.has('max-age')).toBe(false);
    expect(attrs.has('expires')).toBe(false);
    expect(attrs.get('path')).toBe('/');
    expect(attrs.get('httponly')).toBe(true);
    expect(attrs.get('samesite')).toBe('Lax');
  });
});

describe('expiredSessionCookie: flushSession expires the cookie', () => {
  it('has Max-Age=0 and an Expires in the past', () => {
    const { name, value, attrs } = parseSetCookie(expiredSessionCookie(DEFAULTS));
    expect(name).toBe('sessionid');
    expect(value).toBe('');
    expect(attrs.get('max-age')).toBe('0');
    const expires = Date.parse(attrs.get('expires') as string);
    expect(Number.isNaN(expires)).toBe(false);
    expect(expires).toBeLessThan(Date.now());
  });

  it('carries the same Path and Domain as the cookie it removes, so the browser matches it', () => {
    const settings: CookieSettings = { ...DEFAULTS, name: 'sid', path: '/app', domain: 'example.com', secure: true, sameSite: 'Strict' };
    const { name, attrs } = parseSetCookie(expiredSessionCookie(settings));
    expect(name).toBe('sid');
    expect(attrs.get('path')).toBe('/app');
    expect(attrs.get('domain')).toBe('example.com');
    expect(attrs.get('secure')).toBe(true);
    expect(attrs.get('samesite')).toBe('Strict');
  });
});
