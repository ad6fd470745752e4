import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { InputError, StoreUnavailable } from '../../src/core/errors.js';
import { createLogger, withoutExpectedErrors } from '../../src/server/logger.js';

describe('createLogger', () => {
  it('loggers share one batched writer per file descriptor: creating many adds no exit hook per logger', () => {
    const before = process.listenerCount('exit');
    // An app per test file in one worker (and a library user's apps) each made two hooks, past Node's warning at 10.
    for (let i = 0; i < 20; i++) createLogger({ json: true, level: 'silent' });
    expect(process.listenerCount('exit') - before).toBeLessThanOrEqual(2);
  });
});

describe('withoutExpectedErrors', () => {
  const outage = () => new GraphQLError('x', { originalError: new StoreUnavailable('no answer from Redis within 5000 ms') });

  it('logs a store outage once a second however many requests fail, then says how many it left out', async () => {
    const lines: unknown[][] = [];
    const log = withoutExpectedErrors({ debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => void lines.push(args) });
    for (let i = 0; i < 50; i++) log.error(outage());
    expect(lines).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1050));
    log.error(outage());
    expect(lines).toHaveLength(2);
    expect(lines[1]!.at(-1)).toBe('(and 49 more requests failed the same way since the last line)');
    // Other errors are not held back by it; a client's own are not logged at all.
    log.error(new Error('a bug'));
    log.error(new GraphQLError('x', { originalError: new InputError('key', 'must not be empty') }));
    expect(lines).toHaveLength(3);
  });
});
