import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';

// Plain JSON POSTs are answered by the fast lane (src/http/fast-lane.ts);
// the same request with another Accept header goes through Yoga. Both must
// give the same answer, headers included.
const YOGA_ACCEPT = 'application/json, text/plain;q=0.1';

const steps: [string, Record<string, unknown>?][] = [
  ['{ session { exists isEmpty keys expiryAge expireAtBrowserClose } cart { isEmpty } }'],
  ['mutation { setSessionValue(key: "user", value: {name: "Ada", roles: ["admin"]}) { exists keys items { key value } } }'],
  [
    'mutation($sku: String!, $q: Int!) { addToCart(sku: $sku, quantity: $q, label: "Book") { items { sku label quantity } totalQuantity } }',
    { sku: 'book', q: 2 },
  ],
  ['mutation { addToCart(sku: "book", quantity: 998) { totalQuantity } }'],
  ['mutation { addToCart(sku: "", quantity: 1) { totalQuantity } }'],
  ['mutation { setSessionValue(key: "_x", value: 1) { exists } }'],
  ['mutation($v: JSON) { setSessionValue(key: "big", value: $v) { exists } }', { v: 'x'.repeat(70_000) }],
  ['mutation { updatePreferences(input: { theme: DARK, language: "en-gb" }) { theme language pageSize filters { field } } }'],
  ['query Named { preferences { theme } session { value(key: "user") has(key: "nope") } }'],
  ['mutation { setSessionExpiry(seconds: 600) { expiryAge expireAtBrowserClose } }'],
  ['mutation { setSessionExpiry(seconds: 5, browserClose: true) { expiryAge } }'],
  ['mutation { cycleSessionKey { exists keys } }'],
  ['{ cart { items { sku quantity } } }'],
  ['mutation { flushSession { exists } }'],
  ['{ session { exists } }'],
];

describe('the fast lane and Yoga answer alike', async () => {
  const { app, client } = await setup();

  it('for a whole session: bodies, statuses and headers', async () => {
    const fast = client();
    const yoga = new CookieClient({
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set('accept', YOGA_ACCEPT);
        return app.fetch(url, { ...init, headers });
      },
    });
    for (const [query, variables] of steps) {
      const [a, b] = [await fast.gql(query, variables), await yoga.gql(query, variables)];
      expect({ query, status: a.status, body: a.body }).toEqual({ query, status: b.status, body: b.body });
      for (const name of ['content-type', 'vary', 'cache-control'])
        expect([query, name, a.headers.get(name)]).toEqual([query, name, b.headers.get(name)]);
      const attrs = (h: string | null) => (h ?? '').replace(/^sessionid=[^;]*/, 'sessionid=…').replace(/Expires=[^;]*/, 'Expires=…');
      expect([query, attrs(a.setCookie)]).toEqual([query, attrs(b.setCookie)]);
      expect(Boolean(fast.sessionCookie)).toBe(Boolean(yoga.sessionCookie));
    }
  });

  it('falls back to Yoga for what it does not answer itself', async () => {
    const c = client();
    const cases: [RequestInit, number][] = [
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ session { nope } }"}' }, 200],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"query": "{ session { exists } }"}]' }, 400],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query": "query A { __typename } query B { __typename }", "operationName": "B"}',
        },
        200,
      ],
      [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query": "mutation($k: String!) { removeSessionValue(key: $k) { exists } }", "variables": {"k": 5}}',
        },
        400,
      ],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }", "variables": [1]}' }, 400],
    ];
    for (const [init, status] of cases) {
      const r = await c.fetch('/graphql', init);
      expect([init.body, r.status]).toEqual([init.body, status]);
      expect(r.headers.get('content-type')).toMatch(/application\/(graphql-response\+)?json/);
    }
  });
});
