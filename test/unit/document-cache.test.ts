import fc from 'fast-check';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { AST_BYTES_PER_TOKEN, DocumentCache, documentBytes, stringBytes, yogaParserCaches } from '../../src/graphql/document-cache.js';
import { schema } from '../../src/graphql/schema.js';

/** Entries weigh their value: a cache of numbers is its own ledger. */
const weighed = (maxBytes: number, maxEntryBytes: number) =>
  new DocumentCache<number>({ maxBytes, maxEntryBytes, weigh: (_key, weight) => weight });

describe('DocumentCache', () => {
  it('evicts the least recently used first: get refreshes an entry', () => {
    const cache = weighed(30, 30);
    cache.set('a', 10);
    cache.set('b', 10);
    cache.set('c', 10);
    expect(cache.get('a')).toBe(10);
    cache.set('d', 10);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([10, 10, 10]);
    cache.set('e', 20); // evicts a and c, the two least recently used
    expect([cache.get('a'), cache.get('c'), cache.get('d'), cache.get('e')]).toEqual([undefined, undefined, 10, 20]);
    expect({ size: cache.size, bytes: cache.bytes }).toEqual({ size: 2, bytes: 30 });
  });

  it('does not store an entry over maxEntryBytes or a key over maxKeyLength, and drops what the key held', () => {
    const cache = new DocumentCache<number>({ maxBytes: 100, maxEntryBytes: 40, maxKeyLength: 5, weigh: (_key, weight) => weight });
    cache.set('big', 41);
    cache.set('longer', 1);
    expect({ size: cache.size, bytes: cache.bytes }).toEqual({ size: 0, bytes: 0 });
    cache.set('k', 40);
    cache.set('k', 41);
    expect(cache.get('k')).toBeUndefined();
    expect({ size: cache.size, bytes: cache.bytes }).toEqual({ size: 0, bytes: 0 });
  });

  it('counts the key bytes by default: one byte a Latin-1 character, two otherwise', () => {
    const cache = new DocumentCache<string>({ maxBytes: 100, maxEntryBytes: 100 });
    cache.set('café', 'x');
    cache.set('😀', 'y');
    expect(cache.bytes).toBe(4 + 4);
    expect([stringBytes('é'.repeat(10)), stringBytes('ā')]).toEqual([10, 2]);
  });

  it('never holds more than maxBytes, and counts its bytes exactly, over 10,000 random inserts (fast-check)', () => {
    type Op = { set: boolean; key: number; weight: number };
    // Three sets for one get; weights up to 450 so some are over maxEntryBytes.
    const op = fc.record({ set: fc.nat(3).map((n) => n > 0), key: fc.nat(40), weight: fc.nat(450) });
    let inserts = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1000, maxLength: 1000 }), (ops: Op[]) => {
        const [maxBytes, maxEntryBytes] = [1000, 300];
        const cache = weighed(maxBytes, maxEntryBytes);
        // The reference: entries oldest first.
        const model: [string, number][] = [];
        for (const { set, key, weight } of ops) {
          const k = `k${key}`;
          const at = model.findIndex(([name]) => name === k);
          const held = at >= 0 ? model.splice(at, 1)[0] : undefined;
          if (set) {
            inserts++;
            cache.set(k, weight);
            if (weight <= maxEntryBytes) {
              while (model.reduce((sum, [, w]) => sum + w, 0) + weight > maxBytes) model.shift();
              model.push([k, weight]);
            }
          } else {
            expect(cache.get(k)).toBe(held?.[1]);
            if (held) model.push(held);
          }
          const total = model.reduce((sum, [, w]) => sum + w, 0);
          expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
          expect({ size: cache.size, bytes: cache.bytes }).toEqual({ size: model.length, bytes: total });
        }
      }),
      { numRuns: 20 },
    );
    expect(inserts).toBeGreaterThanOrEqual(10_000);
  });
});

describe('documentBytes', () => {
  it('counts the source and every token of the chain, comments included', () => {
    // <SOF> { a } <EOF>, and a comment
    expect(documentBytes('{ a }', parse('{ a }'))).toBe(5 + 5 * AST_BYTES_PER_TOKEN);
    expect(documentBytes('# c\n{ a }', parse('# c\n{ a }'))).toBe(9 + 6 * AST_BYTES_PER_TOKEN);
    expect(documentBytes('{ a }', parse('{ a }', { noLocation: true }))).toBe(5 + 5 * 240);
  });
});

describe('yogaParserCaches', () => {
  it('is what Yoga takes as parserAndValidationCache: documents are cached once, long ones not at all', async () => {
    const caches = yogaParserCaches();
    const yoga = createYoga({ schema, parserAndValidationCache: caches, logging: false });
    const ask = (query: string) =>
      yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
    expect(await (await ask('{ __typename }')).json()).toEqual({ data: { __typename: 'Query' } });
    await ask('{ __typename }');
    expect(caches.documentCache.size).toBe(1);
    expect(caches.documentCache.bytes).toBe(documentBytes('{ __typename }', parse('{ __typename }')));
    await ask(`{ __typename }${' '.repeat(16 * 1024)}`);
    expect(caches.documentCache.size).toBe(1);
    await ask('{ __typename ');
    expect(caches.errorCache.size).toBe(1);
    expect(caches.validationCache).toBe(false);
  });
});
