import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CookieClient } from '../helpers/client.js';
import { ENTRY_POINTS, HTTP_ENTRY_POINTS, openEntry, type Probe } from './entry-points.js';

const PRODUCTION = { NODE_ENV: 'production', LOG_LEVEL: 'silent' };
const json = { 'content-type': 'application/json' };

// Documents a schema-guessing attacker sends: each error would name a real field, argument, type or enum value.
const GUESSES: [string, Record<string, unknown>?][] = [
  ['{ session { exist } }'],
  ['{ sesion { exists } }'],
  ['{ cart { itemz { sku } } }'],
  ['mutation { addToCart(skew: "a") { totalQuantity } }'],
  ['mutation { updatePreferences(input: { theme: DARKK }) { theme } }'],
  ['query($t: Theem) { preferences { theme } }'],
  ['mutation($i: PreferencesInput!) { updatePreferences(input: $i) { theme } }', { i: { themee: 'DARK' } }],
  ['mutation($i: PreferencesInput!) { updatePreferences(input: $i) { theme } }', { i: { theme: 'DARKK' } }],
];

describe.each(ENTRY_POINTS)('what responses disclose, through %s', (entry) => {
  it('with introspection off (production) errors carry no "Did you mean" suggestions', async () => {
    const e = await openEntry(entry, { ...PRODUCTION, SESSION_SECRET: 'x'.repeat(40) });
    for (const [query, variables] of GUESSES) {
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const answer = await e.send({
          method: 'POST',
          target: '/graphql',
          headers: { ...json, accept },
          body: JSON.stringify({ query, variables }),
        });
        const { errors } = JSON.parse(answer.body);
        expect(errors?.length, query).toBeGreaterThan(0);
        expect(JSON.stringify(errors), query).not.toMatch(/did you mean/i);
      }
    }
  });

  it('with introspection on (development) the suggestions help the developer', async () => {
    const e = await openEntry(entry);
    let suggested = 0;
    for (const [query, variables] of GUESSES) {
      const answer = await e.send({ method: 'POST', target: '/graphql', headers: json, body: JSON.stringify({ query, variables }) });
      if (/did you mean/i.test(answer.body)) suggested++;
    }
    expect(suggested).toBeGreaterThanOrEqual(GUESSES.length - 2);
  });

  it('every response says X-Content-Type-Options: nosniff', async () => {
    const e = await openEntry(entry, { CORS_ORIGINS: 'https://shop.example' });
    const probes: Probe[] = [
      { method: 'POST', target: '/graphql', headers: json, body: '{"query":"{ session { exists } }"}' },
      {
        method: 'POST',
        target: '/graphql',
        headers: { ...json, accept: 'application/graphql-response+json' },
        body: '{"query":"{ session { exists } }"}',
      },
      { method: 'POST', target: '/graphql', headers: json, body: '{"query":"{ nope }"}' },
      { method: 'POST', target: '/graphql', headers: json, body: '{"query":' },
      { method: 'GET', target: '/graphql?query=%7B__typename%7D', headers: { accept: 'application/json' } },
      { method: 'POST', target: '/graphql', headers: { 'content-type': 'text/plain' }, body: '{}' },
      { method: 'POST', target: '/graphql', headers: { ...json, origin: 'https://evil.example' }, body: '{}' },
      { method: 'GET', target: '/nope' },
      { method: 'GET', target: '/health' },
      { method: 'GET', target: '/ready' },
      { method: 'GET', target: '/' },
      { method: 'GET', target: '/graphql', headers: { accept: 'text/html' } },
      { method: 'PUT', target: '/graphql', headers: json, body: '{}' },
    ];
    const missing: string[] = [];
    for (const probe of probes) {
      const answer = await e.send(probe);
      if (answer.headers['x-content-type-options'] !== 'nosniff') missing.push(`${probe.method} ${probe.target} → ${answer.status}`);
    }
    expect(missing).toEqual([]);
  });
});

describe.each(HTTP_ENTRY_POINTS)('GraphiQL in production, through %s', (entry) => {
  const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br' };

  it('is off by default: a browser GET gets no 9 MB page', async () => {
    const e = await openEntry(entry, { ...PRODUCTION, SESSION_SECRET: 'x'.repeat(40) });
    const answer = await e.send({ method: 'GET', target: '/graphql', headers: browser });
    expect(answer.headers['content-type']).not.toMatch(/html/);
    expect(answer.body.length).toBeLessThan(1000);
  });

  it('with GRAPHIQL=true it is served once, gzipped, and a reload is a 304', async () => {
    const e = await openEntry(entry, { ...PRODUCTION, SESSION_SECRET: 'x'.repeat(40), GRAPHIQL: 'true' });
    const first = await fetch(`${e.app.baseUrl}/graphql`, { headers: browser });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-encoding')).toBe('gzip');
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(first.headers.get('vary')).toMatch(/Accept/);
    expect(first.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(await first.text()).toMatch(/graphiql/i); // fetch decodes gzip
    const reload = await fetch(`${e.app.baseUrl}/graphql`, { headers: { ...browser, 'if-none-match': etag! } });
    expect(reload.status).toBe(304);
    expect((await reload.arrayBuffer()).byteLength).toBe(0);
    // On the wire: a fraction of the 9 MB page.
    const raw = await e.send({ method: 'GET', target: '/graphql', headers: browser });
    expect(raw.headers['content-encoding']).toBe('gzip');
    const wire = raw.bytes;
    expect(wire.length).toBeLessThan(4_000_000);
    expect(gunzipSync(wire).toString('utf8')).toMatch(/graphiql/i);
    // A client that takes no gzip gets the page as it is.
    const plain = await e.send({ method: 'GET', target: '/graphql', headers: { ...browser, 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toMatch(/<html/i);
  });

  it('with GRAPHIQL=false it is off in development too', async () => {
    const e = await openEntry(entry, { GRAPHIQL: 'false' });
    const answer = await e.send({ method: 'GET', target: '/graphql', headers: browser });
    expect(answer.headers['content-type']).not.toMatch(/html/);
  });
});

describe('__Host- cookie names', () => {
  it('SESSION_COOKIE_NAME=__Host-sessionid sets a host-only, Secure, Path=/ cookie that reads back', async () => {
    const e = await openEntry('fast path', { SESSION_COOKIE_NAME: '__Host-sessionid', SESSION_COOKIE_SECURE: 'true' });
    const c = new CookieClient(e.app);
    const r = await c.gql('mutation { setSessionValue(key: "k", value: 1) { exists } }');
    expect(r.setCookie).toMatch(/^__Host-sessionid=[^;]+; Max-Age=\d+; Expires=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    expect(r.setCookie).not.toMatch(/Domain=/i);
    expect((await c.data('{ session { value(key: "k") } }')).session.value).toBe(1);
  });
});
