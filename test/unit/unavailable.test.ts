import { describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/engines/postgres/unavailable.js';

/** A driver error as postgres.js and PGlite raise them: a message and a SQLSTATE (or errno) `code`. */
const failure = (code: string) => Object.assign(new Error(`failed (${code})`), { code });

// 503 and retry (the database is not answering as it should) against 500 (the statement was wrong: a bug).
describe('isUnavailable: which database errors are outages', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['08006', 'connection failure'],
    ['25006', 'read-only transaction: a standby after a failover'],
    ['28P01', 'password rotated under the running server'],
    ['28000', 'authorization refused'],
    ['53100', 'disk full'],
    ['53200', 'out of memory'],
    ['53300', 'too many connections'],
    ['57P01', 'shutting down'],
    ['58030', 'I/O error'],
    ['ENOSPC', "PGlite's disk full"],
    ['EROFS', "PGlite's folder read-only"],
  ])('%s (%s) is an outage, also wrapped as a cause', (code) => {
    expect(isUnavailable(failure(code))).toBe(true);
    expect(isUnavailable(new Error('query failed', { cause: failure(code) }))).toBe(true);
  });

  it.each([
    ['23505', 'unique violation'],
    ['42P01', 'undefined table'],
    ['22P02', 'invalid text representation'],
    ['40001', 'serialization failure'],
  ])('%s (%s) is not', (code) => {
    expect(isUnavailable(failure(code))).toBe(false);
  });
});
