import { StoreUnavailable } from '../../core/errors.js';
import { within } from '../within.js';

/**
 * The database could not answer in time: stopped, unreachable, restarting,
 * out of connections. Clients get SERVICE_UNAVAILABLE (HTTP 503) and may
 * retry; the process stays up and postgres.js reconnects by itself.
 */
export class DatabaseUnavailable extends StoreUnavailable {
  override name = 'DatabaseUnavailable';
}

// Node's socket errors and postgres.js's own codes for a lost or refused connection.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  // PGlite's files: a full or read-only disk.
  'ENOSPC',
  'EROFS',
  'EIO',
]);

/**
 * Whether an error (or one in its `cause` chain: Drizzle wraps driver
 * errors) means the database is unavailable rather than that the query was
 * wrong: a network or file system code, or SQLSTATE
 * - class 08, connection exception;
 * - 25006, read-only transaction: a standby, or a primary set read-only
 *   (what a failover or a full disk guard looks like);
 * - class 28, invalid authorization: the password was rotated under a
 *   running server;
 * - class 53, insufficient resources: disk full, out of memory, too many
 *   connections;
 * - 57P01-57P03, shutting down or starting up;
 * - class 58, system error: an I/O error.
 */
export function isUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseUnavailable) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (NETWORK_CODES.has(code) || /^(08|28|53|58)/.test(code) || code === '25006' || /^57P0[123]$/.test(code)) return true;
  }
  return false;
}

/**
 * Rejects with DatabaseUnavailable when `promise` takes longer than `ms`
 * (DATABASE_TIMEOUT_MS), after calling `onTimeout` (to cancel the query).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  return within(promise, ms, () => new DatabaseUnavailable(`no answer from the database within ${ms} ms`), onTimeout);
}
