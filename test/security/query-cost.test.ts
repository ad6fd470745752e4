import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_POINTS, openEntry } from './entry-points.js';

/** `fragment F0 on T { ...F1 ...F1 } … fragment F{n} on T { leaf }`: 2^n paths in ~40·n bytes. */
function doublingChain(n: number, type: string, leaf: string, spreads = 2): string {
  const fragments = Array.from({ length: n }, (_, i) => `fragment F${i} on ${type} { ${`...F${i + 1} `.repeat(spreads)}}`);
  return [...fragments, `fragment F${n} on ${type} { ${leaf} }`].join('\n');
}

// The review's probe and its variants: each costs 2^34 or more walks to a
// validator that follows a fragment again at every spread, and each stays
// far under GRAPHQL_MAX_TOKENS (1000).
const BOMBS: [string, string][] = [
  ['the doubling chain at the root', `query { ...F0 }\n${doublingChain(34, 'Query', '__typename')}`],
  ['the doubling chain inside a field', `query { session { ...F0 } }\n${doublingChain(34, 'Session', 'exists')}`],
  ['a tripling chain', `query { ...F0 }\n${doublingChain(22, 'Query', '__typename', 3)}`],
  ['the chain under inline fragments', `query { ... on Query { ...F0 } }\n${doublingChain(34, 'Query', '... on Query { __typename }')}`],
  [
    'the chain spread from nested fields (depth counted through every fragment)',
    `query { session { ...F0 } }\n${Array.from({ length: 30 }, (_, i) => `fragment F${i} on Session { ...F${i + 1} ...F${i + 1} }`).join('\n')}\nfragment F30 on Session { exists }`,
  ],
  ['a fragment cycle', 'query { ...A }\nfragment A on Query { ...B ...B }\nfragment B on Query { ...A ...A }'],
  ['a self-spread', 'query { ...A }\nfragment A on Query { ...A ...A __typename }'],
];

describe.each(ENTRY_POINTS)('query cost through %s', (entry) => {
  let e: Awaited<ReturnType<typeof openEntry>>;
  beforeAll(async () => {
    e = await openEntry(entry);
  });

  it.each(BOMBS)('%s is answered (POST and GET, no session), and the server stays up', async (_name, query) => {
    expect(query.length).toBeLessThan(2000);
    const post = await e.postQuery(query);
    expect(post.status).toBeLessThan(500);
    const get = await e.send({
      method: 'GET',
      target: `/graphql?query=${encodeURIComponent(query)}`,
      headers: { accept: 'application/json' },
    });
    expect(get.status).toBeLessThan(500);
    expect((await e.send({ method: 'GET', target: '/health' })).status).toBe(200);
  });

  it('depth is counted through fragments: a deep fragment chain is refused with GRAPHQL_MAX_DEPTH', async () => {
    // (Query has no field of its own type, so the document is also invalid; the depth is reported all the same.)
    const query = `query { ...Q0 }\n${Array.from({ length: 12 }, (_, i) => `fragment Q${i} on Query { session { ...Q${i + 1} } }`).join('\n')}\nfragment Q12 on Query { __typename }`;
    const answer = await e.postQuery(query);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/GRAPHQL_MAX_DEPTH/);
  });
});
