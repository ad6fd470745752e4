import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';

describe('createLogger', () => {
  it('loggers share one batched writer per file descriptor: creating many adds no exit hook per logger', () => {
    const before = process.listenerCount('exit');
    // An app per test file in one worker (and a library user's apps) each made two hooks, past Node's warning at 10.
    for (let i = 0; i < 20; i++) createLogger({ json: true, level: 'silent' });
    expect(process.listenerCount('exit') - before).toBeLessThanOrEqual(2);
  });
});
