import { createHash, randomBytes } from 'node:crypto';
import { Memo } from './memo.js';

/** A new session key: 256 bits from the CSPRNG, base64url (43 characters). */
export function newSessionKey(): string {
  return randomBytes(32).toString('base64url');
}

const hashes = new Memo(10_000, (key) => createHash('sha256').update(key).digest('hex'));

/** Only this hash is stored, so a leaked table cannot be replayed as cookies. (Remembered for the last 10,000 keys.) */
export function hashSessionKey(key: string): string {
  return hashes.get(key);
}

/** The shape newSessionKey makes; anything else is not worth a lookup. */
export const SESSION_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
