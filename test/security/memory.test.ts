import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_POINTS, openEntry } from './entry-points.js';

const MiB = 1024 * 1024;
const TOKEN = 'memory-test-token';

/** A valid query of about 900 tokens (under GRAPHQL_MAX_TOKENS), distinct per `n`: about 460 KB of AST each. */
function bigQuery(n: number): string {
  return `query Q${n} { session { ${'exists '.repeat(440)}} }`;
}

/** The same size, but a parse error at the end. */
function brokenQuery(n: number): string {
  return `query Q${n} { session { ${'exists '.repeat(440)}} `;
}

async function cacheBytes(e: Awaited<ReturnType<typeof openEntry>>): Promise<Record<string, number>> {
  const answer = await e.send({ method: 'GET', target: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(answer.status).toBe(200);
  const out: Record<string, number> = {};
  for (const [, cache, value] of answer.body.matchAll(/^sessionql_document_cache_bytes\{cache="(\w+)"\} (\d+)$/gm)) {
    out[cache as string] = Number(value);
  }
  return out;
}

// The review's finding: ~2,500 attacker documents of up to ~250 KB each stayed
// cached (RSS 92 → 500-800 MB). Each cache is now bounded by estimated heap:
// Yoga's documents 32 MiB, its parse errors 4 MiB, the fast path's 16 MiB.
describe.each(ENTRY_POINTS)('document caches through %s', (entry) => {
  let e: Awaited<ReturnType<typeof openEntry>>;
  beforeAll(async () => {
    e = await openEntry(entry, { METRICS_TOKEN: TOKEN });
  });

  it('stay within their byte bounds under a flood of distinct large documents', async () => {
    for (let n = 0; n < 160; n++) {
      for (const query of [bigQuery(n), brokenQuery(n)]) {
        const answer = await e.postQuery(query, 'application/json');
        expect(answer.status).toBe(200);
      }
    }
    const bytes = await cacheBytes(e);
    // Unbounded, these would hold 160 × ~460 KB = ~74 MB of documents each.
    // On the fast path Yoga parses only what the fast path hands over (here the broken ones).
    const yogaFloor = entry === 'fast path' ? 0 : 24 * MiB;
    expect(bytes.yoga_documents).toBeGreaterThanOrEqual(yogaFloor);
    expect(bytes.yoga_documents).toBeLessThanOrEqual(32 * MiB);
    // The fast path answers unparsable documents itself and keeps none of them.
    if (entry !== 'fast path') expect(bytes.yoga_errors).toBeGreaterThan(0);
    expect(bytes.yoga_errors).toBeLessThanOrEqual(4 * MiB);
    if (entry === 'fast path') expect(bytes.fast_path).toBeGreaterThan(12 * MiB);
    expect(bytes.fast_path ?? 0).toBeLessThanOrEqual(16 * MiB);
  });
});
