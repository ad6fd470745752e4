import { createHmac, timingSafeEqual } from 'node:crypto';
import { SESSION_KEY_PATTERN } from './keys.js';

function mac(secret: string, key: string): Buffer {
  return createHmac('sha256', secret).update(key).digest();
}

/** `key.signature`: HMAC-SHA256 of the key with the first (current) secret. */
export function signSessionKey(key: string, secrets: readonly string[]): string {
  const [current] = secrets;
  if (!current) throw new Error('no secret to sign with');
  return `${key}.${mac(current, key).toString('base64url')}`;
}

/**
 * The session key in a signed cookie value, or null when the value is not one
 * we signed with any of `secrets` (rotation: the first signs, all verify).
 * Untrusted input that fails a check is absent, not an exception.
 */
export function unsignSessionKey(value: string, secrets: readonly string[]): string | null {
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
