import { describe, expect, it } from 'vitest';
import { renewedExpiry, secondsLeft } from '../../src/core/expiry.js';

const T = Date.UTC(2026, 10, 26, 10, 0, 0); // a whole second, in ms
const AGE = 1209600;

describe('expiry: each write renews the expiry to now + age', () => {
  it('renewedExpiry is now + age, in whole seconds since the epoch', () => {
    expect(renewedExpiry(T, AGE)).toBe(T / 1000 + AGE);
    expect(Number.isInteger(renewedExpiry(T + 123, AGE))).toBe(true);
  });

  it('renewedExpiry rounds up to whole seconds', () => {
    expect(renewedExpiry(T + 1, 60)).toBe(T / 1000 + 61);
    expect(renewedExpiry(T + 500, 60)).toBe(T / 1000 + 61);
    expect(renewedExpiry(T + 999, 60)).toBe(T / 1000 + 61);
    expect(renewedExpiry(T + 1000, 60)).toBe(T / 1000 + 61);
    expect(renewedExpiry(T + 1001, 60)).toBe(T / 1000 + 62);
  });

  it('the deadline is never earlier than now + age', () => {
    for (const ms of [0, 1, 250, 999, 1000, 1001, 123_456]) {
      expect(renewedExpiry(T + ms, AGE) * 1000).toBeGreaterThanOrEqual(T + ms + AGE * 1000);
    }
  });

  it('two writes within a second give the same deadline', () => {
    expect(renewedExpiry(T + 1, AGE)).toBe(renewedExpiry(T + 999, AGE));
    expect(renewedExpiry(T + 1001, AGE)).toBe(renewedExpiry(T + 1999, AGE));
  });

  it('a later write in a later second gives a later deadline', () => {
    expect(renewedExpiry(T + 1500, AGE)).toBeGreaterThan(renewedExpiry(T + 500, AGE));
  });
});

describe('expiryAge: seconds until the session expires', () => {
  it('secondsLeft counts whole seconds until the deadline', () => {
    const deadline = T / 1000 + 100;
    expect(secondsLeft(T, deadline)).toBe(100);
    expect(secondsLeft(T + 1, deadline)).toBe(99);
    expect(secondsLeft(T + 999, deadline)).toBe(99);
    expect(secondsLeft(T + 1000, deadline)).toBe(99);
    expect(secondsLeft(T + 99_999, deadline)).toBe(0);
  });

  it('secondsLeft is never negative', () => {
    const deadline = T / 1000;
    expect(secondsLeft(T, deadline)).toBe(0);
    expect(secondsLeft(T + 1, deadline)).toBe(0);
    expect(secondsLeft(T + 5_000, deadline)).toBe(0);
    expect(secondsLeft(T + 86_400_000, deadline)).toBe(0);
    expect(Object.is(secondsLeft(T + 500, deadline), -0)).toBe(false);
  });

  it('expiryAge and the cookie Max-Age agree: right after a write, the seconds left are the age', () => {
    for (const ms of [0, 1, 499, 500, 999, 1000, 77_777]) {
      expect(secondsLeft(T + ms, renewedExpiry(T + ms, AGE))).toBe(AGE);
      expect(secondsLeft(T + ms, renewedExpiry(T + ms, 1))).toBe(1);
    }
  });
});
