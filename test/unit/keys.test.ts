import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSessionKey, newSessionKey, SESSION_KEY_PATTERN } from '../../src/core/keys.js';

describe('session keys (a random session key of at least 128 bits from a CSPRNG)', () => {
  it('a new session key is 43 base64url characters', () => {
    for (let i = 0; i < 100; i++) {
      const key = newSessionKey();
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(SESSION_KEY_PATTERN.test(key)).toBe(true);
    }
  });

  it('a new session key carries at least 128 bits', () => {
    const bytes = Buffer.from(newSessionKey(), 'base64url');
    expect(bytes.length * 8).toBeGreaterThanOrEqual(128);
  });

  it('every new session key differs from the others', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => newSessionKey()));
    expect(keys.size).toBe(1000);
  });

  it('new session keys are random, not a counter: characters are spread over the alphabet', () => {
    const seen = new Set(Array.from({ length: 200 }, () => newSessionKey()).join(''));
    expect(seen.size).toBeGreaterThan(60);
  });
});

describe('the database never stores the session key itself, only a hash of it', () => {
  it('the hash is 64 lowercase hex characters (SHA-256)', () => {
    expect(hashSessionKey(newSessionKey())).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSessionKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('the hash of a key is stable', () => {
    const key = newSessionKey();
    expect(hashSessionKey(key)).toBe(hashSessionKey(key));
    expect(hashSessionKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('different keys have different hashes, and the hash does not contain the key', () => {
    const a = newSessionKey();
    const b = newSessionKey();
    expect(hashSessionKey(a)).not.toBe(hashSessionKey(b));
    expect(hashSessionKey(a)).not.toContain(a);
    expect(hashSessionKey(a)).not.toContain(Buffer.from(a, 'base64url').toString('hex'));
  });

  it('the key pattern refuses anything newSessionKey does not make', () => {
    const key = newSessionKey();
    for (const bad of [
      '',
      key.slice(1),
      `${key}A`,
      `${key.slice(0, 42)}=`,
      `${key.slice(0, 42)}.`,
      `${key.slice(0, 42)}+`,
      ` ${key.slice(1)}`,
    ]) {
      expect(SESSION_KEY_PATTERN.test(bad)).toBe(false);
    }
  });
});
