import { describe, expect, it } from 'vitest';
import { expiryPolicy } from '../../src/graphql/types/session.js';
import { inputError } from '../helpers/input-error.js';

const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);

describe('setSessionExpiry: exactly one argument, or none', () => {
  it('no argument: back to the configured default', () => {
    expect(expiryPolicy({}, NOW)).toEqual({ kind: 'default' });
    expect(expiryPolicy({ seconds: null, at: null, browserClose: null }, NOW)).toEqual({ kind: 'default' });
    expect(expiryPolicy({ seconds: undefined, at: undefined, browserClose: undefined }, NOW)).toEqual({ kind: 'default' });
  });

  it('seconds > 0: expire after that many seconds of inactivity', () => {
    expect(expiryPolicy({ seconds: 1 }, NOW)).toEqual({ kind: 'age', seconds: 1 });
    expect(expiryPolicy({ seconds: 300 }, NOW)).toEqual({ kind: 'age', seconds: 300 });
  });

  it('seconds = 0 and browserClose = true both mean a browser-session cookie', () => {
    expect(expiryPolicy({ seconds: 0 }, NOW)).toEqual({ kind: 'browserClose' });
    expect(expiryPolicy({ browserClose: true }, NOW)).toEqual({ kind: 'browserClose' });
  });

  it('browserClose = false: a persistent cookie, not a browser-session one', () => {
    expect(expiryPolicy({ browserClose: false }, NOW).kind).not.toBe('browserClose');
  });

  it('at: expire at that instant', () => {
    const at = new Date(NOW + 3_600_000);
    expect(expiryPolicy({ at }, NOW)).toEqual({ kind: 'at', at: NOW / 1000 + 3600 });
  });

  it('more than one argument is BAD_USER_INPUT', () => {
    const future = new Date(NOW + 60_000);
    for (const args of [
      { seconds: 60, at: future },
      { seconds: 60, browserClose: true },
      { seconds: 0, browserClose: true },
      { seconds: 60, browserClose: false },
      { at: future, browserClose: true },
      { seconds: 60, at: future, browserClose: true },
    ]) {
      const e = inputError(() => expiryPolicy(args, NOW));
      expect(e.rule).toMatch(/exactly one/);
      for (const name of Object.keys(args)) expect(e.argument).toContain(name);
    }
  });

  it('a negative number of seconds is BAD_USER_INPUT', () => {
    for (const seconds of [-1, -3600]) {
      const e = inputError(() => expiryPolicy({ seconds }, NOW));
      expect(e.argument).toBe('seconds');
    }
  });

  it('an instant in the past (or now) is BAD_USER_INPUT', () => {
    for (const at of [new Date(NOW - 1), new Date(NOW - 86_400_000), new Date(0), new Date(NOW)]) {
      const e = inputError(() => expiryPolicy({ at }, NOW));
      expect(e.argument).toBe('at');
      expect(e.rule).toMatch(/future/);
    }
  });

  it('an instant just after now is accepted', () => {
    expect(expiryPolicy({ at: new Date(NOW + 1000) }, NOW)).toEqual({ kind: 'at', at: NOW / 1000 + 1 });
  });
});
