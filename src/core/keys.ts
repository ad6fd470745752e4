import { createHash, randomBytes } from 'node:crypto';

/** A new session key: 256 bits from the CSPRNG, base64url (43 characters). */
export function newSessionKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this hash is stored, so a leaked table cannot be replayed as cookies. */
export function hashSessionKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The shape newSessionKey makes; anything else is not worth a lookup. */
export const SESSION_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
