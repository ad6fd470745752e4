import { createHmac, timingSafeEqual } from 'node:crypto';
import { SESSION_KEY_PATTERN } from './keys.js';
import { Memo } from './memo.js';

function mac(secret: string, key: string): Buffer {
  return createHmac('sha256', secret).update(key).digest();
}

/**
 * Per list of secrets (an app's settings hold one for its lifetime): the
 * signed values of the last keys signed, and the keys of the last cookie
 * values that verified. An HMAC per request was a tenth of a read's CPU;
 * a returning visitor's cookie is checked once. Only values that verified
 * are remembered, so nothing an attacker sends can be looked up as valid.
 */
const signed = new WeakMap<readonly string[], Memo<string>>();
const verified = new WeakMap<readonly string[], Memo<string>>();
const MEMO_ENTRIES = 10_000;

function signedFor(secrets: readonly string[]): Memo<string> {
  let memo = signed.get(secrets);
  if (!memo) {
    const [current] = secrets;
    if (!current) throw new Error('no secret to sign with');
    memo = new Memo(MEMO_ENTRIES, (key) => `${key}.${mac(current, key).toString('base64url')}`);
    signed.set(secrets, memo);
  }
  return memo;
}

/** `key.signature`: HMAC-SHA256 of the key with the first (current) secret. */
export function signSessionKey(key: string, secrets: readonly string[]): string {
  return signedFor(secrets).get(key);
}

/**
 * The session key in a signed cookie value, or null when the value is not one
 * we signed with any of `secrets` (rotation: the first signs, all verify).
 * Untrusted input that fails a check is absent, not an exception.
 */
export function unsignSessionKey(value: string, secrets: readonly string[]): string | null {
  let memo = verified.get(secrets);
  if (!memo) {
    memo = new Memo<string>(MEMO_ENTRIES);
    verified.set(secrets, memo);
  }
  const known = memo.peek(value);
  if (known !== undefined) return known;
  const key = verify(value, secrets);
  if (key) memo.remember(value, key);
  return key;
}

function verify(value: string, secrets: readonly string[]): string | null {
  const dot = value.indexOf('.');
  if (dot < 0) return null;
  const key = value.slice(0, dot);
  if (!SESSION_KEY_PATTERN.test(key)) return null;
  const given = Buffer.from(value.slice(dot + 1), 'base64url');
  if (given.length !== 32 || given.toString('base64url') !== value.slice(dot + 1)) return null;
  for (const secret of secrets) {
    if (timingSafeEqual(given, mac(secret, key))) return key;
  }
  return null;
}
