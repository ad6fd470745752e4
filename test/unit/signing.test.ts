import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSessionKey } from '../../src/core/keys.js';
import { signSessionKey, unsignSessionKey } from '../../src/core/signing.js';

const CURRENT = 'current-secret-0123456789abcdefghijklmnop';
const OLD = 'old-secret-0123456789abcdefghijklmnopqrstu';
const UNKNOWN = 'unknown-secret-0123456789abcdefghijklmnopq';

/** Replaces the character at `i` with a different character of the same alphabet. */
function flip(s: string, i: number): string {
  const c = s[i] === 'A' ? 'B' : 'A';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('cookie signing (the cookie carries a random session key plus an HMAC signature made with SESSION_SECRET)', () => {
  it('a signed session key verifies and gives back the same key', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    expect(unsignSessionKey(value, [CURRENT])).toBe(key);
  });

  it('the cookie value is the key, a dot, and a base64url HMAC-SHA256 signature', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    const [k, sig, ...rest] = value.split('.');
    expect(k).toBe(key);
    expect(rest).toEqual([]);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('signing is deterministic: the same key and secret give the same cookie value', () => {
    const key = newSessionKey();
    expect(signSessionKey(key, [CURRENT])).toBe(signSessionKey(key, [CURRENT]));
    expect(signSessionKey(key, [CURRENT])).not.toBe(signSessionKey(key, [OLD]));
  });

  it('a cookie with a tampered key is ignored as if absent', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    for (const i of [0, 20, 42]) {
      const tampered = flip(value, i);
      expect(tampered).not.toBe(value);
      expect(unsignSessionKey(tampered, [CURRENT])).toBeNull();
    }
  });

  it('a cookie with a tampered signature is ignored as if absent', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    for (const i of [44, 60, value.length - 1]) {
      const tampered = flip(value, i);
      expect(tampered).not.toBe(value);
      expect(unsignSessionKey(tampered, [CURRENT])).toBeNull();
    }
  });

  it('a signature swapped in from another key does not verify', () => {
    const a = signSessionKey(newSessionKey(), [CURRENT]);
    const b = signSessionKey(newSessionKey(), [CURRENT]);
    const mixed = `${a.split('.')[0]}.${b.split('.')[1]}`;
    expect(unsignSessionKey(mixed, [CURRENT])).toBeNull();
  });

  it('a truncated cookie value is ignored as if absent', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    expect(unsignSessionKey(value.slice(0, -1), [CURRENT])).toBeNull();
    expect(unsignSessionKey(value.slice(0, -10), [CURRENT])).toBeNull();
    expect(unsignSessionKey(`${key}.`, [CURRENT])).toBeNull();
    expect(unsignSessionKey(value.slice(1), [CURRENT])).toBeNull();
  });

  it('a cookie value with no dot is ignored as if absent', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT]);
    expect(unsignSessionKey(key, [CURRENT])).toBeNull();
    expect(unsignSessionKey(value.replace('.', ''), [CURRENT])).toBeNull();
    expect(unsignSessionKey('', [CURRENT])).toBeNull();
  });

  it('a cookie with extra characters after the signature is ignored as if absent', () => {
    const value = signSessionKey(newSessionKey(), [CURRENT]);
    expect(unsignSessionKey(`${value}=`, [CURRENT])).toBeNull();
    expect(unsignSessionKey(`${value}A`, [CURRENT])).toBeNull();
    expect(unsignSessionKey(`${value}.x`, [CURRENT])).toBeNull();
  });

  it('a cookie signed with a secret that is not in SESSION_SECRET is ignored as if absent', () => {
    const key = newSessionKey();
    const forged = signSessionKey(key, [UNKNOWN]);
    expect(unsignSessionKey(forged, [CURRENT])).toBeNull();
    expect(unsignSessionKey(forged, [CURRENT, OLD])).toBeNull();
    expect(unsignSessionKey(forged, [])).toBeNull();
  });

  it('rotation: a cookie signed with an old secret still verifies when the old secret is second in the list', () => {
    const key = newSessionKey();
    const oldCookie = signSessionKey(key, [OLD]);
    expect(unsignSessionKey(oldCookie, [CURRENT, OLD])).toBe(key);
    // Once the old secret is dropped, the old cookie stops working.
    expect(unsignSessionKey(oldCookie, [CURRENT])).toBeNull();
  });

  it('rotation: new cookies are signed with the first secret', () => {
    const key = newSessionKey();
    const value = signSessionKey(key, [CURRENT, OLD]);
    expect(value).toBe(signSessionKey(key, [CURRENT]));
    expect(unsignSessionKey(value, [CURRENT])).toBe(key);
    expect(unsignSessionKey(value, [OLD])).toBeNull();
  });

  it('a value correctly signed over something that is not a session key is refused', () => {
    for (const key of ['abc', 'x'.repeat(44), `${'A'.repeat(42)}+`, '']) {
      const sig = createHmac('sha256', CURRENT).update(key).digest('base64url');
      expect(unsignSessionKey(`${key}.${sig}`, [CURRENT])).toBeNull();
    }
  });

  it('signing with no secret at all is refused', () => {
    expect(() => signSessionKey(newSessionKey(), [])).toThrow();
  });

  it('untrusted cookie values never throw, they are just absent', () => {
    const garbage = ['.', '..', '...', 'a.b', '😀.😀', '\u0000.\u0000', '%00', 'x'.repeat(10_000), `${'A'.repeat(43)}.${'='.repeat(44)}`];
    for (const value of garbage) {
      expect(() => unsignSessionKey(value, [CURRENT, OLD])).not.toThrow();
      expect(unsignSessionKey(value, [CURRENT, OLD])).toBeNull();
    }
  });

  it('a value verified once (remembered) stays valid only for the secrets that signed it; a changed one is checked again', () => {
    const mine = [CURRENT];
    const theirs = [UNKNOWN];
    const key = newSessionKey();
    const value = signSessionKey(key, mine);
    expect(unsignSessionKey(value, mine)).toBe(key);
    expect(unsignSessionKey(value, mine)).toBe(key);
    expect(unsignSessionKey(value, theirs)).toBeNull();
    expect(unsignSessionKey(flip(value, value.length - 2), mine)).toBeNull();
    expect(unsignSessionKey(value, theirs)).toBeNull();
  });
});
