/**
 * Expiry arithmetic, in seconds since the epoch unless a name says otherwise.
 * Stored deadlines are whole seconds, rounded up, so that a session written
 * twice within a second keeps the same `expires_at` (an in-place HOT update).
 */

/** The deadline a write gives a session whose age is `ageSeconds`. */
export function renewedExpiry(nowMs: number, ageSeconds: number): number {
  return Math.ceil(nowMs / 1000) + ageSeconds;
}

/** Seconds left until `expiresAt`, never negative (Django's get_expiry_age). */
export function secondsLeft(nowMs: number, expiresAt: number): number {
  // In whole milliseconds first: float seconds (3.9e9 and a fraction) would floor a second short.
  return Math.max(0, Math.floor((Math.round(expiresAt * 1000) - nowMs) / 1000));
}

/** How a session expires: Django's set_expiry() argument, resolved. */
export type ExpiryPolicy =
  /** The configured SESSION_COOKIE_AGE / SESSION_EXPIRE_AT_BROWSER_CLOSE. */
  | { kind: 'default' }
  /** set_expiry(seconds > 0): inactivity age. */
  | { kind: 'age'; seconds: number }
  /** set_expiry(datetime): a fixed deadline, not renewed by writes. */
  | { kind: 'at'; at: number }
  /** set_expiry(0): a browser-session cookie. */
  | { kind: 'browserClose' }
  /** setSessionExpiry(browserClose: false): a persistent cookie of the configured age. */
  | { kind: 'persistent' };
