import type { Clock } from '../../src/core/clock.js';

/** A clock the test moves: expiry without sleeping. */
export class TestClock implements Clock {
  constructor(private ms = Date.now()) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
